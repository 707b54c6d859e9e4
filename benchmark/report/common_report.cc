#include "benchmark/report/common_report.h"

#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace tgi::benchmark {

std::string FormatBytes(uint64_t bytes) {
  return absl::StrFormat("%.1f MiB", static_cast<double>(bytes) / (1 << 20));
}

MarkdownTable ServerTable(const ServerFacts& facts) {
  MarkdownTable table({"Server", "Value"});
  table.AddRow({"Binary", facts.binary});
  table.AddRow({"Model", facts.model_dir});
  table.AddRow({"Start to ready", absl::StrFormat("%.2f s", facts.ready_seconds)});
  table.AddRow({"Shard RSS", FormatBytes(facts.shard_rss_bytes)});
  table.AddRow({"Shard peak RSS", FormatBytes(facts.shard_peak_rss_bytes)});
  return table;
}

MarkdownTable MachineTable(const roofline::MachineProfile& m) {
  MarkdownTable table({"Machine", "Value"});
  table.AddRow({"Read bandwidth",
                absl::StrFormat("%.2f GB/s (%s buffer, %d threads, best of %d passes)",
                                m.bandwidth.bytes_per_second / 1e9, FormatBytes(m.bandwidth.bytes),
                                m.bandwidth.threads, m.bandwidth.passes)});
  table.AddRow({"sgemm peak", absl::StrFormat("%.2f GFLOP/s (n=%d, %d threads, best of %d)",
                                              m.sgemm.flops_per_second / 1e9, m.sgemm.n,
                                              m.sgemm.threads, m.sgemm.repeats)});
  return table;
}

boost::json::object ServerJson(const ServerFacts& facts) {
  return {{"binary", facts.binary},
          {"model_dir", facts.model_dir},
          {"ready_seconds", facts.ready_seconds},
          {"shard_rss_bytes", facts.shard_rss_bytes},
          {"shard_peak_rss_bytes", facts.shard_peak_rss_bytes}};
}

boost::json::object MachineJson(const roofline::MachineProfile& m) {
  return {{"read_bandwidth_bytes_per_second", m.bandwidth.bytes_per_second},
          {"bandwidth_buffer_bytes", m.bandwidth.bytes},
          {"bandwidth_threads", m.bandwidth.threads},
          {"bandwidth_passes", m.bandwidth.passes},
          {"sgemm_flops_per_second", m.sgemm.flops_per_second},
          {"sgemm_n", m.sgemm.n},
          {"sgemm_threads", m.sgemm.threads},
          {"sgemm_repeats", m.sgemm.repeats}};
}

absl::Status WriteTextFile(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) return absl::PermissionDeniedError(absl::StrCat("cannot write ", path.string()));
  return absl::OkStatus();
}

}  // namespace tgi::benchmark
