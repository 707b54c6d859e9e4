#include "benchmark/report/plot.h"

#include <gtest/gtest.h>

namespace tgi::benchmark {
namespace {

std::vector<PlotPanel> Panels() {
  return {{"Prefill throughput over latency", "ms", "tokens/secs", {{10, 100, "b=1"}, {20, 200, "b=2"}}},
          {"Decode \"throughput\"", "ms", "tokens/secs", {{5, 50, "b=1"}}}};
}

TEST(PlotTest, DataHasOneIndexedBlockPerPanel) {
  EXPECT_EQ(GnuplotData(Panels()),
            "# Prefill throughput over latency\n10 100 \"b=1\"\n20 200 \"b=2\"\n\n\n"
            "# Decode \"throughput\"\n5 50 \"b=1\"\n\n\n");
}

TEST(PlotTest, ScriptDrawsEveryPanelSideBySide) {
  const std::string script = GnuplotScript("/tmp/out.png", "/tmp/points.dat", Panels());
  EXPECT_NE(script.find("set terminal pngcairo"), std::string::npos);
  EXPECT_NE(script.find("set output \"/tmp/out.png\""), std::string::npos);
  EXPECT_NE(script.find("set multiplot layout 1,2"), std::string::npos);
  EXPECT_NE(script.find("index 0 using 1:2"), std::string::npos);
  EXPECT_NE(script.find("index 1 using 1:2"), std::string::npos);
  EXPECT_NE(script.find("set title \"Decode \\\"throughput\\\"\""), std::string::npos);
}

}  // namespace
}  // namespace tgi::benchmark
