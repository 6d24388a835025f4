#include "util/io_pool.hpp"

namespace diskless {

io_pool::io_pool(std::size_t threads, poster post_to_loop) : post_(std::move(post_to_loop)) {
  workers_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { worker(); });
}

io_pool::~io_pool() {
  shutdown();
}

void io_pool::run(task job) {
  if (workers_.empty()) {  // inline mode (tests)
    job();
    return;
  }
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
}

void io_pool::shutdown() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) {
    if (t.joinable()) t.join();
  }
}

void io_pool::worker() {
  for (;;) {
    task job;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    job();
  }
}

}  // namespace diskless
