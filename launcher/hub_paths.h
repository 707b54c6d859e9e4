// Where a model lives: a local directory or a Hugging Face hub id, the hub cache layout
// (models--org--name/snapshots/<sha>, refs/<revision>), and the safety rules for ids, revisions
// and file names from the hub API, so that nothing downloaded can land outside its snapshot.
// Reads the filesystem and the environment; no network.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tgi::launcher {

struct ModelLocation {
  bool is_local = false;
  std::string local_dir;  // absolute, when is_local
  std::string hub_id;     // when !is_local
};

// An existing directory is local; a path-like id that does not exist, an id with `..`, or one
// that is not a valid hub id (`name` or `org/name`) is an error that says why.
absl::StatusOr<ModelLocation> ClassifyModelId(const std::string& model_id);

// huggingface_hub's rules: `name` or `org/name`, [A-Za-z0-9_.-], no `..`/`--`, <= 96 chars.
absl::Status ValidateHubId(const std::string& id);
// A branch, tag, `refs/pr/N` or commit: no `..`, no leading `/`, no `\`, no NUL.
absl::Status ValidateRevision(const std::string& revision);
// A file name from the API: relative, no `..` or `.` segments, no `\`, no NUL.
absl::Status ValidateRepoFilename(const std::string& name);

bool IsCommitHash(const std::string& revision);

// HUGGINGFACE_HUB_CACHE, else HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub.
std::string DefaultHubCache();
// HF_ENDPOINT without a trailing slash, else https://huggingface.co.
std::string HubEndpoint();
// HF_TOKEN, else HUGGING_FACE_HUB_TOKEN, else HF_API_TOKEN, else $HF_HOME/token's first line.
std::optional<std::string> HubToken();
// HF_HUB_OFFLINE set to 1/true/yes/on.
bool HubOffline();

// <cache>/models--org--name
std::string RepoCacheDir(const std::string& cache, const std::string& hub_id);
// The snapshot directory for `revision` (a commit, or a ref resolved through refs/), if present.
std::optional<std::string> FindCachedSnapshot(const std::string& cache, const std::string& hub_id,
                                              const std::string& revision);
// OK when `dir` holds config.json and every weight file (all of model.safetensors.index.json's,
// or at least one *.safetensors); otherwise says what is missing.
absl::Status CheckSnapshotComplete(const std::string& dir);

// The files a server needs: configs, tokenizer files, top-level *.safetensors and their index.
bool IsWantedFile(const std::string& name);

// Percent-encodes everything but unreserved characters (for a revision such as refs/pr/2).
std::string UrlEncode(const std::string& text);

}  // namespace tgi::launcher
