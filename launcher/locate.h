// Finds the model the launcher serves by default: the bundled stories260K, installed under
// ../share/tgi-cpp or the source tree's models/ (the executables: common/executables.h).
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace tgi::launcher {

// <launcher dir>/../share/tgi-cpp/models/stories260K, else the source tree's copy.
absl::StatusOr<std::string> BundledModelDir();

}  // namespace tgi::launcher
