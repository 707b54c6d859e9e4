// Random-weight Llama checkpoints of named shapes for the kernel benchmarks: writes config.json
// and model.safetensors (float32 or bfloat16) into a directory, reusing one already written.
// Benchmark-only: the weights are N(0, 0.02) noise and the norms are ones.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "absl/status/statusor.h"

namespace tgi::bench {

struct ModelShape {
  std::string name;
  int64_t hidden = 0;
  int64_t layers = 0;
  int64_t heads = 0;
  int64_t kv_heads = 0;
  int64_t intermediate = 0;
  int64_t vocab = 0;
  bool tied = false;
};

// "bench-110m" or "tinyllama-1b".
absl::StatusOr<ModelShape> ShapeNamed(const std::string& name);

// Writes (or finds) the checkpoint of `shape` in `dtype_name` ("float32" or "bfloat16") under
// `root` and returns its directory.
absl::StatusOr<std::filesystem::path> WriteRandomModel(const ModelShape& shape,
                                                       const std::string& dtype_name,
                                                       const std::filesystem::path& root);

}  // namespace tgi::bench
