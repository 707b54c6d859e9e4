// The HTTP load mode: at each concurrency level, N clients stream generations from a server
// (each client one request at a time, until the level's request count is spent) and the level's
// wall time, tokens, time to first token, time per output token and errors are collected.
// Owns the client threads; the server is whoever answers at the endpoint.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "benchmark/http_load/stream_client.h"
#include "benchmark/report/progress.h"

namespace tgi::benchmark {

struct HttpLoadOptions {
  std::string url;  // empty: the driver starts a launcher on --model
  std::string api = "tgi";
  std::vector<uint32_t> concurrency = {1, 8, 32};
  uint32_t requests = 0;        // per level; 0: 4 × the level's concurrency
  uint32_t prompt_length = 10;  // tokens of Lorem ipsum, as the shard benchmark's sequence
  uint32_t max_new_tokens = 64;
  uint32_t warmup_requests = 1;  // untimed, once, before the first level
  bool do_sample = false;        // greedy by default
  std::optional<float> temperature;
  std::optional<float> top_p;
  std::optional<uint64_t> seed;
  bool ignore_eos = true;  // OpenAI api only: llama-server's `ignore_eos` (TGI's API has none)
  std::string openai_model = "tgi";
  uint32_t timeout_s = 600;
};

// What one request of a level gave.
struct RequestRecord {
  bool ok = false;
  double ttft_ms = 0;      // first token event - request sent
  double tpot_ms = 0;      // (last token - first token) / (tokens - 1); 0 for one token
  double latency_ms = 0;   // last byte - request sent
  uint32_t tokens = 0;     // token events received
  std::optional<uint32_t> reported_tokens;
};

struct ErrorCount {
  uint32_t count = 0;
  std::string first_message;
};

struct LevelResult {
  uint32_t concurrency = 0;
  uint32_t requests = 0;
  double wall_seconds = 0;  // first request sent to last one finished
  std::vector<RequestRecord> records;
  std::map<std::string, ErrorCount> errors;  // by StreamOutcome::error_kind

  uint32_t succeeded() const;
  uint64_t generated_tokens() const;  // token events of successful requests
  double requests_per_second() const;
  double tokens_per_second() const;
};

// `field` of the level's successful requests, in completion order.
std::vector<double> SuccessfulValues(const LevelResult& level, double RequestRecord::*field);

// The JSON body of one generation for `api`.
std::string GenerationBody(Api api, const HttpLoadOptions& options, const std::string& prompt);

// `requests` generations of `prompt` from `concurrency` clients at once.
LevelResult RunLoadLevel(const Endpoint& endpoint, Api api, const HttpLoadOptions& options,
                         const std::string& prompt, uint32_t concurrency, uint32_t requests,
                         Progress& progress);

// A record from one outcome (pure; for the tests).
RequestRecord RecordOf(const StreamOutcome& outcome);

}  // namespace tgi::benchmark
