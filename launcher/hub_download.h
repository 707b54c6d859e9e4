// Downloads a model from the Hugging Face hub (or a mirror at HF_ENDPOINT) into the hub cache
// layout, resuming partial files with HTTP Range, or serves it from a complete cached snapshot
// offline (HF_HUB_OFFLINE=1, or when the hub cannot be reached). Writes only inside the repo's
// cache directory; every file name from the API is checked before use.
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "launcher/http_client.h"

namespace tgi::launcher {

struct HubDownloadOptions {
  std::string endpoint;   // https://huggingface.co
  std::string cache_dir;  // the hub cache root
  std::optional<std::string> token;
  bool offline = false;
  const std::atomic<bool>* stop = nullptr;
  int max_attempts = 5;  // per file; each retry resumes where the last one stopped
  std::chrono::milliseconds retry_delay{1000};
  bool progress_bar = false;  // draw a bar on stderr (a terminal, text logs)
  std::chrono::seconds progress_interval{5};
};

class HubDownloader {
 public:
  explicit HubDownloader(HubDownloadOptions options);

  // Lists `hub_id` at `revision` (empty: main), or finds its cached snapshot when offline or when
  // the hub cannot be reached, and fetches config.json (and the weight index). Returns the
  // snapshot directory.
  absl::StatusOr<std::string> Prepare(const std::string& hub_id, const std::string& revision);

  // Fetches every remaining file of the snapshot Prepare() chose (nothing when it was cached).
  absl::Status DownloadAll();

 private:
  absl::Status DownloadFile(const std::string& name);
  absl::StatusOr<std::string> UseCache(const std::string& why);
  std::string FileUrl(const std::string& name) const;
  bool SleepUnlessStopped(std::chrono::milliseconds delay) const;

  HubDownloadOptions options_;
  HttpClient client_;
  std::string hub_id_;
  std::string revision_;
  std::string commit_;  // the revision files are fetched at (the listed sha when there is one)
  std::string snapshot_dir_;
  std::vector<std::string> files_;
  bool from_cache_ = false;
};

}  // namespace tgi::launcher
