// Finds the project's executables: the directory of the running one, a name in $PATH, and a
// sibling binary the launcher or the benchmark starts (an override variable, next to the running
// executable, the build tree, then $PATH). Reads the filesystem only.
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace tgi::common {

// The directory of the running executable (/proc/self/exe).
std::string ExecutableDir();
// `name` in $PATH, if executable there.
std::optional<std::string> FindInPath(const std::string& name);
// The executable `name` ("text-generation-shard"): $override_env, then next to the running
// executable, then <its dir>/../<build_subdir>/ (the build tree), then $PATH.
absl::StatusOr<std::string> FindChildBinary(const std::string& name, const char* override_env,
                                            const std::string& build_subdir);

}  // namespace tgi::common
