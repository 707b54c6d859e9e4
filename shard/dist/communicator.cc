#include "shard/dist/communicator.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <spdlog/spdlog.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <algorithm>
#include <exception>
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "shard/dist/shared_memory.h"

namespace tgi::shard::dist {
namespace {

// An exception's message without the C++ backtrace c10 appends.
std::string Message(const std::exception& e) {
  if (const auto* error = dynamic_cast<const c10::Error*>(&e)) {
    return error->what_without_backtrace();
  }
  return e.what();
}

// The error that breaks a group for good: every later collective returns it.
absl::Status BrokenGroup(const char* what, int rank, int world_size,
                         std::chrono::milliseconds timeout, absl::string_view detail) {
  absl::Status broken = absl::UnavailableError(absl::StrCat(
      "tensor-parallel ", what, " failed on rank ", rank, " of ", world_size,
      " (a peer shard is gone or did not answer within ", timeout.count(), " ms): ", detail));
  spdlog::error("{}", std::string(broken.message()));
  return broken;
}

class SingleCommunicator final : public Communicator {
 public:
  SingleCommunicator() : Communicator(0, 1) {}
  std::string backend() const override { return "none"; }
  absl::Status AllReduceSum(float*, int64_t) override { return absl::OkStatus(); }
  absl::Status AllGather(const float* in, int64_t count, float* out) override {
    std::copy_n(in, count, out);
    return absl::OkStatus();
  }
  absl::StatusOr<int64_t> AllReduceMin(int64_t value) override { return value; }
};

class GlooCommunicator final : public Communicator {
 public:
  GlooCommunicator(int rank, int world_size, c10::intrusive_ptr<c10d::Store> store,
                   c10::intrusive_ptr<c10d::ProcessGroupGloo> group, std::chrono::milliseconds timeout)
      : Communicator(rank, world_size),
        store_(std::move(store)),
        group_(std::move(group)),
        timeout_(timeout) {}

  std::string backend() const override { return "gloo"; }

  // Gathered, then summed in rank order: the same sum on every rank and for every size (a ring
  // all-reduce orders each element's additions by where the element falls in the buffer, so a
  // row's result would depend on its companions). The parts are activations of a few rows.
  absl::Status AllReduceSum(float* data, int64_t count) override {
    if (scratch_.size() < static_cast<size_t>(count * world_size())) {
      scratch_.resize(static_cast<size_t>(count * world_size()));
    }
    if (absl::Status status = AllGather(data, count, scratch_.data()); !status.ok()) return status;
    for (int64_t i = 0; i < count; ++i) {
      float sum = scratch_[static_cast<size_t>(i)];
      for (int r = 1; r < world_size(); ++r) sum += scratch_[static_cast<size_t>(r * count + i)];
      data[i] = sum;
    }
    return absl::OkStatus();
  }

  absl::Status AllGather(const float* in, int64_t count, float* out) override {
    return Run("all_gather", [&] {
      std::vector<at::Tensor> input{
          at::from_blob(const_cast<float*>(in), {count}, at::kFloat)};
      std::vector<std::vector<at::Tensor>> output(1);
      for (int r = 0; r < world_size(); ++r) {
        output[0].push_back(at::from_blob(out + r * count, {count}, at::kFloat));
      }
      return group_->allgather(output, input);
    });
  }

  absl::StatusOr<int64_t> AllReduceMin(int64_t value) override {
    int64_t result = value;
    absl::Status status = Run("all_reduce(min)", [&] {
      std::vector<at::Tensor> tensors{at::from_blob(&result, {1}, at::kLong)};
      c10d::AllreduceOptions options;
      options.reduceOp = c10d::ReduceOp::MIN;
      return group_->allreduce(tensors, options);
    });
    if (!status.ok()) return status;
    return result;
  }

 private:
  // Runs one collective and waits for it; any error (a timeout, a peer gone) breaks the group.
  template <typename Start>
  absl::Status Run(const char* what, Start&& start) {
    if (!broken_.ok()) return broken_;
    try {
      // Gloo's own thread writes the tensors, outside any InferenceMode: they must be normal
      // tensors, not the inference tensors the model thread would make.
      c10::InferenceMode normal_tensors(/*enabled=*/false);
      c10::intrusive_ptr<c10d::Work> work = start();
      work->wait(timeout_);
      return absl::OkStatus();
    } catch (const std::exception& e) {
      broken_ = BrokenGroup(what, rank(), world_size(), timeout_, Message(e));
      return broken_;
    }
  }

  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group_;
  std::chrono::milliseconds timeout_;
  absl::Status broken_;
  std::vector<float> scratch_;  // [ranks][count] of AllReduceSum
};

// Ranks on one host. The sums are added in rank order, as the Gloo communicator's are, so the two
// give the same bits.
class SharedMemoryCommunicator final : public Communicator {
 public:
  SharedMemoryCommunicator(int rank, int world_size, c10::intrusive_ptr<c10d::Store> store,
                           std::unique_ptr<SharedMemoryGroup> group,
                           std::chrono::milliseconds timeout)
      : Communicator(rank, world_size),
        store_(std::move(store)),
        group_(std::move(group)),
        timeout_(timeout) {}

