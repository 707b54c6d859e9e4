// The roofline: the fastest a step could run on this machine given what it must read (at the
// measured bandwidth) and compute (at the measured sgemm peak). Pure arithmetic over
// model_cost.h and a MachineProfile; benchmark/README.md states these formulas.
#pragma once

#include <cstdint>
#include <string>

#include "benchmark/roofline/machine_probe.h"
#include "benchmark/roofline/model_cost.h"

namespace tgi::benchmark::roofline {

struct Bound {
  double tokens_per_second = 0;
  double memory_tokens_per_second = 0;
  double compute_tokens_per_second = 0;
  const char* limit = "";  // "memory" or "compute": the smaller of the two
};

// Decode at `batch` rows, each attending over `context` positions:
//   min(batch × bandwidth ÷ (weights + batch × kv(context)), flops ÷ flops_per_token(context)).
Bound DecodeRoofline(const LlamaDims& d, int dtype_bytes, int64_t batch, int64_t context,
                     const MachineProfile& machine);

// Prefill of `batch` prompts of `length` tokens (tokens/s = batch × length ÷ time), with
//   time = max(weights ÷ bandwidth, batch × prefill_flops(length) ÷ flops).
Bound PrefillRoofline(const LlamaDims& d, int dtype_bytes, int64_t batch, int64_t length,
                      const MachineProfile& machine);

// "read bandwidth 12.3 GB/s (2 GiB, 2 threads, best of 5); sgemm 85.1 GFLOP/s (n=2048, 2 threads)"
std::string DescribeMachine(const MachineProfile& machine);

}  // namespace tgi::benchmark::roofline
