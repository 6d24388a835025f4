#pragma once
// Which inventory loads may be applied. Loads run on the io_pool and can complete out of order
// (two edits in quick succession: the second file may be read and validated first); applying
// the first one's result afterwards would put the older inventory back in force.
//
// Contract: begin() numbers each load in the order it was requested; accept(g) is true for a
// completed load only when no load requested after it has completed yet, so results are applied
// in request order and a late older one is dropped. Every completion, valid or not, goes through
// accept(): an invalid newer file also makes an older result stale. No I/O, no clock.
#include <cstdint>

namespace diskless::app {

class reload_order {
 public:
  // The generation of a load about to start (1, 2, ...).
  std::uint64_t begin() { return ++issued_; }

  // True when the load of `generation` is newer than every load completed so far.
  bool accept(std::uint64_t generation) {
    if (generation <= completed_ || generation > issued_) return false;
    completed_ = generation;
    return true;
  }

  std::uint64_t issued() const { return issued_; }

 private:
  std::uint64_t issued_ = 0;
  std::uint64_t completed_ = 0;  // newest generation accepted
};

}  // namespace diskless::app
