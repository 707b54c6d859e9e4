#include "benchmark/report/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace tgi::benchmark {

namespace {
constexpr int kBarWidth = 30;
}  // namespace

bool StderrIsTerminal() { return isatty(STDERR_FILENO) == 1; }

void Progress::Draw() {
  const int filled = static_cast<int>(std::lround(std::clamp(fraction_, 0.0, 1.0) * kBarWidth));
  std::string bar(static_cast<size_t>(filled), '#');
  bar.append(static_cast<size_t>(kBarWidth - filled), '.');
  // \r, then the bar, then erase whatever a longer previous label left (ESC [ K).
  std::fprintf(out_, "\r[%s] %3d%% %s\033[K", bar.c_str(),
               static_cast<int>(std::lround(fraction_ * 100)), label_.c_str());
  std::fflush(out_);
  bar_shown_ = true;
}

void Progress::Update(double fraction, const std::string& label) {
  if (!interactive_) return;
  fraction_ = fraction;
  label_ = label;
  Draw();
}

void Progress::Line(const std::string& text) {
  if (interactive_ && bar_shown_) std::fputs("\r\033[K", out_);
  std::fprintf(out_, "%s\n", text.c_str());
  if (interactive_ && bar_shown_) {
    Draw();
  } else {
    std::fflush(out_);
  }
}

void Progress::Finish() {
  if (interactive_ && bar_shown_) {
    std::fputs("\n", out_);
    std::fflush(out_);
  }
  bar_shown_ = false;
}

}  // namespace tgi::benchmark
