#include "launcher/locate.h"

#include <filesystem>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/executables.h"

#ifndef TGI_SOURCE_MODEL_DIR
#define TGI_SOURCE_MODEL_DIR ""
#endif

namespace tgi::launcher {

namespace fs = std::filesystem;
using common::ExecutableDir;

absl::StatusOr<std::string> BundledModelDir() {
  std::error_code ec;
  const fs::path installed =
      fs::path(ExecutableDir()).parent_path() / "share" / "tgi-cpp" / "models" / "stories260K";
  if (fs::is_directory(installed, ec)) return fs::canonical(installed, ec).string();
  const fs::path source(TGI_SOURCE_MODEL_DIR);
  if (!source.empty() && fs::is_directory(source, ec)) return source.string();
  return absl::NotFoundError(absl::StrCat("the bundled model is neither at ", installed.string(),
                                          " nor at ", source.string(), "; pass --model-id"));
}

}  // namespace tgi::launcher
