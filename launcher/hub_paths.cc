#include "launcher/hub_paths.h"

#include <algorithm>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/env.h"

namespace tgi::launcher {

namespace {

namespace fs = std::filesystem;

bool HasDotDotSegment(const std::string& text) {
  for (absl::string_view part : absl::StrSplit(text, absl::ByAnyChar("/\\"))) {
    if (part == "..") return true;
  }
  return false;
}

bool IsIdChar(char c) { return absl::ascii_isalnum(c) || c == '_' || c == '-' || c == '.'; }
bool IsWordChar(char c) { return absl::ascii_isalnum(c) || c == '_'; }

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

absl::Status ValidateHubId(const std::string& id) {
  auto invalid = [&](const std::string& why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid model id `", id, "`: ", why,
        ". A hub id is `name` or `org/name` (letters, digits, '-', '_', '.'); a local model "
        "must be an existing directory"));
  };
  if (id.empty()) return invalid("it is empty");
  if (id.find('\0') != std::string::npos) return invalid("it contains a NUL byte");
  if (absl::StrContains(id, "..") || absl::StrContains(id, "--")) {
    return invalid("'..' and '--' are not allowed");
  }
  if (absl::EndsWith(id, ".git")) return invalid("it ends with .git");
  std::vector<std::string> parts = absl::StrSplit(id, '/');
  if (parts.size() > 2) return invalid("it has more than one '/'");
  for (const std::string& part : parts) {
    if (part.empty()) return invalid("a part is empty");
    if (part.size() > 96) return invalid("a part is longer than 96 characters");
    for (char c : part) {
      if (!IsIdChar(c)) return invalid(absl::StrCat("character '", std::string(1, c), "'"));
    }
    if (!IsWordChar(part.front()) || !IsWordChar(part.back())) {
      return invalid("a part starts or ends with '-' or '.'");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateRevision(const std::string& revision) {
  const bool bad = revision.empty() || revision.find('\0') != std::string::npos ||
                   revision.front() == '/' || revision.find('\\') != std::string::npos ||
                   HasDotDotSegment(revision) || absl::StrContains(revision, "//");
  bool bad_char = false;
  for (char c : revision) bad_char |= !(IsIdChar(c) || c == '/');
  if (bad || bad_char) {
    return absl::InvalidArgumentError(absl::StrCat(
        "refusing revision `", revision,
        "`: a revision is a branch, tag, refs/pr/N or commit id, without '..' or a leading '/'"));
  }
  return absl::OkStatus();
}

absl::Status ValidateRepoFilename(const std::string& name) {
  bool bad = name.empty() || name.find('\0') != std::string::npos || name.front() == '/' ||
             name.find('\\') != std::string::npos;
  if (!bad) {
    for (absl::string_view part : absl::StrSplit(name, '/')) {
      bad |= part.empty() || part == "." || part == "..";
    }
  }
  if (bad) {
    return absl::PermissionDeniedError(absl::StrCat(
        "refusing file name `", name, "` from the hub API: it would leave the model directory"));
  }
  return absl::OkStatus();
}

absl::StatusOr<ModelLocation> ClassifyModelId(const std::string& model_id) {
  if (model_id.empty()) return absl::InvalidArgumentError("--model-id is empty");
  if (model_id.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError("--model-id contains a NUL byte");
  }
  std::error_code ec;
  if (fs::is_directory(model_id, ec)) {
    fs::path dir = fs::canonical(model_id, ec);
    if (ec) return absl::InvalidArgumentError(absl::StrCat("cannot resolve ", model_id));
    ModelLocation location;
    location.is_local = true;
    location.local_dir = dir.string();
    return location;
  }
  if (fs::exists(model_id, ec)) {
    return absl::InvalidArgumentError(
        absl::StrCat("model path `", model_id, "` exists but is not a directory"));
  }
  if (HasDotDotSegment(model_id) || absl::StrContains(model_id, "..")) {
    return absl::InvalidArgumentError(
        absl::StrCat("refusing model id `", model_id,
                     "`: it is not an existing directory and its `..` would leave the hub cache"));
  }
  const bool path_like = model_id.front() == '/' || model_id.front() == '.' ||
                         model_id.front() == '~' || model_id.find('\\') != std::string::npos ||
                         std::count(model_id.begin(), model_id.end(), '/') > 1;
  if (path_like) {
    return absl::NotFoundError(absl::StrCat(
        "model directory `", model_id,
        "` does not exist (an absolute or relative path is never looked up on the hub)"));
  }
  if (absl::Status status = ValidateHubId(model_id); !status.ok()) return status;
  ModelLocation location;
  location.hub_id = model_id;
  return location;
}

bool IsCommitHash(const std::string& revision) {
  if (revision.size() != 40) return false;
  for (char c : revision) {
    if (!absl::ascii_isxdigit(c) || absl::ascii_isupper(c)) return false;
  }
  return true;
}

std::string DefaultHubCache() {
  for (const char* name : {"HUGGINGFACE_HUB_CACHE", "HF_HUB_CACHE"}) {
    std::optional<std::string> value = common::GetEnv(name);
    if (value && !value->empty()) return *value;
  }
  std::optional<std::string> home = common::GetEnv("HF_HOME");
  if (home && !home->empty()) return (fs::path(*home) / "hub").string();
  const std::string user_home = common::GetEnvString("HOME", "/root");
  return (fs::path(user_home) / ".cache" / "huggingface" / "hub").string();
}

std::string HubEndpoint() {
  std::string endpoint = common::GetEnvString("HF_ENDPOINT", "https://huggingface.co");
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  return endpoint;
}

std::optional<std::string> HubToken() {
  for (const char* name : {"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_API_TOKEN"}) {
    std::optional<std::string> value = common::GetEnv(name);
    if (value && !value->empty()) return *value;
  }
  std::optional<std::string> home = common::GetEnv("HF_HOME");
  const fs::path token_file =
      home && !home->empty()
          ? fs::path(*home) / "token"
          : fs::path(common::GetEnvString("HOME", "/root")) / ".cache" / "huggingface" / "token";
  std::error_code ec;
  if (!fs::is_regular_file(token_file, ec)) return std::nullopt;
  std::string token = std::string(absl::StripAsciiWhitespace(ReadFile(token_file)));
  if (token.empty()) return std::nullopt;
  return token;
}

bool HubOffline() {
  std::optional<std::string> value = common::GetEnv("HF_HUB_OFFLINE");
  if (!value) return false;
  return common::ParseBool(*value).value_or(false);
}

std::string RepoCacheDir(const std::string& cache, const std::string& hub_id) {
  std::string name = "models--" + hub_id;
  size_t slash = name.find('/');
  if (slash != std::string::npos) name.replace(slash, 1, "--");
  return (fs::path(cache) / name).string();
}

std::optional<std::string> FindCachedSnapshot(const std::string& cache, const std::string& hub_id,
                                              const std::string& revision) {
  const fs::path repo = RepoCacheDir(cache, hub_id);
  std::error_code ec;
  if (!ValidateRevision(revision).ok()) return std::nullopt;
  const fs::path ref = repo / "refs" / revision;
  if (!IsCommitHash(revision) && fs::is_regular_file(ref, ec)) {
    const std::string sha(absl::StripAsciiWhitespace(ReadFile(ref)));
    if (IsCommitHash(sha) && fs::is_directory(repo / "snapshots" / sha, ec)) {
      return (repo / "snapshots" / sha).string();
    }
  }
  // A commit, or a revision the hub listed without a sha.
  if (fs::is_directory(repo / "snapshots" / revision, ec)) {
    return (repo / "snapshots" / revision).string();
  }
  return std::nullopt;
}

absl::Status CheckSnapshotComplete(const std::string& dir) {
  const fs::path root(dir);
  std::error_code ec;
  if (!fs::is_regular_file(root / "config.json", ec)) {
    return absl::NotFoundError(absl::StrCat(dir, " has no config.json"));
  }
  const fs::path index = root / "model.safetensors.index.json";
  if (fs::is_regular_file(index, ec)) {
    boost::system::error_code json_ec;
    boost::json::value parsed = boost::json::parse(ReadFile(index), json_ec);
    const boost::json::object* map = nullptr;
    if (!json_ec && parsed.is_object()) {
      if (const auto* value = parsed.as_object().if_contains("weight_map"))
        map = value->if_object();
    }
    if (map == nullptr)
      return absl::DataLossError(absl::StrCat(index.string(), " has no weight_map"));
    std::set<std::string> files;
    for (const auto& [tensor, file] : *map) {
      if (file.is_string()) files.insert(std::string(file.as_string()));
    }
    for (const std::string& file : files) {
      if (!ValidateRepoFilename(file).ok() || !fs::is_regular_file(root / file, ec)) {
        return absl::NotFoundError(absl::StrCat(dir, " is missing ", file));
      }
    }
    return absl::OkStatus();
  }
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    if (entry.is_regular_file() && entry.path().extension() == ".safetensors") {
      return absl::OkStatus();
    }
  }
  return absl::NotFoundError(absl::StrCat(dir, " has no .safetensors weights"));
}

bool IsWantedFile(const std::string& name) {
  static const std::set<std::string> kFiles = {
      "config.json",           "generation_config.json",  "tokenizer.json",
      "tokenizer_config.json", "special_tokens_map.json", "model.safetensors.index.json"};
  if (name.find('/') != std::string::npos) return false;
  return kFiles.count(name) > 0 || absl::EndsWith(name, ".safetensors");
}

std::string UrlEncode(const std::string& text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace tgi::launcher
