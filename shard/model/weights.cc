#include "shard/model/weights.h"

#include <ATen/ATen.h>

#include <exception>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "shard/model/status_macros.h"

namespace tgi::shard {
namespace {

std::string ShapeString(const std::vector<int64_t>& shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

}  // namespace

absl::StatusOr<at::Tensor> WeightLoader::Replicated(std::string_view name,
                                                    std::vector<int64_t> shape) const {
  return Load(name, shape, -1);
}

absl::StatusOr<at::Tensor> WeightLoader::ColumnShard(std::string_view name,
                                                     std::vector<int64_t> shape) const {
  return Load(name, shape, 0);
}

absl::StatusOr<at::Tensor> WeightLoader::RowShard(std::string_view name,
                                                  std::vector<int64_t> shape) const {
  return Load(name, shape, 1);
}

absl::StatusOr<at::Tensor> WeightLoader::Rows(std::string_view name, std::vector<int64_t> shape,
                                              int64_t begin, int64_t count) const {
  return Load(name, shape, 0, begin, count);
}

absl::StatusOr<at::Tensor> WeightLoader::Load(std::string_view std_name,
                                              const std::vector<int64_t>& shape,
                                              int64_t split_dim, int64_t begin,
                                              int64_t count) const {
  const absl::string_view name(std_name.data(), std_name.size());
  const SafetensorsEntry* entry = checkpoint_.Find(std_name);
  if (entry == nullptr) {
    return absl::NotFoundError(absl::StrCat("checkpoint has no tensor '", name, "'"));
  }
  if (entry->shape != shape) {
    return absl::InvalidArgumentError(absl::StrCat("tensor '", name, "' has shape ",
                                                   ShapeString(entry->shape),
                                                   ", the config implies ", ShapeString(shape)));
  }
  if (split_dim >= 0 && count >= 0 && (begin < 0 || begin + count > shape[split_dim])) {
    return absl::InvalidArgumentError(absl::StrCat("tensor '", name, "': rows [", begin, ", ",
                                                   begin + count, ") of dim ", split_dim, " (",
                                                   shape[split_dim], ") do not exist"));
  }
  if (split_dim >= 0 && count < 0 && shape[split_dim] % world_size_ != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor '", name, "': dim ", split_dim, " (", shape[split_dim],
                     ") does not split evenly across ", world_size_, " shards"));
  }
  TGI_ASSIGN_OR_RETURN(at::Tensor tensor, checkpoint_.Get(std_name));
  if (!tensor.is_floating_point()) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor '", name, "' has dtype ", entry->dtype, ", expected a float type"));
  }
  try {
    if (split_dim >= 0 && count >= 0) {
      tensor = tensor.narrow(split_dim, begin, count);
    } else if (split_dim >= 0 && world_size_ > 1) {
      const int64_t part = shape[split_dim] / world_size_;
      tensor = tensor.narrow(split_dim, rank_ * part, part);
    }
    // A copy when the dtype or device changes or the slice is strided; the mapping otherwise.
    return tensor.to(device_, dtype_).contiguous();
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("cannot load tensor '", name, "': ", e.what()));
  }
}

}  // namespace tgi::shard
