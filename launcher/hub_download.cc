#include "launcher/hub_download.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "launcher/hub_paths.h"

namespace tgi::launcher {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string HumanBytes(uint64_t bytes) {
  char text[32];
  if (bytes >= (1ull << 30)) {
    std::snprintf(text, sizeof text, "%.2f GB", bytes / 1e9);
  } else if (bytes >= (1ull << 20)) {
    std::snprintf(text, sizeof text, "%.1f MB", bytes / 1e6);
  } else {
    std::snprintf(text, sizeof text, "%.1f kB", bytes / 1e3);
  }
  return text;
}

// Progress of one file: log lines every `interval`, and a bar redrawn on a terminal.
class Progress {
 public:
  Progress(std::string name, uint64_t start, std::optional<uint64_t> total, bool bar,
           std::chrono::seconds interval)
      : name_(std::move(name)),
        done_(start),
        start_(start),
        total_(total),
        bar_(bar),
        interval_(interval),
        began_(Clock::now()),
        last_log_(began_) {
    spdlog::info("Downloading {}{}{}", name_, total_ ? " (" + HumanBytes(*total_) + ")" : "",
                 start_ > 0 ? ", resuming at " + HumanBytes(start_) : "");
  }

  void Add(size_t bytes) {
    done_ += bytes;
    const auto now = Clock::now();
    if (bar_ && now - last_draw_ > std::chrono::milliseconds(200)) {
      Draw();
      last_draw_ = now;
    }
    if (now - last_log_ >= interval_) {
      last_log_ = now;
      const double seconds = std::chrono::duration<double>(now - began_).count();
      const double rate = seconds > 0 ? (done_ - start_) / seconds : 0;
      if (total_ && *total_ > 0) {
        spdlog::info("{}: {}% ({} of {}, {}/s)", name_, done_ * 100 / *total_, HumanBytes(done_),
                     HumanBytes(*total_), HumanBytes(static_cast<uint64_t>(rate)));
      } else {
        spdlog::info("{}: {} ({}/s)", name_, HumanBytes(done_),
                     HumanBytes(static_cast<uint64_t>(rate)));
      }
    }
  }

  void Finish() {
    if (bar_) {
      Draw();
      std::fputc('\n', stderr);
    }
    spdlog::info("Downloaded {} ({}) in {:.1f} s", name_, HumanBytes(done_),
                 std::chrono::duration<double>(Clock::now() - began_).count());
  }

 private:
  void Draw() {
    constexpr int kWidth = 30;
    const int filled = total_ && *total_ > 0
                           ? static_cast<int>(std::min<uint64_t>(done_ * kWidth / *total_, kWidth))
                           : 0;
    std::fprintf(stderr, "\r%s [%s%s] %s", name_.c_str(), std::string(filled, '#').c_str(),
                 std::string(kWidth - filled, '-').c_str(), HumanBytes(done_).c_str());
    std::fflush(stderr);
  }

  std::string name_;
  uint64_t done_;
  uint64_t start_;
  std::optional<uint64_t> total_;
  bool bar_;
  std::chrono::seconds interval_;
  Clock::time_point began_, last_log_, last_draw_{};
};

// "bytes 100-199/200" -> (100, 200); "bytes */200" -> (nullopt, 200).
std::pair<std::optional<uint64_t>, std::optional<uint64_t>> ParseContentRange(
    const std::string& header) {
  std::pair<std::optional<uint64_t>, std::optional<uint64_t>> result;
  if (!absl::StartsWith(header, "bytes ")) return result;
  const std::string rest = header.substr(6);
  const size_t slash = rest.find('/');
  if (slash == std::string::npos) return result;
  uint64_t value = 0;
  if (absl::SimpleAtoi(rest.substr(slash + 1), &value)) result.second = value;
  const size_t dash = rest.find('-');
  if (dash != std::string::npos && dash < slash && absl::SimpleAtoi(rest.substr(0, dash), &value)) {
    result.first = value;
  }
  return result;
}

std::string HubErrorMessage(const HttpResponse& response) {
  boost::system::error_code ec;
  boost::json::value body = boost::json::parse(response.error_body, ec);
  if (!ec && body.is_object()) {
    if (const auto* error = body.as_object().if_contains("error"); error && error->is_string()) {
      return std::string(error->as_string());
    }
  }
  return response.error_body.substr(0, 200);
}

bool IsAccessError(int status) { return status == 401 || status == 403 || status == 404; }

}  // namespace

