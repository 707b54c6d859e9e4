// Progress on stderr while a benchmark runs: a bar redrawn in place when stderr is a terminal,
// plain lines otherwise (a log file, a pipe, a test), so that nothing redraws into captured
// output. Owns only what it has printed; the numbers it shows come from its callers.
#pragma once

#include <cstdio>
#include <string>

namespace tgi::benchmark {

class Progress {
 public:
  // `interactive`: draw a bar (true when stderr is a terminal, see StderrIsTerminal()).
  Progress(std::FILE* out, bool interactive) : out_(out), interactive_(interactive) {}
  ~Progress() { Finish(); }
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  bool interactive() const { return interactive_; }

  // Redraws the bar at `fraction` (0..1) with `label` after it; nothing in plain mode.
  void Update(double fraction, const std::string& label);
  // A line of its own: above the bar in interactive mode, the only output in plain mode.
  void Line(const std::string& text);
  // Ends the bar's line (idempotent).
  void Finish();

 private:
  void Draw();

  std::FILE* out_;
  bool interactive_;
  bool bar_shown_ = false;
  double fraction_ = 0;
  std::string label_;
};

bool StderrIsTerminal();

}  // namespace tgi::benchmark
