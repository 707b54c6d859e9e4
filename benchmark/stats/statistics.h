// Summary statistics of a benchmark's samples, with TGI's rules: the average is the arithmetic
// mean, and percentile p is the sample at index floor(p / 100 × n) of the sorted samples, without
// interpolation (text-generation-benchmark's table.rs). Pure functions; no I/O, no clocks.
#pragma once

#include <span>
#include <vector>

namespace tgi::benchmark {

struct Summary {
  double average = 0;
  double min = 0;
  double max = 0;
  double p50 = 0;
  double p90 = 0;
  double p99 = 0;
};

// NaN for an empty input.
double Average(std::span<const double> samples);

// The sample at index floor(p / 100 × n) of `sorted` (which must be sorted ascending); NaN when
// that index is past the end (an empty input, or p = 100).
double Percentile(std::span<const double> sorted, int p);

// Average, min, max and p50/p90/p99 of `samples` (any order; a sorted copy is taken). Every
// field is NaN for an empty input.
Summary Summarize(std::span<const double> samples);

}  // namespace tgi::benchmark
