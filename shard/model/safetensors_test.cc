#include "shard/model/safetensors.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "shard/kv/kv_pool.h"
#include "shard/model/llama.h"
#include "shard/model/testing/oracle.h"

namespace tgi::shard {
namespace {

struct RawTensor {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  std::string bytes;
};

std::string Bytes(const at::Tensor& tensor) {
  at::Tensor contiguous = tensor.contiguous();
  return std::string(static_cast<const char*>(contiguous.data_ptr()),
                     contiguous.numel() * contiguous.element_size());
}

// A safetensors file from a literal header and data area.
std::string FileBytes(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  uint64_t size = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((size >> (8 * i)) & 0xff);
  return out + header + data;
}

// A well-formed file: tensors packed in order, header padded with spaces to 8 bytes.
std::string Serialize(const std::vector<RawTensor>& tensors) {
  std::vector<std::string> entries = {R"("__metadata__":{"format":"pt"})"};
  std::string data;
  for (const RawTensor& t : tensors) {
    entries.push_back(absl::StrCat("\"", t.name, "\":{\"dtype\":\"", t.dtype, "\",\"shape\":[",
                                   absl::StrJoin(t.shape, ","), "],\"data_offsets\":[", data.size(),
                                   ",", data.size() + t.bytes.size(), "]}"));
    data += t.bytes;
  }
  std::string header = absl::StrCat("{", absl::StrJoin(entries, ","), "}");
  header.append((8 - header.size() % 8) % 8, ' ');
  return FileBytes(header, data);
}

class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat("tgi_safetensors_", getpid(), "_",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path Write(const std::string& name, const std::string& contents) {
    std::filesystem::path path = dir_ / name;
    std::ofstream(path, std::ios::binary) << contents;
    return path;
  }

  // Opens a file with the given contents and expects an error mentioning `message` and the file.
  void ExpectError(const std::string& contents, const std::string& message) {
    std::filesystem::path path = Write("bad.safetensors", contents);
    absl::StatusOr<std::shared_ptr<const SafetensorsFile>> file = SafetensorsFile::Open(path);
    ASSERT_FALSE(file.ok()) << "expected an error about " << message;
    const std::string text(file.status().message());
    EXPECT_NE(text.find(message), std::string::npos) << text;
    EXPECT_NE(text.find(path.string()), std::string::npos) << text;
  }

  std::filesystem::path dir_;
};

TEST_F(SafetensorsTest, ReadsEveryDtypeZeroCopy) {
  at::Tensor f32 = at::arange(6, at::kFloat).view({2, 3});
  at::Tensor bf16 = at::arange(4, at::kFloat).to(at::kBFloat16);
  at::Tensor f16 = at::arange(4, at::kFloat).to(at::kHalf);
  at::Tensor i64 = at::arange(3, at::kLong);
  std::filesystem::path path = Write("ok.safetensors", Serialize({{"a", "F32", {2, 3}, Bytes(f32)},
                                                                  {"b", "BF16", {4}, Bytes(bf16)},
                                                                  {"c", "F16", {4}, Bytes(f16)},
                                                                  {"d", "I64", {3}, Bytes(i64)},
                                                                  {"e", "F32", {0, 5}, ""}}));
  absl::StatusOr<std::shared_ptr<const SafetensorsFile>> file = SafetensorsFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ((*file)->entries().size(), 5u);
  at::Tensor a = *(*file)->Get("a");
  EXPECT_TRUE(at::equal(a, f32));
  EXPECT_TRUE(at::equal(*(*file)->Get("b"), bf16));
  EXPECT_TRUE(at::equal(*(*file)->Get("c"), f16));
  EXPECT_TRUE(at::equal(*(*file)->Get("d"), i64));
  EXPECT_EQ((*file)->Get("e")->sizes(), (std::vector<int64_t>{0, 5}));
  EXPECT_FALSE((*file)->Get("missing").ok());
  // The tensor keeps the mapping alive after the file object is gone.
  file->reset();
  EXPECT_TRUE(at::equal(a, f32));
}

// Resident file-backed memory of this process (RssFile of /proc/self/status), in kB.
int64_t RssFileKb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("RssFile:", 0) == 0) return std::stoll(line.substr(8));
  }
  return -1;
}

