// Scatter plots to a PNG through gnuplot (Debian's gnuplot-nox): one panel per series of labelled
// points, side by side, as TGI's TUI draws throughput over latency per batch size. Writes the
// data and script to a temporary folder and runs `gnuplot`; nothing is drawn in-process.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace tgi::benchmark {

struct PlotPoint {
  double x = 0;
  double y = 0;
  std::string label;  // drawn beside the point ("b=8")
};

struct PlotPanel {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<PlotPoint> points;
};

// The data file: one block per panel, blocks separated by two blank lines (gnuplot's `index`).
std::string GnuplotData(const std::vector<PlotPanel>& panels);
// The script that draws `data_path` into `png`.
std::string GnuplotScript(const std::filesystem::path& png, const std::filesystem::path& data_path,
                          const std::vector<PlotPanel>& panels);

// Draws `panels` into `png` with the gnuplot on $PATH.
absl::Status PlotPng(const std::filesystem::path& png, const std::vector<PlotPanel>& panels);

}  // namespace tgi::benchmark
