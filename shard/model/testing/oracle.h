// Test-only: reads the greedy oracle of the bundled model (testdata/oracle/*_greedy.json and
// its float32 logits files) and names the test data directories. No libtorch, no model code;
// never reads outside the repository.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tgi::shard::testing {

// The directories the top-level CMake passes as compile definitions.
std::filesystem::path ModelsDir();    // ${TGI_MODELS_DIR}
std::filesystem::path TestdataDir();  // ${TGI_TESTDATA_DIR}
inline std::filesystem::path Stories260KDir() { return ModelsDir() / "stories260K"; }

struct OracleCase {
  std::string name;
  std::vector<int64_t> prompt_tokens;     // prompt_tokens_with_bos
  std::vector<int64_t> generated_tokens;  // greedy continuation (a stop token is its last id)
  bool stopped_on_bos = false;
  // Logits before each generated token, row-major [generated_tokens.size(), vocab]; empty when
  // the case has no logits file.
  std::vector<float> logits;
};

// Reads `json_path` and, for cases that name one, `logits_dir/<logits_file>` (float32
// little-endian, size checked against generated_tokens.size() * vocab).
absl::StatusOr<std::vector<OracleCase>> LoadOracle(const std::filesystem::path& json_path,
                                                   const std::filesystem::path& logits_dir,
                                                   int64_t vocab);

// The stories260K oracle: testdata/oracle/stories260K_greedy.json (vocab 512).
absl::StatusOr<std::vector<OracleCase>> LoadStories260KOracle();

}  // namespace tgi::shard::testing
