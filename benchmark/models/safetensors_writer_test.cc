#include "benchmark/models/safetensors_writer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <iterator>

namespace tgi::benchmark {
namespace {

namespace fs = std::filesystem;

class SafetensorsWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("safetensors-writer-test-" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string ReadAll(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  fs::path dir_;
};

TEST_F(SafetensorsWriterTest, HeaderAndDataRoundTrip) {
  const std::vector<TensorSpec> tensors = {{"a", {2, 3}, Dtype::kFloat32},
                                           {"b", {4}, Dtype::kBFloat16}};
  const fs::path path = dir_ / "t.safetensors";
  ASSERT_TRUE(WriteSafetensors(path, tensors, {{"format", "pt"}},
                               [](size_t index, int64_t first, std::span<float> out) {
                                 for (size_t i = 0; i < out.size(); ++i) {
                                   out[i] = static_cast<float>(index * 100 + first + i);
                                 }
                               })
                  .ok());
  absl::StatusOr<SafetensorsHeader> header = ReadSafetensorsHeader(path);
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_EQ(header->header_bytes % 8, 0u);
  EXPECT_EQ(header->metadata.at("format"), "pt");
  ASSERT_EQ(header->tensors.size(), 2u);
  const HeaderEntry& a = header->tensors.at("a");
  EXPECT_EQ(a.dtype, "F32");
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(a.begin, 0u);
  EXPECT_EQ(a.end, 24u);
  const HeaderEntry& b = header->tensors.at("b");
  EXPECT_EQ(b.dtype, "BF16");
  EXPECT_EQ(b.begin, 24u);
  EXPECT_EQ(b.end, 32u);

  const std::string bytes = ReadAll(path);
  ASSERT_EQ(bytes.size(), 8 + header->header_bytes + 32);
  const char* data = bytes.data() + 8 + header->header_bytes;
  float a5 = 0;
  std::memcpy(&a5, data + 5 * 4, 4);
  EXPECT_EQ(a5, 5.0f);
  uint16_t b3 = 0;
  std::memcpy(&b3, data + 24 + 3 * 2, 2);
  EXPECT_EQ(b3, FloatToBFloat16(103.0f));
}

TEST_F(SafetensorsWriterTest, ChunksCoverLargeTensorsExactlyOnce) {
  const int64_t n = (int64_t{1} << 20) * 2 + 5;  // two full chunks and a tail
  const fs::path path = dir_ / "big.safetensors";
  int64_t seen = 0;
  ASSERT_TRUE(WriteSafetensors(path, {{"x", {n}, Dtype::kFloat32}}, {},
                               [&](size_t, int64_t first, std::span<float> out) {
                                 EXPECT_EQ(first, seen);
                                 seen += static_cast<int64_t>(out.size());
                                 std::fill(out.begin(), out.end(), 1.0f);
                               })
                  .ok());
  EXPECT_EQ(seen, n);
  EXPECT_EQ(fs::file_size(path), 8 + ReadSafetensorsHeader(path)->header_bytes + 4 * n);
}

TEST(BFloat16Test, RoundsToNearestEven) {
  EXPECT_EQ(FloatToBFloat16(1.0f), 0x3F80);
  EXPECT_EQ(FloatToBFloat16(-2.0f), 0xC000);
  // 1 + 2^-8 is halfway between two bfloat16 values: ties go to the even one (1.0).
  EXPECT_EQ(FloatToBFloat16(1.00390625f), 0x3F80);
  // 1 + 3 × 2^-8 is halfway too: ties go to 1 + 2^-6 (0x3F82).
  EXPECT_EQ(FloatToBFloat16(1.01171875f), 0x3F82);
  EXPECT_EQ(FloatToBFloat16(1.0f + 1.0f / 64 + 1e-6f), 0x3F82);
}

}  // namespace
}  // namespace tgi::benchmark