TEST_F(SafetensorsTest, ReleasedPagesLeaveTheProcessAndReadBackTheSame) {
  at::Tensor big = at::arange(16 << 20, at::kFloat);  // 64 MiB
  std::filesystem::path path = Write("big.safetensors", Serialize({{"w", "F32", {16 << 20},
                                                                    Bytes(big)}}));
  absl::StatusOr<std::shared_ptr<const SafetensorsFile>> file = SafetensorsFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status();
  at::Tensor w = *(*file)->Get("w");
  EXPECT_TRUE(at::equal(w, big));  // every page of the mapping read: resident
  const int64_t touched = RssFileKb();
  (*file)->ReleaseResidentPages();
  const int64_t released = RssFileKb();
  EXPECT_LT(released, touched - 48 * 1024) << "64 MiB of mapped pages should have left";
  EXPECT_TRUE(at::equal(w, big));  // and come back from the file unchanged
}

TEST_F(SafetensorsTest, TooShort) { ExpectError("abc", "too short"); }

TEST_F(SafetensorsTest, HeaderLengthPastEndOfFile) {
  std::string contents = FileBytes(std::string(16, ' '), "");
  contents[0] = static_cast<char>(200);  // claims a 200-byte header in a 24-byte file
  ExpectError(contents, "header length 200 runs past the end of the file");
}

TEST_F(SafetensorsTest, BadJson) { ExpectError(FileBytes("{\"a\": [1, 2", ""), "not valid JSON"); }

TEST_F(SafetensorsTest, HeaderNotAnObject) {
  ExpectError(FileBytes("[1, 2]  ", ""), "not a JSON object");
}

TEST_F(SafetensorsTest, TruncatedData) {
  std::string contents = Serialize(
      {{"a", "F32", {4}, std::string(16, '\0')}, {"b", "F32", {4}, std::string(16, '\0')}});
  contents.resize(contents.size() - 4);
  ExpectError(contents,
              "tensor 'b': data_offsets [16, 32) run past the end of the data area "
              "(28 bytes): the file is truncated");
}

TEST_F(SafetensorsTest, OverlappingOffsets) {
  ExpectError(FileBytes(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                        R"("b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})",
                        std::string(24, '\0')),
              "tensors 'a' and 'b' have overlapping data_offsets");
}

TEST_F(SafetensorsTest, UnknownDtype) {
  ExpectError(
      FileBytes(R"({"a":{"dtype":"F7","shape":[2],"data_offsets":[0,8]}})", std::string(8, '\0')),
      "tensor 'a': unknown dtype 'F7'");
}

TEST_F(SafetensorsTest, ShapeSizeMismatch) {
  ExpectError(
      FileBytes(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", std::string(8, '\0')),
      "tensor 'a': shape x dtype size does not match its byte span of 8 bytes");
}

TEST_F(SafetensorsTest, HugeShapeDoesNotOverflow) {
  ExpectError(
      FileBytes(R"({"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}})",
                std::string(8, '\0')),
      "does not match");
}

TEST_F(SafetensorsTest, MalformedEntries) {
  ExpectError(FileBytes(R"({"a":{"dtype":"F32","shape":[2]}})", ""), "'data_offsets'");
  ExpectError(
      FileBytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", std::string(8, '\0')),
      "begin <= end");
  ExpectError(
      FileBytes(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", std::string(8, '\0')),
      "non-negative");
  ExpectError(FileBytes(R"({"a":3})", ""), "entry is not an object");
}

TEST_F(SafetensorsTest, UnsupportedDtypeFailsOnlyWhenRead) {
  std::filesystem::path path =
      Write("u32.safetensors", Serialize({{"u", "U32", {2}, std::string(8, '\0')},
                                          {"f", "F32", {1}, std::string(4, '\0')}}));
  absl::StatusOr<std::shared_ptr<const SafetensorsFile>> file = SafetensorsFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_TRUE((*file)->Get("f").ok());
  absl::StatusOr<at::Tensor> u = (*file)->Get("u");
  ASSERT_FALSE(u.ok());
  EXPECT_NE(u.status().message().find("dtype U32"), std::string::npos) << u.status();
}

TEST_F(SafetensorsTest, MisalignedDataIsCopied) {
  // A header whose length is not a multiple of 4 leaves F32 data misaligned.
  at::Tensor values = at::arange(3, at::kFloat);
  std::string header = R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}})";
  while (header.size() % 4 != 1) header += ' ';
  std::filesystem::path path = Write("odd.safetensors", FileBytes(header, Bytes(values)));
  absl::StatusOr<std::shared_ptr<const SafetensorsFile>> file = SafetensorsFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_TRUE(at::equal(*(*file)->Get("a"), values));
}

