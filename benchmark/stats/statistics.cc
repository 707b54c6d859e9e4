#include "benchmark/stats/statistics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace tgi::benchmark {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}  // namespace

double Average(std::span<const double> samples) {
  if (samples.empty()) return kNaN;
  return std::accumulate(samples.begin(), samples.end(), 0.0) /
         static_cast<double>(samples.size());
}

double Percentile(std::span<const double> sorted, int p) {
  const auto index =
      static_cast<size_t>(static_cast<double>(p) / 100.0 * static_cast<double>(sorted.size()));
  return index < sorted.size() ? sorted[index] : kNaN;
}

Summary Summarize(std::span<const double> samples) {
  if (samples.empty()) return Summary{kNaN, kNaN, kNaN, kNaN, kNaN, kNaN};
  std::vector<double> sorted(samples.begin(), samples.end());
  std::sort(sorted.begin(), sorted.end());
  return Summary{.average = Average(samples),
                 .min = sorted.front(),
                 .max = sorted.back(),
                 .p50 = Percentile(sorted, 50),
                 .p90 = Percentile(sorted, 90),
                 .p99 = Percentile(sorted, 99)};
}

}  // namespace tgi::benchmark
