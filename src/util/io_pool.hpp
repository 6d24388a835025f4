#pragma once
// A small thread pool for blocking work (pread/pwrite/fsync, file reads) that must never run on
// the event loop. Completions are handed back to the loop through a poster function, so this
// header knows nothing of Asio: the app passes [&ioc](auto f) { asio::post(ioc, std::move(f)); }.
//
// Contract: submit(work, done) runs work() on a pool thread, then done(result) through the
// poster (i.e. on the loop). With threads == 0 the pool is "inline": work runs at once on the
// caller and done is posted; unit tests use this with a poster that runs immediately.
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "util/unique_function.hpp"

namespace diskless {

class io_pool {
 public:
  using task = unique_function<void()>;
  using poster = std::function<void(task)>;

  io_pool(std::size_t threads, poster post_to_loop);
  ~io_pool();
  io_pool(const io_pool&) = delete;
  io_pool& operator=(const io_pool&) = delete;

  // Runs work() on the pool and then done(result of work) on the loop.
  template <typename Work, typename Done>
  void submit(Work work, Done done) {
    run([this, work = std::move(work), done = std::move(done)]() mutable {
      if constexpr (std::is_void_v<std::invoke_result_t<Work&>>) {
        work();
        post_(task([done = std::move(done)]() mutable { done(); }));
      } else {
        auto r = work();
        post_(task([done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); }));
      }
    });
  }

  // Runs a job on a pool thread (no completion).
  void run(task job);
  // Posts to the loop.
  void post(task t) { post_(std::move(t)); }
  // Stops accepting work, finishes queued jobs and joins the threads. Idempotent.
  void shutdown();
  std::size_t threads() const { return workers_.size(); }

 private:
  void worker();
  poster post_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<task> queue_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace diskless
