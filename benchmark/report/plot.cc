#include "benchmark/report/plot.h"

#include <spawn.h>
#include <sys/wait.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"

extern char** environ;

namespace tgi::benchmark {

namespace {

namespace fs = std::filesystem;

// A gnuplot string literal in double quotes.
std::string Quoted(const std::string& text) {
  return absl::StrCat("\"", absl::StrReplaceAll(text, {{"\\", "\\\\"}, {"\"", "\\\""}}), "\"");
}

absl::Status RunGnuplot(const fs::path& script) {
  std::string program = "gnuplot";
  std::string script_arg = script.string();
  char* argv[] = {program.data(), script_arg.data(), nullptr};
  pid_t pid = 0;
  if (posix_spawnp(&pid, "gnuplot", nullptr, nullptr, argv, environ) != 0) {
    return absl::NotFoundError("gnuplot is not installed (Debian: apt-get install gnuplot-nox)");
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(absl::StrCat("gnuplot failed on ", script.string()));
  }
  return absl::OkStatus();
}

}  // namespace

std::string GnuplotData(const std::vector<PlotPanel>& panels) {
  std::string out;
  for (const PlotPanel& panel : panels) {
    absl::StrAppend(&out, "# ", panel.title, "\n");
    for (const PlotPoint& point : panel.points) {
      absl::StrAppend(&out, absl::StrFormat("%.6g %.6g %s\n", point.x, point.y,
                                            Quoted(point.label)));
    }
    out += "\n\n";
  }
  return out;
}

std::string GnuplotScript(const fs::path& png, const fs::path& data_path,
                          const std::vector<PlotPanel>& panels) {
  std::string out = absl::StrFormat(
      "set terminal pngcairo size %d,520 font \",10\"\nset output %s\n"
      "set multiplot layout 1,%d\nset grid\nset key off\n",
      560 * std::max<size_t>(1, panels.size()), Quoted(png.string()), panels.size());
  for (size_t i = 0; i < panels.size(); ++i) {
    const PlotPanel& panel = panels[i];
    absl::StrAppend(&out, "set title ", Quoted(panel.title), "\nset xlabel ",
                    Quoted(panel.x_label), "\nset ylabel ", Quoted(panel.y_label), "\n",
                    "set xrange [0:*]\nset yrange [0:*]\n",
                    absl::StrFormat("plot %s index %d using 1:2 with linespoints pt 7 ps 1.5, "
                                    "'' index %d using 1:2:3 with labels offset 1.5,0.8\n",
                                    Quoted(data_path.string()), i, i));
  }
  out += "unset multiplot\n";
  return out;
}

absl::Status PlotPng(const fs::path& png, const std::vector<PlotPanel>& panels) {
  std::string pattern = (fs::temp_directory_path() / "tgi-benchmark-plot-XXXXXX").string();
  if (!mkdtemp(pattern.data())) return absl::InternalError("mkdtemp failed");
  const fs::path dir(pattern);
  const fs::path data = dir / "points.dat";
  const fs::path script = dir / "plot.gp";
  std::ofstream(data) << GnuplotData(panels);
  std::ofstream(script) << GnuplotScript(fs::absolute(png), data, panels);
  absl::Status status = RunGnuplot(script);
  std::error_code error;
  fs::remove_all(dir, error);
  return status;
}

}  // namespace tgi::benchmark
