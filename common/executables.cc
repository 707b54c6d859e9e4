#include "common/executables.h"

#include <unistd.h>

#include <filesystem>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/env.h"

namespace tgi::common {

namespace {

namespace fs = std::filesystem;

bool IsExecutable(const fs::path& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec) && access(path.c_str(), X_OK) == 0;
}

}  // namespace

std::string ExecutableDir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : exe.parent_path().string();
}

std::optional<std::string> FindInPath(const std::string& name) {
  const std::string path = common::GetEnvString("PATH", "/usr/local/bin:/usr/bin:/bin");
  for (absl::string_view dir : absl::StrSplit(path, ':', absl::SkipEmpty())) {
    const fs::path candidate = fs::path(std::string(dir)) / name;
    if (IsExecutable(candidate)) return candidate.string();
  }
  return std::nullopt;
}

absl::StatusOr<std::string> FindChildBinary(const std::string& name, const char* override_env,
                                            const std::string& build_subdir) {
  std::optional<std::string> override_path = common::GetEnv(override_env);
  if (override_path && !override_path->empty()) {
    if (!IsExecutable(*override_path)) {
      return absl::NotFoundError(
          absl::StrCat(override_env, "=", *override_path, " is not an executable file"));
    }
    return *override_path;
  }
  const fs::path here = ExecutableDir();
  std::vector<std::string> tried;
  for (const fs::path& candidate : {here / name, here.parent_path() / build_subdir / name}) {
    tried.push_back(candidate.string());
    if (IsExecutable(candidate)) return candidate.string();
  }
  if (std::optional<std::string> found = FindInPath(name)) return *found;
  tried.push_back("$PATH");
  return absl::NotFoundError(absl::StrCat(name, " not found (looked in ",
                                          absl::StrJoin(tried, ", "), "; set ", override_env,
                                          " to its path)"));
}

}  // namespace tgi::common
