#include "launcher/hub_paths.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "launcher/http_client.h"
#include "launcher/test_env.h"

namespace tgi::launcher {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

fs::path MakeDir(const std::string& name) {
  const fs::path dir = fs::path(testing::TempDir()) / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

TEST(HubIdTest, AcceptsHubIds) {
  for (const char* id : {"gpt2", "org/name", "bigscience/bloom-560m", "a.b-c_d/Model.v2",
                         "TinyLlama/TinyLlama-1.1B-Chat-v1.0"}) {
    EXPECT_TRUE(ValidateHubId(id).ok()) << id;
  }
}

TEST(HubIdTest, RefusesIdsThatAreNotHubIds) {
  for (const char* id : {"", "../x", "org/../x", "org/..", "/abs", "a/b/c", "-x", "x-", "x.",
                         "a--b", "x.git", "a b", "org/", "/", "a\\b"}) {
    EXPECT_FALSE(ValidateHubId(id).ok()) << id;
  }
}

TEST(ClassifyModelIdTest, ExistingDirectoryIsLocal) {
  const fs::path dir = MakeDir("classify_local");
  absl::StatusOr<ModelLocation> location = ClassifyModelId(dir.string());
  ASSERT_TRUE(location.ok()) << location.status();
  EXPECT_TRUE(location->is_local);
  EXPECT_EQ(location->local_dir, fs::canonical(dir).string());
}

TEST(ClassifyModelIdTest, HubIdIsNotLocal) {
  absl::StatusOr<ModelLocation> location = ClassifyModelId("org/some-model");
  ASSERT_TRUE(location.ok());
  EXPECT_FALSE(location->is_local);
  EXPECT_EQ(location->hub_id, "org/some-model");
}

TEST(ClassifyModelIdTest, EscapesAndMissingPathsAreRefusedWithAReason) {
  absl::StatusOr<ModelLocation> escape = ClassifyModelId("../../no-such-model-dir");
  ASSERT_FALSE(escape.ok());
  EXPECT_THAT(std::string(escape.status().message()), HasSubstr("`..`"));
  absl::StatusOr<ModelLocation> inner = ClassifyModelId("org/../../x");
  ASSERT_FALSE(inner.ok());
  EXPECT_THAT(std::string(inner.status().message()), HasSubstr("`..`"));
  absl::StatusOr<ModelLocation> missing = ClassifyModelId("/no/such/model/dir");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("does not exist"));
  EXPECT_FALSE(ClassifyModelId("./not-here").ok());
  EXPECT_FALSE(ClassifyModelId(std::string("a\0b", 3)).ok());
  const fs::path dir = MakeDir("classify_file");
  std::ofstream(dir / "file") << "x";
  EXPECT_FALSE(ClassifyModelId((dir / "file").string()).ok());
}

TEST(RepoFilenameTest, RefusesNamesThatLeaveTheSnapshot) {
  for (const char* name : {"model.safetensors", "config.json", "onnx/model.onnx"}) {
    EXPECT_TRUE(ValidateRepoFilename(name).ok()) << name;
  }
  for (const char* name :
       {"", "../x", "/etc/passwd", "a/../b", "a\\b", "./x", "a//b", "..", "x/.."}) {
    absl::Status status = ValidateRepoFilename(name);
    EXPECT_TRUE(absl::IsPermissionDenied(status)) << name;
  }
}

TEST(RevisionTest, BranchesRefsAndCommits) {
  for (const char* revision :
       {"main", "v1.0", "refs/pr/2", "0123456789abcdef0123456789abcdef01234567"}) {
    EXPECT_TRUE(ValidateRevision(revision).ok()) << revision;
  }
  for (const char* revision : {"", "../x", "/main", "a\\b", "refs/../../x", "a b"}) {
    EXPECT_FALSE(ValidateRevision(revision).ok()) << revision;
  }
  EXPECT_TRUE(IsCommitHash("0123456789abcdef0123456789abcdef01234567"));
  EXPECT_FALSE(IsCommitHash("main"));
  EXPECT_FALSE(IsCommitHash("0123456789ABCDEF0123456789abcdef01234567"));
}

TEST(HubCacheTest, LayoutAndEnvironment) {
  EXPECT_EQ(RepoCacheDir("/data", "org/name"), "/data/models--org--name");
  EXPECT_EQ(RepoCacheDir("/data", "gpt2"), "/data/models--gpt2");
  {
    ScopedEnv env{{"HUGGINGFACE_HUB_CACHE", "/data"}, {"HF_HUB_CACHE", "/other"}};
    EXPECT_EQ(DefaultHubCache(), "/data");
  }
  {
    ScopedEnv env{{"HUGGINGFACE_HUB_CACHE", std::nullopt},
                  {"HF_HUB_CACHE", std::nullopt},
                  {"HF_HOME", "/hf"}};
    EXPECT_EQ(DefaultHubCache(), "/hf/hub");
  }
  ScopedEnv env{{"HUGGINGFACE_HUB_CACHE", std::nullopt},
                {"HF_HUB_CACHE", std::nullopt},
                {"HF_HOME", std::nullopt},
                {"HOME", "/srv/someone"},
                {"HF_ENDPOINT", "http://127.0.0.1:9/"},
                {"HF_HUB_OFFLINE", "1"},
                {"HF_TOKEN", std::nullopt},
                {"HUGGING_FACE_HUB_TOKEN", "hf_abc"}};
  EXPECT_EQ(DefaultHubCache(), "/srv/someone/.cache/huggingface/hub");
  EXPECT_EQ(HubEndpoint(), "http://127.0.0.1:9");
  EXPECT_TRUE(HubOffline());
  EXPECT_EQ(HubToken(), "hf_abc");
}

TEST(HubCacheTest, FindsSnapshotsThroughRefsAndChecksCompleteness) {
  const fs::path cache = MakeDir("hub_cache");
  const std::string sha = "0123456789abcdef0123456789abcdef01234567";
  const fs::path repo = RepoCacheDir(cache.string(), "org/m");
  const fs::path snapshot = repo / "snapshots" / sha;
  fs::create_directories(snapshot);
  fs::create_directories(repo / "refs");
  std::ofstream(repo / "refs" / "main") << sha;

  EXPECT_EQ(FindCachedSnapshot(cache.string(), "org/m", "main"), snapshot.string());
  EXPECT_EQ(FindCachedSnapshot(cache.string(), "org/m", sha), snapshot.string());
  EXPECT_EQ(FindCachedSnapshot(cache.string(), "org/m", "dev"), std::nullopt);
  EXPECT_EQ(FindCachedSnapshot(cache.string(), "org/other", "main"), std::nullopt);

  EXPECT_FALSE(CheckSnapshotComplete(snapshot.string()).ok());  // no config.json
  std::ofstream(snapshot / "config.json") << "{}";
  EXPECT_FALSE(CheckSnapshotComplete(snapshot.string()).ok());  // no weights
  std::ofstream(snapshot / "model.safetensors.index.json")
      << R"({"weight_map": {"a": "model-1.safetensors", "b": "model-2.safetensors"}})";
  std::ofstream(snapshot / "model-1.safetensors") << "x";
  absl::Status partial = CheckSnapshotComplete(snapshot.string());
  ASSERT_FALSE(partial.ok());
  EXPECT_THAT(std::string(partial.message()), HasSubstr("model-2.safetensors"));
  std::ofstream(snapshot / "model-2.safetensors") << "x";
  EXPECT_TRUE(CheckSnapshotComplete(snapshot.string()).ok());
}

TEST(HubFilesTest, WantedFilesAndUrlEncoding) {
  for (const char* name : {"config.json", "tokenizer.json", "tokenizer_config.json",
                           "generation_config.json", "special_tokens_map.json", "model.safetensors",
                           "model-00001-of-00002.safetensors", "model.safetensors.index.json"}) {
    EXPECT_TRUE(IsWantedFile(name)) << name;
  }
  for (const char* name :
       {"pytorch_model.bin", "README.md", "onnx/model.safetensors", ".gitattributes"}) {
    EXPECT_FALSE(IsWantedFile(name)) << name;
  }
  EXPECT_EQ(UrlEncode("refs/pr/2"), "refs%2Fpr%2F2");
  EXPECT_EQ(UrlEncode("main"), "main");
}

TEST(UrlTest, ParsesAndResolvesRedirects) {
  absl::StatusOr<Url> url = ParseUrl("https://huggingface.co/api/models/gpt2?x=1#frag");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->scheme, "https");
  EXPECT_EQ(url->host, "huggingface.co");
  EXPECT_EQ(url->port, "443");
  EXPECT_EQ(url->target, "/api/models/gpt2?x=1");
  EXPECT_EQ(url->HostHeader(), "huggingface.co");

