// The one thread that owns every tensor of the shard. gRPC handlers run on gRPC's threads; they
// hand their work to this thread with Run() and block until it is done, so batches, caches and
// the model are only ever touched here, one RPC at a time, in arrival order.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <type_traits>

namespace tgi::shard {

class ModelThread {
 public:
  ModelThread();
  ~ModelThread();  // Finishes the queued tasks, then joins.
  ModelThread(const ModelThread&) = delete;
  ModelThread& operator=(const ModelThread&) = delete;

  // Runs `task` on the model thread and returns its result to the caller's thread. Exceptions
  // thrown by the task are rethrown in the caller.
  template <typename F>
  std::invoke_result_t<F> Run(F task) {
    using Result = std::invoke_result_t<F>;
    std::packaged_task<Result()> packaged(std::move(task));
    std::future<Result> result = packaged.get_future();
    Post([&packaged] { packaged(); });
    return result.get();
  }

 private:
  void Post(std::function<void()> task);
  void Loop();

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace tgi::shard