TEST_F(SafetensorsTest, MissingCheckpoint) {
  absl::StatusOr<SafetensorsCheckpoint> checkpoint = SafetensorsCheckpoint::Open(dir_);
  ASSERT_FALSE(checkpoint.ok());
  EXPECT_NE(checkpoint.status().message().find("no model.safetensors"), std::string::npos);
}

// Splits the bundled model into two shards with an index.json: the same tensors, the same model.
TEST_F(SafetensorsTest, ShardedCheckpointLoadsTheSameTensors) {
  const std::filesystem::path model_dir = testing::Stories260KDir();
  absl::StatusOr<SafetensorsCheckpoint> single = SafetensorsCheckpoint::Open(model_dir);
  ASSERT_TRUE(single.ok()) << single.status();
  std::vector<RawTensor> shards[2];
  std::vector<std::string> index_entries;
  int i = 0;
  for (const std::string& name : single->Names()) {
    const int shard = i++ % 2;
    const SafetensorsEntry* entry = single->Find(name);
    shards[shard].push_back({name, entry->dtype, entry->shape, Bytes(*single->Get(name))});
    index_entries.push_back(
        absl::StrCat("\"", name, "\": \"model-0000", shard + 1, "-of-00002.safetensors\""));
  }
  Write("model-00001-of-00002.safetensors", Serialize(shards[0]));
  Write("model-00002-of-00002.safetensors", Serialize(shards[1]));
  Write("model.safetensors.index.json",
        absl::StrCat(R"({"metadata": {"total_size": 0}, "weight_map": {)",
                     absl::StrJoin(index_entries, ", "), "}}"));
  std::filesystem::copy_file(model_dir / "config.json", dir_ / "config.json");

  absl::StatusOr<SafetensorsCheckpoint> sharded = SafetensorsCheckpoint::Open(dir_);
  ASSERT_TRUE(sharded.ok()) << sharded.status();
  EXPECT_EQ(sharded->Names(), single->Names());
  for (const std::string& name : single->Names()) {
    EXPECT_TRUE(at::equal(*sharded->Get(name), *single->Get(name))) << name;
  }

  // The model loads from the shards and computes the same logits.
  absl::StatusOr<std::unique_ptr<LlamaModel>> a = LlamaModel::Load(model_dir, {});
  absl::StatusOr<std::unique_ptr<LlamaModel>> b = LlamaModel::Load(dir_, {});
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  std::unique_ptr<KvPool> pool_a = *KvPool::Create((*a)->CacheLayout(), 1);
  std::unique_ptr<KvPool> pool_b = *KvPool::Create((*b)->CacheLayout(), 1);
  BlockTable table_a = *BlockTable::Allocate(*pool_a, 3);
  BlockTable table_b = *BlockTable::Allocate(*pool_b, 3);
  const std::vector<int64_t> ids = {1, 403, 407};
  EXPECT_TRUE(at::equal(*(*a)->Forward({ids, {StepRow{0, 3, table_a.blocks(), false}}}, pool_a->view()),
                        *(*b)->Forward({ids, {StepRow{0, 3, table_b.blocks(), false}}}, pool_b->view())));
}

TEST_F(SafetensorsTest, IndexErrors) {
  Write("model-1.safetensors", Serialize({{"a", "F32", {1}, std::string(4, '\0')}}));
  Write("model.safetensors.index.json", R"({"weight_map": {"b": "model-1.safetensors"}})");
  absl::StatusOr<SafetensorsCheckpoint> checkpoint = SafetensorsCheckpoint::Open(dir_);
  ASSERT_FALSE(checkpoint.ok());
  EXPECT_NE(checkpoint.status().message().find("maps 'b' to model-1.safetensors, which has no"),
            std::string::npos)
      << checkpoint.status();

  Write("model.safetensors.index.json", R"({"weight_map": {"a": "model-2.safetensors"}})");
  checkpoint = SafetensorsCheckpoint::Open(dir_);
  ASSERT_FALSE(checkpoint.ok());
  EXPECT_NE(checkpoint.status().message().find("model-2.safetensors"), std::string::npos);

  Write("model.safetensors.index.json", R"({"weights": {}})");
  checkpoint = SafetensorsCheckpoint::Open(dir_);
  ASSERT_FALSE(checkpoint.ok());
  EXPECT_NE(checkpoint.status().message().find("missing 'weight_map'"), std::string::npos);
}

}  // namespace
}  // namespace tgi::shard
