#include "benchmark/shard_bench/json_report.h"

#include "benchmark/stats/statistics.h"
#include "boost/json.hpp"

namespace tgi::benchmark {

namespace {

namespace json = boost::json;

template <typename T>
json::array Array(const std::vector<T>& values) {
  json::array out;
  for (const T& value : values) out.push_back(value);
  return out;
}

json::object SummaryJson(const std::vector<double>& samples) {
  const Summary s = Summarize(samples);
  return {{"average", s.average}, {"min", s.min}, {"max", s.max},
          {"p50", s.p50},         {"p90", s.p90}, {"p99", s.p99}};
}

template <typename T>
void SetOptional(json::object& object, const char* key, const std::optional<T>& value) {
  if (value) {
    object[key] = *value;
  } else {
    object[key] = nullptr;
  }
}

json::object ParametersJson(const ShardBenchOptions& o) {
  json::object p = {{"model", o.tokenizer_name},
                    {"sequence_length", o.sequence_length},
                    {"decode_length", o.decode_length},
                    {"runs", o.runs},
                    {"warmups", o.warmups},
                    {"batch_sizes", Array(o.batch_sizes)},
                    {"master_shard_uds_path", o.master_shard_uds_path},
                    {"watermark", o.sampling.watermark},
                    {"do_sample", o.sampling.do_sample}};
  SetOptional(p, "top_n_tokens", o.sampling.top_n_tokens);
  SetOptional(p, "temperature", o.sampling.temperature);
  SetOptional(p, "top_k", o.sampling.top_k);
  SetOptional(p, "top_p", o.sampling.top_p);
  SetOptional(p, "typical_p", o.sampling.typical_p);
  SetOptional(p, "repetition_penalty", o.sampling.repetition_penalty);
  SetOptional(p, "frequency_penalty", o.sampling.frequency_penalty);
  return p;
}

json::object BatchJson(const BatchSamples& b) {
  return {{"batch_size", b.batch_size},
          {"prefill_latency_ms", Array(b.prefill_latency_ms)},
          {"prefill_throughput", Array(b.prefill_throughput)},
          {"decode_latency_ms", Array(b.decode_latency_ms)},
          {"decode_token_latency_ms", Array(b.decode_token_latency_ms)},
          {"decode_throughput", Array(b.decode_throughput)},
          {"decode_steps", Array(b.decode_steps)},
          {"summary",
           {{"prefill_latency_ms", SummaryJson(b.prefill_latency_ms)},
            {"prefill_throughput", SummaryJson(b.prefill_throughput)},
            {"decode_latency_ms", SummaryJson(b.decode_latency_ms)},
            {"decode_token_latency_ms", SummaryJson(b.decode_token_latency_ms)},
            {"decode_throughput", SummaryJson(b.decode_throughput)}}}};
}

json::object RooflineRowJson(const RooflineRow& row) {
  return {{"step", row.step},
          {"batch_size", row.batch_size},
          {"measured_tokens_per_second", row.measured_tokens_per_second},
          {"roofline_tokens_per_second", row.bound.tokens_per_second},
          {"memory_bound_tokens_per_second", row.bound.memory_tokens_per_second},
          {"compute_bound_tokens_per_second", row.bound.compute_tokens_per_second},
          {"bound", row.bound.limit},
          {"ratio", row.measured_tokens_per_second / row.bound.tokens_per_second},
          {std::string_view(row.step) == "Prefill" ? "achieved_flops_per_second"
                                                    : "achieved_read_bytes_per_second",
           row.achieved}};
}

}  // namespace

std::string ShardReportJson(const ShardReport& report) {
  json::array batches;
  for (const BatchSamples& batch : report.results) batches.push_back(BatchJson(batch));
  json::object root = {{"tool", "text-generation-benchmark"},
                       {"mode", "shard"},
                       {"parameters", ParametersJson(report.options)},
                       {"shard", {{"dtype", report.shard_dtype},
                                  {"device_type", report.device_type}}},
                       {"batches", std::move(batches)}};
  if (report.machine) root["machine"] = MachineJson(*report.machine);
  if (!report.roofline.empty()) {
    json::array rows;
    for (const RooflineRow& row : report.roofline) rows.push_back(RooflineRowJson(row));
    root["roofline"] = std::move(rows);
  }
  if (report.server) root["server"] = ServerJson(*report.server);
  return json::serialize(root) + "\n";
}

}  // namespace tgi::benchmark
