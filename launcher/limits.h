// TGI's derived defaults and argument checks (tgi.md §2.2): token limits from config.json, the
// number of shards from the flags and visible devices, the default dtype per device. Pure
// functions of their inputs and the environment; errors carry TGI's exact text in the form its
// launcher prints them (`ArgumentValidation("…")`, the Rust Debug form).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "launcher/options.h"

namespace tgi::launcher {

enum class Device { kCpu, kCuda, kHpu };

std::string DeviceName(Device device);

// HABANA_VISIBLE_DEVICES set -> HPU; CUDA_VISIBLE_DEVICES / NVIDIA_VISIBLE_DEVICES set -> CUDA.
Device DetectDevice();

// TGI's count: the comma-separated entries of CUDA_VISIBLE_DEVICES, else NVIDIA_VISIBLE_DEVICES.
std::optional<int64_t> NumCudaDevices();

// float32 on CPU, bfloat16 on HPU (tgi-gaudi's default); on CUDA the shard decides.
std::optional<std::string> DefaultDtype(Device device);

// The first of max_position_embeddings, max_seq_len, n_positions in `config_json_path`; nullopt
// when none is present. A missing or malformed file is an error naming it.
absl::StatusOr<std::optional<int64_t>> ReadMaxPositionEmbeddings(
    const std::string& config_json_path);

struct Limits {
  int64_t max_input_tokens = 0;
  int64_t max_total_tokens = 0;
  int64_t max_batch_prefill_tokens = 0;
  int64_t num_shard = 1;
};

// The error text TGI prints for a LauncherError variant with a message, e.g.
// LauncherErrorText("ArgumentValidation", "x") == "ArgumentValidation(\"x\")".
std::string LauncherErrorText(const std::string& variant, const std::string& message);

// Defaults and checks in TGI's order: limits (capped at 4096, with the info logs TGI writes),
// max_input vs max_total and prefill, validation_workers, num_shard, max_batch_total_tokens,
// ngrok. `lmi_max_output_len` (LMI's option.max_output_len) makes max_total = max_input + it
// when max_total_tokens is not set.
absl::StatusOr<Limits> ResolveLimits(const LauncherOptions& options,
                                     std::optional<int64_t> max_position_embeddings,
                                     std::optional<int64_t> lmi_max_output_len = std::nullopt);

// TGI's find_num_shards.
absl::StatusOr<int64_t> FindNumShards(std::optional<bool> sharded,
                                      std::optional<int64_t> num_shard);

}  // namespace tgi::launcher
