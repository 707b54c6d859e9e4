// One pass-pair over a row of logits for the token chooser: the argmax (lowest index on ties),
// the max and log(sum(exp(x - max))), so the logprob of any token is (x[id] - max) - log_sum
// without materialising a log_softmax of the whole vocabulary.
#pragma once

#include <cstdint>

#include "shard/model/kernels/cpu_features.h"

namespace tgi::shard::kernels {

struct RowStats {
  int64_t argmax = 0;
  float max = 0;
  float log_sum = 0;  // log(sum(exp(x - max)))

  float LogProb(float x) const { return (x - max) - log_sum; }
};

// row: [n] float32, n >= 1. -inf entries count as probability 0; a row of all -inf has max -inf.
RowStats RowLogSumExp(const float* row, int64_t n, Isa isa = ActiveIsa());

}  // namespace tgi::shard::kernels
