// DJL Serving (LMI) configuration: serving.properties and the HF_MODEL_ID, TENSOR_PARALLEL_DEGREE
// and OPTION_* environment variables, mapped onto the launcher's options. LMI settings only fill
// what neither a flag nor TGI's environment variable set; they never override either. Reads the
// one properties file it is pointed at; no other I/O.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "launcher/options.h"

namespace tgi::launcher {

// Keys are lower-cased ("option.max_rolling_batch_size"); values trimmed.
using LmiProperties = std::map<std::string, std::string>;

// A Java-properties subset: `key=value`, `key: value` or `key value`, `#`/`!` comments, blank
// lines, trailing-backslash continuations.
LmiProperties ParseServingProperties(std::string_view text);

// LMI's environment: HF_MODEL_ID -> option.model_id, TENSOR_PARALLEL_DEGREE ->
// option.tensor_parallel_degree, OPTION_FOO_BAR -> option.foo_bar. `environ` is the process's
// "NAME=value" array.
LmiProperties LmiEnvironment(const char* const* environ);

struct LmiResult {
  std::string properties_file;  // empty when no serving.properties was read
  // LMI's option.max_output_len: max_total_tokens = max_input_tokens + it, unless set otherwise.
  std::optional<int64_t> max_output_len;
  std::vector<std::string> applied;  // "option.max_rolling_batch_size=8 -> --max-batch-size 8"
  std::vector<std::string> ignored;  // "option.rolling_batch=lmi-dist (…)"
};

// Where the serving.properties is: --serving-properties (must exist), else the model directory's
// (when the model id, from the options or LMI's environment, is a local directory), else
// /opt/ml/model/serving.properties (LMI's layout) when no model id is set at all. Empty if none.
absl::StatusOr<std::string> FindServingProperties(const LauncherOptions& options,
                                                  const LmiProperties& environment,
                                                  const std::string& lmi_root = "/opt/ml/model");

// Reads `properties_file` (may be empty), overlays `environment` (the environment wins over the
// file) and fills the unset fields of `options`. Bad values are errors naming the key.
absl::StatusOr<LmiResult> ApplyLmi(const std::string& properties_file,
                                   const LmiProperties& environment, LauncherOptions& options);

}  // namespace tgi::launcher
