#include "benchmark/http_load/load_test.h"

#include <atomic>
#include <mutex>
#include <thread>

#include "absl/strings/str_format.h"
#include "boost/json.hpp"

namespace tgi::benchmark {

namespace {

double Ms(Clock::duration duration) {
  return std::chrono::duration<double, std::milli>(duration).count();
}

}  // namespace

uint32_t LevelResult::succeeded() const {
  uint32_t n = 0;
  for (const RequestRecord& record : records) n += record.ok ? 1 : 0;
  return n;
}

uint64_t LevelResult::generated_tokens() const {
  uint64_t n = 0;
  for (const RequestRecord& record : records) n += record.ok ? record.tokens : 0;
  return n;
}

double LevelResult::requests_per_second() const {
  return wall_seconds > 0 ? succeeded() / wall_seconds : 0;
}

double LevelResult::tokens_per_second() const {
  return wall_seconds > 0 ? static_cast<double>(generated_tokens()) / wall_seconds : 0;
}

std::vector<double> SuccessfulValues(const LevelResult& level, double RequestRecord::*field) {
  std::vector<double> values;
  for (const RequestRecord& record : level.records) {
    if (record.ok) values.push_back(record.*field);
  }
  return values;
}

std::string GenerationBody(Api api, const HttpLoadOptions& options, const std::string& prompt) {
  boost::json::object parameters;
  parameters["max_new_tokens"] = options.max_new_tokens;
  parameters["do_sample"] = options.do_sample;
  if (options.temperature) parameters["temperature"] = *options.temperature;
  if (options.top_p) parameters["top_p"] = *options.top_p;
  if (options.seed) parameters["seed"] = *options.seed;
  if (api == Api::kTgi) {
    parameters["details"] = true;
    return boost::json::serialize(boost::json::object{{"inputs", prompt}, {"parameters", parameters}});
  }
  boost::json::object body = {{"model", options.openai_model},
                              {"prompt", prompt},
                              {"max_tokens", options.max_new_tokens},
                              {"stream", true}};
  // Greedy unless sampling was asked for; llama-server reads ignore_eos as TGI's benchmark does.
  body["temperature"] = options.do_sample ? options.temperature.value_or(1.0f) : 0.0f;
  if (options.top_p) body["top_p"] = *options.top_p;
  if (options.seed) body["seed"] = *options.seed;
  if (options.ignore_eos) body["ignore_eos"] = true;
  return boost::json::serialize(body);
}

RequestRecord RecordOf(const StreamOutcome& outcome) {
  RequestRecord record;
  record.ok = outcome.ok() && !outcome.token_times.empty();
  record.tokens = static_cast<uint32_t>(outcome.token_times.size());
  record.reported_tokens = outcome.reported_tokens;
  record.latency_ms = Ms(outcome.finished - outcome.sent);
  if (!outcome.token_times.empty()) {
    record.ttft_ms = Ms(outcome.token_times.front() - outcome.sent);
    if (outcome.token_times.size() > 1) {
      record.tpot_ms = Ms(outcome.token_times.back() - outcome.token_times.front()) /
                       static_cast<double>(outcome.token_times.size() - 1);
    }
  }
  return record;
}

LevelResult RunLoadLevel(const Endpoint& endpoint, Api api, const HttpLoadOptions& options,
                         const std::string& prompt, uint32_t concurrency, uint32_t requests,
                         Progress& progress) {
  const std::string body = GenerationBody(api, options, prompt);
  LevelResult result;
  result.concurrency = concurrency;
  result.requests = requests;
  std::atomic<uint32_t> next{0};
  std::mutex mutex;  // guards result.records, result.errors and the progress bar
  const Clock::time_point start = Clock::now();
  std::vector<std::thread> clients;
  for (uint32_t c = 0; c < concurrency; ++c) {
    clients.emplace_back([&] {
      while (next.fetch_add(1) < requests) {
        const StreamOutcome outcome =
            StreamGeneration(endpoint, api, body, std::chrono::seconds(options.timeout_s));
        const RequestRecord record = RecordOf(outcome);
        std::lock_guard lock(mutex);
        result.records.push_back(record);
        if (!outcome.ok()) {
          ErrorCount& error = result.errors[outcome.error_kind];
          if (error.count++ == 0) error.first_message = outcome.error_message;
        } else if (!record.ok) {
          ErrorCount& error = result.errors["incomplete: no token event"];
          ++error.count;
        }
        progress.Update(static_cast<double>(result.records.size()) / requests,
                        absl::StrFormat("concurrency %u: %zu/%u requests", concurrency,
                                        result.records.size(), requests));
      }
    });
  }
  for (std::thread& client : clients) client.join();
  result.wall_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

}  // namespace tgi::benchmark
