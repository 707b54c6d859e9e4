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
  std::string ready = absl::StrFormat("%.2f s", facts.ready_seconds);
  if (facts.weight_bytes && facts.read_bandwidth) {
    const double floor = static_cast<double>(*facts.weight_bytes) / *facts.read_bandwidth;
    absl::StrAppend(&ready, absl::StrFormat(" (%.1f × the %.1f ms to read the weights once)",
                                            facts.ready_seconds / floor, floor * 1e3));
  }
  table.AddRow({"Start to ready", ready});
  const std::string rank = facts.shards > 1 ? absl::StrCat(" (rank 0 of ", facts.shards, ")") : "";
  for (auto [name, bytes] : {std::pair{"Shard RSS", facts.shard_rss_bytes},
                             std::pair{"Shard peak RSS", facts.shard_peak_rss_bytes},
                             std::pair{"Shard anonymous RSS", facts.shard_anon_rss_bytes},
                             std::pair{"Shard file-backed RSS", facts.shard_file_rss_bytes}}) {
    std::string text = FormatBytes(bytes);
    if (facts.weight_bytes) {
      const uint64_t share = *facts.weight_bytes / static_cast<uint64_t>(facts.shards);
      absl::StrAppend(&text, absl::StrFormat(" (%.2f × the %s of weights%s)",
                                             static_cast<double>(bytes) / share,
                                             FormatBytes(share),
                                             facts.shards > 1 ? " per shard" : ""));
    }
    table.AddRow({absl::StrCat(name, rank), text});
  }
  return table;
}

MarkdownTable MachineTable(const roofline::MachineProfile& m) {
  MarkdownTable table({"Machine", "Value"});
  table.AddRow({"Read bandwidth",
                absl::StrFormat("%.2f GB/s (%s buffer, %d threads, best of %d passes)",
                                m.bandwidth.bytes_per_second / 1e9, FormatBytes(m.bandwidth.bytes),
                                m.bandwidth.threads, m.bandwidth.passes)});
  table.AddRow({"sgemm peak", absl::StrFormat("%.2f GFLOP/s (n=%d, %d threads, best of %d, %s kernels)",
                                              m.sgemm.flops_per_second / 1e9, m.sgemm.n,
                                              m.sgemm.threads, m.sgemm.repeats, m.sgemm.core)});
  return table;
}

boost::json::object ServerJson(const ServerFacts& facts) {
  boost::json::object out = {{"binary", facts.binary},
                             {"model_dir", facts.model_dir},
                             {"ready_seconds", facts.ready_seconds},
                             {"shard_rss_bytes", facts.shard_rss_bytes},
                             {"shard_peak_rss_bytes", facts.shard_peak_rss_bytes},
                             {"shard_anon_rss_bytes", facts.shard_anon_rss_bytes},
                             {"shard_file_rss_bytes", facts.shard_file_rss_bytes},
                             {"shards", facts.shards}};
  if (facts.weight_bytes) out["weight_bytes"] = *facts.weight_bytes;
  if (facts.weight_bytes && facts.read_bandwidth) {
    out["ready_floor_seconds"] = static_cast<double>(*facts.weight_bytes) / *facts.read_bandwidth;
  }
  return out;
}

boost::json::object MachineJson(const roofline::MachineProfile& m) {
  return {{"read_bandwidth_bytes_per_second", m.bandwidth.bytes_per_second},
          {"bandwidth_buffer_bytes", m.bandwidth.bytes},
          {"bandwidth_threads", m.bandwidth.threads},
          {"bandwidth_passes", m.bandwidth.passes},
          {"sgemm_flops_per_second", m.sgemm.flops_per_second},
          {"sgemm_n", m.sgemm.n},
          {"sgemm_threads", m.sgemm.threads},
          {"sgemm_repeats", m.sgemm.repeats},
          {"sgemm_core", m.sgemm.core}};
}

absl::Status WriteTextFile(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) return absl::PermissionDeniedError(absl::StrCat("cannot write ", path.string()));
  return absl::OkStatus();
}

}  // namespace tgi::benchmark
