#include "benchmark/roofline/roofline.h"

#include <algorithm>

#include "absl/strings/str_format.h"

namespace tgi::benchmark::roofline {

namespace {

Bound Smaller(double memory, double compute) {
  return Bound{.tokens_per_second = std::min(memory, compute),
               .memory_tokens_per_second = memory,
               .compute_tokens_per_second = compute,
               .limit = memory <= compute ? "memory" : "compute"};
}

}  // namespace

Bound DecodeRoofline(const LlamaDims& d, int dtype_bytes, int64_t batch, int64_t context,
                     const MachineProfile& machine) {
  const double b = static_cast<double>(batch);
  const double bytes = static_cast<double>(WeightBytesPerStep(d, dtype_bytes)) +
                       b * static_cast<double>(KvBytesPerRow(d, context, dtype_bytes));
  return Smaller(b * machine.bandwidth.bytes_per_second / bytes,
                 machine.sgemm.flops_per_second / DecodeFlopsPerToken(d, context));
}

Bound PrefillRoofline(const LlamaDims& d, int dtype_bytes, int64_t batch, int64_t length,
                      const MachineProfile& machine) {
  const double tokens = static_cast<double>(batch * length);
  const double memory_seconds =
      static_cast<double>(WeightBytesPerStep(d, dtype_bytes)) / machine.bandwidth.bytes_per_second;
  const double compute_seconds =
      static_cast<double>(batch) * PrefillFlops(d, length) / machine.sgemm.flops_per_second;
  return Smaller(tokens / memory_seconds, tokens / compute_seconds);
}

std::string DescribeMachine(const MachineProfile& machine) {
  return absl::StrFormat(
      "read bandwidth %.2f GB/s (%.2f GiB buffer, %d threads, best of %d); "
      "sgemm peak %.2f GFLOP/s (n=%d, %d threads, best of %d, %s kernels)",
      machine.bandwidth.bytes_per_second / 1e9,
      static_cast<double>(machine.bandwidth.bytes) / (1u << 30), machine.bandwidth.threads,
      machine.bandwidth.passes, machine.sgemm.flops_per_second / 1e9, machine.sgemm.n,
      machine.sgemm.threads, machine.sgemm.repeats, machine.sgemm.core);
}

}  // namespace tgi::benchmark::roofline
