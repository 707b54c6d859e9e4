// The shard's configuration: its command line (as TGI's launcher starts a shard) and the TGI /
// tgi-gaudi environment variables. Parsing only; nothing here loads or serves anything.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tgi::shard {

struct ShardOptions {
  std::string model_dir;
  std::string uds_path = "/tmp/text-generation-server";  // the socket is "{uds_path}-{rank}"
  std::string dtype;                                     // empty: float32 on CPU
  std::string kv_cache_dtype = "auto";  // --kv-cache-dtype or KV_CACHE_DTYPE: auto follows dtype
  int64_t max_total_tokens = 2048;                       // --max-total-tokens or MAX_TOTAL_TOKENS
  int num_threads = 0;                                   // 0: every CPU of the affinity mask
  bool json_output = false;
  std::string log_level = "info";

  // Distributed setup (torch.distributed names).
  int rank = 0;
  int world_size = 1;
  std::string master_addr = "localhost";
  int master_port = 29500;

  // tgi-gaudi bucketing.
  int64_t batch_bucket_size = 8;            // BATCH_BUCKET_SIZE
  int64_t prefill_batch_bucket_size = 4;    // PREFILL_BATCH_BUCKET_SIZE
  int64_t pad_sequence_to_multiple_of = 128;  // PAD_SEQUENCE_TO_MULTIPLE_OF

  bool skip_tokenizer = false;  // SKIP_TOKENIZER_IN_TGI: inputs are comma-separated token ids
  bool ignore_eos = false;      // TEXT_GENERATION_SERVER_IGNORE_EOS_TOKEN
  double watermark_gamma = 0.5;
  double watermark_delta = 2.0;

  std::string SocketPath() const { return uds_path + "-" + std::to_string(rank); }
  std::string SocketPath(int other_rank) const {
    return uds_path + "-" + std::to_string(other_rank);
  }
};

// Parses argv (an optional leading "serve" is accepted, as TGI's `text-generation-server serve`)
// and the environment. --help prints the usage and returns a status with code kCancelled.
absl::StatusOr<ShardOptions> ParseShardOptions(int argc, char** argv);

}  // namespace tgi::shard
