// Finds what the launcher starts and serves by default: the shard and router executables (an
// override variable, next to the launcher, the build tree, then $PATH) and the bundled model
// (installed under ../share/tgi-cpp, or the source tree's models/). Reads the filesystem only.
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace tgi::launcher {

// The directory of the running executable (/proc/self/exe).
std::string ExecutableDir();

// `name` in $PATH, if executable there.
std::optional<std::string> FindInPath(const std::string& name);

// The executable `name` ("text-generation-shard"): $override_env, then next to the launcher,
// then <launcher dir>/../<build_subdir>/ (the build tree), then $PATH.
absl::StatusOr<std::string> FindChildBinary(const std::string& name, const char* override_env,
                                            const std::string& build_subdir);

// <launcher dir>/../share/tgi-cpp/models/stories260K, else the source tree's copy.
absl::StatusOr<std::string> BundledModelDir();

}  // namespace tgi::launcher
