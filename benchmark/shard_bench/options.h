// What one text-generation-benchmark run against the shard is asked to do: TGI's flags
// (tgi.md §6) as plain values. The command line fills it (cli.cc); the runner, the tables and the
// JSON report read it. No parsing and no behaviour here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tgi::benchmark {

// The sampling flags. Unset values become the neutral ones the router would send (temperature 1,
// top_k 0, top_p 1, typical_p 1, repetition 1, frequency 0); the seed is always 0.
struct SamplingOptions {
  std::optional<float> temperature;
  std::optional<uint32_t> top_k;
  std::optional<float> top_p;
  std::optional<float> typical_p;
  std::optional<float> repetition_penalty;
  std::optional<float> frequency_penalty;
  bool watermark = false;
  bool do_sample = false;
  std::optional<uint32_t> top_n_tokens;
};

inline const std::vector<uint32_t> kDefaultBatchSizes = {1, 2, 4, 8, 16, 32};

struct ShardBenchOptions {
  std::string tokenizer_name;  // a local directory with tokenizer.json; shown as "Model"
  std::string revision = "main";
  std::vector<uint32_t> batch_sizes = kDefaultBatchSizes;
  uint32_t sequence_length = 10;
  uint32_t decode_length = 8;
  uint32_t runs = 10;
  uint32_t warmups = 1;
  std::string master_shard_uds_path = "/tmp/text-generation-server-0";
  SamplingOptions sampling;
};

}  // namespace tgi::benchmark