HubDownloader::HubDownloader(HubDownloadOptions options)
    : options_(std::move(options)), client_(HttpClientOptions{.stop = options_.stop}) {}

std::string HubDownloader::FileUrl(const std::string& name) const {
  return absl::StrCat(options_.endpoint, "/", hub_id_, "/resolve/", UrlEncode(commit_), "/", name);
}

bool HubDownloader::SleepUnlessStopped(std::chrono::milliseconds delay) const {
  const auto until = Clock::now() + delay;
  while (Clock::now() < until) {
    if (options_.stop != nullptr && options_.stop->load()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

absl::StatusOr<std::string> HubDownloader::UseCache(const std::string& why) {
  std::optional<std::string> snapshot = FindCachedSnapshot(options_.cache_dir, hub_id_, revision_);
  if (!snapshot) {
    return absl::UnavailableError(absl::StrCat(why, "; and ", hub_id_, " (revision ", revision_,
                                               ") is not in the cache ", options_.cache_dir));
  }
  if (absl::Status complete = CheckSnapshotComplete(*snapshot); !complete.ok()) {
    return absl::UnavailableError(absl::StrCat(
        why, "; and the cached snapshot is incomplete: ", std::string(complete.message())));
  }
  spdlog::info("Using the cached snapshot {} ({})", *snapshot, why);
  from_cache_ = true;
  snapshot_dir_ = *snapshot;
  files_.clear();
  return *snapshot;
}

absl::StatusOr<std::string> HubDownloader::Prepare(const std::string& hub_id,
                                                   const std::string& revision) {
  if (absl::Status status = ValidateHubId(hub_id); !status.ok()) return status;
  revision_ = revision.empty() ? "main" : revision;
  if (absl::Status status = ValidateRevision(revision_); !status.ok()) return status;
  hub_id_ = hub_id;
  if (options_.offline) return UseCache("HF_HUB_OFFLINE is set");

  const std::string api_url = revision.empty()
                                  ? absl::StrCat(options_.endpoint, "/api/models/", hub_id)
                                  : absl::StrCat(options_.endpoint, "/api/models/", hub_id,
                                                 "/revision/", UrlEncode(revision));
  spdlog::info("Listing {} at {}", hub_id, api_url);
  auto listing = client_.GetString(api_url, options_.token);
  if (!listing.ok()) {
    if (absl::IsCancelled(listing.status())) return listing.status();
    return UseCache(
        absl::StrCat("cannot reach the hub: ", std::string(listing.status().message())));
  }
  const HttpResponse& response = listing->first;
  if (IsAccessError(response.status)) {
    return absl::NotFoundError(absl::StrCat(
        "cannot access model ", hub_id, " (revision ", revision_, "): HTTP ", response.status,
        " from ", api_url, ": ", HubErrorMessage(response),
        ". The repository does not exist, or it is private or gated and needs HF_TOKEN"));
  }
  if (response.status >= 400) {
    return UseCache(absl::StrCat("the hub answered HTTP ", response.status, " to ", api_url));
  }

  boost::system::error_code ec;
  boost::json::value info = boost::json::parse(listing->second, ec);
  const boost::json::array* siblings = nullptr;
  if (!ec && info.is_object()) {
    if (const auto* value = info.as_object().if_contains("siblings")) siblings = value->if_array();
  }
  if (siblings == nullptr) {
    return absl::DataLossError(absl::StrCat(api_url, " returned no file list (siblings)"));
  }
  std::string sha;
  if (const auto* value = info.as_object().if_contains("sha"); value && value->is_string()) {
    sha = std::string(value->as_string());
  }
  commit_ = IsCommitHash(sha) ? sha : revision_;

  files_.clear();
  bool has_index = false;
  for (const auto& sibling : *siblings) {
    const auto* name = sibling.is_object() ? sibling.as_object().if_contains("rfilename") : nullptr;
    if (name == nullptr || !name->is_string()) continue;
    const std::string file(name->as_string());
    if (absl::Status status = ValidateRepoFilename(file); !status.ok()) return status;
    if (IsWantedFile(file)) files_.push_back(file);
    has_index |= file == "model.safetensors.index.json";
  }
  if (std::none_of(files_.begin(), files_.end(),
                   [](const std::string& f) { return absl::EndsWith(f, ".safetensors"); })) {
    return absl::NotFoundError(absl::StrCat(
        hub_id, " has no .safetensors weights at its top level; tgi-cpp loads safetensors only"));
  }
  if (std::find(files_.begin(), files_.end(), "config.json") == files_.end()) {
    return absl::NotFoundError(absl::StrCat(hub_id, " has no config.json"));
  }

  const fs::path repo = RepoCacheDir(options_.cache_dir, hub_id_);
  snapshot_dir_ = (repo / "snapshots" / commit_).string();
  std::error_code fs_ec;
  fs::create_directories(snapshot_dir_, fs_ec);
  if (fs_ec) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create ", snapshot_dir_, ": ", fs_ec.message()));
  }
  if (commit_ != revision_) {
    const fs::path ref = repo / "refs" / revision_;
    fs::create_directories(ref.parent_path(), fs_ec);
    std::ofstream(ref, std::ios::trunc) << commit_;
  }

  // config.json first (the launcher needs it to check the arguments), then the weight index,
  // which narrows the weights to the files it names.
  for (const char* first : {"config.json", "model.safetensors.index.json"}) {
    if (std::string(first) == "model.safetensors.index.json" && !has_index) continue;
    if (absl::Status status = DownloadFile(first); !status.ok()) return status;
  }
  if (has_index) {
    std::ifstream in(fs::path(snapshot_dir_) / "model.safetensors.index.json");
    std::stringstream text;
    text << in.rdbuf();
    boost::json::value index = boost::json::parse(text.str(), ec);
    std::set<std::string> indexed;
    if (!ec && index.is_object()) {
      if (const auto* map = index.as_object().if_contains("weight_map"); map && map->is_object()) {
        for (const auto& [tensor, file] : map->as_object()) {
          if (file.is_string()) indexed.insert(std::string(file.as_string()));
        }
      }
    }
    const bool all_listed =
        !indexed.empty() && std::all_of(indexed.begin(), indexed.end(), [&](const std::string& f) {
          return std::find(files_.begin(), files_.end(), f) != files_.end();
        });
    if (all_listed) {
      std::erase_if(files_, [&](const std::string& f) {
        return absl::EndsWith(f, ".safetensors") && indexed.count(f) == 0;
      });
    }
  }
  return snapshot_dir_;
}

absl::Status HubDownloader::DownloadAll() {
  if (from_cache_) return absl::OkStatus();
  for (const std::string& file : files_) {
    if (absl::Status status = DownloadFile(file); !status.ok()) return status;
  }
  if (absl::Status complete = CheckSnapshotComplete(snapshot_dir_); !complete.ok()) {
    return complete;
  }
  spdlog::info("Model files of {} are in {}", hub_id_, snapshot_dir_);
  return absl::OkStatus();
}

absl::Status HubDownloader::DownloadFile(const std::string& name) {
  if (absl::Status status = ValidateRepoFilename(name); !status.ok()) return status;
  const fs::path target = fs::path(snapshot_dir_) / name;
  const fs::path partial = target.string() + ".incomplete";
  std::error_code ec;
  if (fs::is_regular_file(target, ec)) return absl::OkStatus();
  fs::create_directories(target.parent_path(), ec);

  absl::Status last_error;
  for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
    uint64_t offset = fs::is_regular_file(partial, ec) ? fs::file_size(partial, ec) : 0;
    HttpHeaders headers;
    if (offset > 0) headers.emplace_back("Range", absl::StrCat("bytes=", offset, "-"));
    std::FILE* out = nullptr;
    std::optional<Progress> progress;
    std::optional<uint64_t> total;
    auto on_head = [&](const HttpResponse& response) -> absl::Status {
      if (response.status == 206) {
        auto [start, size] = ParseContentRange(response.content_range);
        if (start != offset) {
          return absl::DataLossError(absl::StrCat("the server resumed ", name, " at byte ",
                                                  start.value_or(0), ", not ", offset));
        }
        total = size;
      } else {
        offset = 0;  // a full body: start over
        total = response.content_length;
      }
      out = std::fopen(partial.c_str(), offset > 0 ? "ab" : "wb");
      if (out == nullptr) return absl::PermissionDeniedError("cannot write " + partial.string());
      progress.emplace(name, offset, total, options_.progress_bar, options_.progress_interval);
      return absl::OkStatus();
    };
    auto on_body = [&](std::string_view chunk) -> absl::Status {
      if (std::fwrite(chunk.data(), 1, chunk.size(), out) != chunk.size()) {
        return absl::ResourceExhaustedError("cannot write " + partial.string());
      }
      progress->Add(chunk.size());
      return absl::OkStatus();
    };
    absl::StatusOr<HttpResponse> response =
        client_.Get(FileUrl(name), headers, options_.token, on_head, on_body);
    if (out != nullptr && std::fclose(out) != 0 && response.ok()) {
      response = absl::ResourceExhaustedError("cannot write " + partial.string());
    }
    if (response.ok() && response->status < 300) {
      const uint64_t size = fs::file_size(partial, ec);
      if (total && size != *total) {
        last_error =
            absl::DataLossError(absl::StrCat(name, ": got ", size, " bytes, expected ", *total));
      } else {
        fs::rename(partial, target, ec);
        if (ec)
          return absl::PermissionDeniedError(absl::StrCat("cannot rename ", partial.string()));
        if (progress) progress->Finish();
        return absl::OkStatus();
      }
    } else if (response.ok() && response->status == 416) {
      // Everything was already there: the range starts at the end of the file.
      auto [start, size] = ParseContentRange(response->content_range);
      if (size && *size == offset) {
        fs::rename(partial, target, ec);
        if (!ec) return absl::OkStatus();
      }
      fs::remove(partial, ec);
      last_error = absl::DataLossError(absl::StrCat(name, ": the partial download was invalid"));
    } else if (response.ok() && IsAccessError(response->status)) {
      return absl::NotFoundError(absl::StrCat("cannot download ", FileUrl(name), ": HTTP ",
                                              response->status, ": ", HubErrorMessage(*response),
                                              " (set HF_TOKEN for a private or gated model)"));
    } else if (response.ok()) {
      last_error =
          absl::UnavailableError(absl::StrCat(FileUrl(name), " answered HTTP ", response->status));
    } else if (absl::IsCancelled(response.status())) {
      return response.status();
    } else {
      last_error = response.status();
    }
    if (attempt < options_.max_attempts) {
      const uint64_t have = fs::is_regular_file(partial, ec) ? fs::file_size(partial, ec) : 0;
      spdlog::warn("Download of {} interrupted ({}); retrying from byte {} (attempt {} of {})",
                   name, std::string(last_error.message()), have, attempt + 1,
                   options_.max_attempts);
      if (!SleepUnlessStopped(options_.retry_delay * attempt)) {
        return absl::CancelledError("download stopped");
      }
    }
  }
  return absl::UnavailableError(absl::StrCat("cannot download ", name, " after ",
                                             options_.max_attempts,
                                             " attempts: ", std::string(last_error.message())));
}

}  // namespace tgi::launcher
