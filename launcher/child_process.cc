#include "launcher/child_process.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace tgi::launcher {

namespace {

constexpr size_t kMaxLine = 64 * 1024;

void CloseIfOpen(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

}  // namespace

std::string ChildSpec::Label() const { return rank >= 0 ? absl::StrCat(name, "-", rank) : name; }

std::string ExitInfo::Describe() const {
  if (signal != 0) return absl::StrCat("signal ", signal, " (", strsignal(signal), ")");
  return absl::StrCat("exit code ", code);
}

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Spawn(const ChildSpec& spec,
                                                                  LineHandler on_line) {
  int out_pipe[2], err_pipe[2], exec_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return absl::InternalError("pipe2 failed");
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    return absl::InternalError("pipe2 failed");
  }
  if (pipe2(exec_pipe, O_CLOEXEC) != 0) {
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) close(fd);
    return absl::InternalError("pipe2 failed");
  }

  // Everything the child needs is built before fork: after it, only async-signal-safe calls.
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(spec.binary.c_str()));
  for (const std::string& arg : spec.args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const std::string& entry : spec.env) envp.push_back(const_cast<char*>(entry.c_str()));
  envp.push_back(nullptr);
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  for (int cpu : spec.cpus) CPU_SET(cpu, &cpus);
  const bool set_cpus = !spec.cpus.empty();
  const pid_t parent = getpid();

  const pid_t pid = fork();
  if (pid < 0) {
    for (int fd :
         {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1], exec_pipe[0], exec_pipe[1]}) {
      close(fd);
    }
    return absl::ResourceExhaustedError(absl::StrCat("fork failed: ", strerror(errno)));
  }
  if (pid == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);  // the launcher died before prctl
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int signal_number : {SIGPIPE, SIGINT, SIGTERM, SIGHUP}) signal(signal_number, SIG_DFL);
    if (set_cpus) sched_setaffinity(0, sizeof(cpus), &cpus);
    const int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
    dup2(out_pipe[1], STDOUT_FILENO);
    dup2(err_pipe[1], STDERR_FILENO);
    execve(spec.binary.c_str(), argv.data(), envp.data());
    const int error = errno;
    [[maybe_unused]] ssize_t ignored = write(exec_pipe[1], &error, sizeof(error));
    _exit(127);
  }

  setpgid(pid, pid);  // also from the parent, so the group exists before any signal is sent
  close(out_pipe[1]);
  close(err_pipe[1]);
  close(exec_pipe[1]);
  int exec_error = 0;
  ssize_t got;
  do {
    got = read(exec_pipe[0], &exec_error, sizeof(exec_error));
  } while (got < 0 && errno == EINTR);
  close(exec_pipe[0]);
  if (got == sizeof(exec_error)) {
    waitpid(pid, nullptr, 0);
    close(out_pipe[0]);
    close(err_pipe[0]);
    return absl::NotFoundError(
        absl::StrCat("cannot run ", spec.binary, ": ", strerror(exec_error)));
  }
  const int wake_fd = eventfd(0, EFD_CLOEXEC);
  return std::unique_ptr<ChildProcess>(
      new ChildProcess(spec, pid, out_pipe[0], err_pipe[0], wake_fd, std::move(on_line)));
}

ChildProcess::ChildProcess(ChildSpec spec, pid_t pid, int out_fd, int err_fd, int wake_fd,
                           LineHandler on_line)
    : spec_(std::move(spec)),
      pid_(pid),
      out_fd_(out_fd),
      err_fd_(err_fd),
      wake_fd_(wake_fd),
      on_line_(std::move(on_line)) {
  reader_ = std::thread([this] { ReadLoop(); });
}

ChildProcess::~ChildProcess() {
  if (!exit_) {
    kill(-pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t ignored = write(wake_fd_, &one, sizeof(one));
  if (reader_.joinable()) reader_.join();
  CloseIfOpen(out_fd_);
  CloseIfOpen(err_fd_);
  CloseIfOpen(wake_fd_);
}

bool ChildProcess::Poll() {
  if (exit_) return true;
  int status = 0;
  const pid_t reaped = waitpid(pid_, &status, WNOHANG);
  if (reaped == 0) return false;
  ExitInfo info;
  if (reaped < 0) {
    info.code = -1;  // already reaped elsewhere: unknown status
  } else if (WIFEXITED(status)) {
    info.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    info.signal = WTERMSIG(status);
  }
  exit_ = info;
  kill(-pid_, SIGKILL);  // anything it left behind in its group
  return true;
}

void ChildProcess::SignalGroup(int signal) {
  if (!exit_) kill(-pid_, signal);
}

std::vector<std::string> ChildProcess::StderrTail() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (exit_) drained_cv_.wait_for(lock, std::chrono::milliseconds(500), [&] { return drained_; });
  return std::vector<std::string>(stderr_tail_.begin(), stderr_tail_.end());
}

void ChildProcess::ReadLoop() {
  std::string pending[2];
  int fds[2] = {out_fd_, err_fd_};
  bool open_fds[2] = {true, true};
  auto emit = [&](int which, std::string line) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (which == 1) {
      std::lock_guard<std::mutex> lock(mutex_);
      stderr_tail_.push_back(line);
      if (stderr_tail_.size() > kTailLines) stderr_tail_.pop_front();
    }
    if (on_line_) on_line_(spec_.Label(), which == 1, line);
  };
  char buffer[16 * 1024];
  while (open_fds[0] || open_fds[1]) {
    pollfd polls[3] = {{open_fds[0] ? fds[0] : -1, POLLIN, 0},
                       {open_fds[1] ? fds[1] : -1, POLLIN, 0},
                       {wake_fd_, POLLIN, 0}};
    if (poll(polls, 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (polls[2].revents != 0) break;
    for (int which = 0; which < 2; ++which) {
      if (!open_fds[which] || polls[which].revents == 0) continue;
      const ssize_t got = read(fds[which], buffer, sizeof(buffer));
      if (got <= 0) {
        if (got < 0 && errno == EINTR) continue;
        open_fds[which] = false;
        continue;
      }
      pending[which].append(buffer, static_cast<size_t>(got));
      size_t start = 0, newline;
      while ((newline = pending[which].find('\n', start)) != std::string::npos) {
        emit(which, pending[which].substr(start, newline - start));
        start = newline + 1;
      }
      pending[which].erase(0, start);
      if (pending[which].size() > kMaxLine) {
        emit(which, pending[which]);
        pending[which].clear();
      }
    }
  }
  for (int which = 0; which < 2; ++which) {
    if (!pending[which].empty()) emit(which, pending[which]);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  drained_ = true;
  drained_cv_.notify_all();
}

}  // namespace tgi::launcher