  std::string backend() const override { return "shm"; }

  absl::Status AllReduceSum(float* data, int64_t count) override {
    return Run("all_reduce", [&] { return group_->Sum(data, count); });
  }

  absl::Status AllGather(const float* in, int64_t count, float* out) override {
    return Run("all_gather", [&] {
      return group_->Gather(in, static_cast<size_t>(count) * sizeof(float), out);
    });
  }

  absl::StatusOr<int64_t> AllReduceMin(int64_t value) override {
    std::vector<int64_t> values(static_cast<size_t>(world_size()));
    absl::Status status = Run("all_reduce(min)", [&] {
      return group_->Gather(&value, sizeof(value), values.data());
    });
    if (!status.ok()) return status;
    return *std::min_element(values.begin(), values.end());
  }

 private:
  template <typename Collective>
  absl::Status Run(const char* what, Collective&& collective) {
    if (!broken_.ok()) return broken_;
    if (absl::Status status = collective(); !status.ok()) {
      broken_ = BrokenGroup(what, rank(), world_size(), timeout_, status.message());
    }
    return broken_;
  }

  c10::intrusive_ptr<c10d::Store> store_;
  std::unique_ptr<SharedMemoryGroup> group_;
  std::chrono::milliseconds timeout_;
  absl::Status broken_;
};

}  // namespace

std::unique_ptr<Communicator> Communicator::Single() {
  return std::make_unique<SingleCommunicator>();
}

absl::StatusOr<std::unique_ptr<Communicator>> Communicator::Connect(
    const CommunicatorOptions& options) {
  if (options.world_size < 1 || options.rank < 0 || options.rank >= options.world_size) {
    return absl::InvalidArgumentError(absl::StrCat("rank ", options.rank, " of world size ",
                                                   options.world_size, " is not a rank"));
  }
  if (options.world_size == 1) return Single();
  if (options.master_port <= 0 || options.master_port > std::numeric_limits<uint16_t>::max()) {
    return absl::InvalidArgumentError(absl::StrCat("MASTER_PORT ", options.master_port,
                                                   " is not a TCP port"));
  }
  try {
    c10d::TCPStoreOptions store_options;
    store_options.port = static_cast<uint16_t>(options.master_port);
    store_options.isServer = options.rank == 0;
    store_options.numWorkers = options.world_size;
    store_options.waitWorkers = true;
    store_options.timeout = options.timeout;
    auto tcp = c10::make_intrusive<c10d::TCPStore>(options.master_addr, store_options);
    auto store = c10::make_intrusive<c10d::PrefixStore>("tgi", tcp);
    if (options.shared_memory) {
      absl::StatusOr<std::unique_ptr<SharedMemoryGroup>> shared = SharedMemoryGroup::Join(
          *store, options.rank, options.world_size, options.timeout);
      if (shared.ok()) {
        spdlog::info("tensor parallelism: rank {} of {} joined through {}:{} (shared memory)",
                     options.rank, options.world_size, options.master_addr, options.master_port);
        return std::unique_ptr<Communicator>(new SharedMemoryCommunicator(
            options.rank, options.world_size, store, std::move(*shared), options.timeout));
      }
      spdlog::info("tensor parallelism: {}; the collectives go through gloo",
                   std::string(shared.status().message()));
    }
    auto gloo_options = c10d::ProcessGroupGloo::Options::create(options.timeout);
    gloo_options->devices.push_back(
        c10d::ProcessGroupGloo::createDeviceForHostname(options.master_addr));
    gloo_options->threads = 1;
    auto group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, options.rank,
                                                             options.world_size, gloo_options);
    spdlog::info("tensor parallelism: rank {} of {} joined through {}:{} (gloo)", options.rank,
                 options.world_size, options.master_addr, options.master_port);
    return std::unique_ptr<Communicator>(new GlooCommunicator(
        options.rank, options.world_size, store, std::move(group), options.timeout));
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat(
        "rank ", options.rank, " of ", options.world_size, " could not join the others at ",
        options.master_addr, ":", options.master_port, " within ", options.timeout.count(),
        " ms: ", Message(e)));
  }
}

}  // namespace tgi::shard::dist