  absl::StatusOr<Url> local = ParseUrl("http://127.0.0.1:8080");
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(local->port, "8080");
  EXPECT_EQ(local->target, "/");
  EXPECT_EQ(local->HostHeader(), "127.0.0.1:8080");
  absl::StatusOr<Url> v6 = ParseUrl("http://[::1]:9000/a");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->HostHeader(), "[::1]:9000");

  for (const char* bad :
       {"ftp://x/", "huggingface.co/x", "http://user@host/", "http://h:abc/", "http:///x"}) {
    EXPECT_FALSE(ParseUrl(bad).ok()) << bad;
  }

  const Url base = *ParseUrl("https://hub.example/org/m/resolve/main/config.json");
  EXPECT_EQ(ResolveRedirect(base, "https://cdn.example/blob?sig=1")->ToString(),
            "https://cdn.example/blob?sig=1");
  EXPECT_EQ(ResolveRedirect(base, "//cdn.example/b")->ToString(), "https://cdn.example/b");
  EXPECT_EQ(ResolveRedirect(base, "/api/x")->ToString(), "https://hub.example/api/x");
  EXPECT_EQ(ResolveRedirect(base, "other.json")->ToString(),
            "https://hub.example/org/m/resolve/main/other.json");
}

}  // namespace
}  // namespace tgi::launcher
