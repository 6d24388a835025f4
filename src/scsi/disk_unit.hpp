#pragma once
// A direct-access block device logical unit (SBC-3) over a storage::block_device: the command set
// of SPC-4 + SBC-3 that a netbooting PC, Linux, Windows (incl. clusters) and libiscsi's test suite
// use. Disk I/O runs on the io_pool; everything else (dispatch, unit attentions, reservations,
// range locks) on the loop thread.
//
// Ordering: commands touching overlapping LBA ranges are not reordered against a COMPARE AND WRITE
// (which holds its range exclusively, SBC-3 §5.2: atomic with respect to other commands); other
// commands may complete in any order, as with simple task attributes (SAM-5 §8.6).
#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "scsi/cdb.hpp"
#include "scsi/identity.hpp"
#include "scsi/reservations.hpp"
#include "scsi/sense.hpp"
#include "scsi/spc.hpp"
#include "scsi/task.hpp"
#include "storage/block_device.hpp"
#include "util/io_pool.hpp"

namespace diskless::scsi {

class disk_unit final : public logical_unit {
 public:
  struct options {
    bool read_only = false;
    std::string vendor = "DISKLESS";
    std::string product = "VIRTUAL DISK";
    std::string revision = "0001";
    // VPD 80h serial and VPD 83h NAA designator. The default (naa 0, serial "DL000...") is the
    // same for every unit: callers give each host's disk its own, e.g. identity_for(key).
    identity id;
    std::uint32_t block_size = 512;
    // Report POWER ON OCCURRED (29h/01h) to the first command of every new nexus. Off by default:
    // some boot firmware gives up on the first CHECK CONDITION.
    bool report_power_on = false;
    std::uint32_t max_transfer_bytes = 32 << 20;  // VPD B0h MAXIMUM TRANSFER LENGTH

    // Options with id = identity_for(host_name): the disk keeps its identity across boots,
    // restarts and overlay resets, and hosts sharing a golden image get distinct ones.
    static options for_host(std::string_view host_name, bool read_only = false);
  };

  disk_unit(std::shared_ptr<storage::block_device> dev, io_pool& pool, options o);
  ~disk_unit() override;
  disk_unit(const disk_unit&) = delete;
  disk_unit& operator=(const disk_unit&) = delete;

  void execute(task t, completion done) override;
  void lun_reset(nexus_id by) override;
  void nexus_lost(nexus_id nexus) override;
  std::uint32_t block_size() const override { return info_.block_size; }

  const unit_info& info() const { return info_; }

  // Range locks (see with_range); public for the holds that file_data READ results carry.
  struct range_op {
    std::uint64_t lba = 0, end = 0;
    bool exclusive = false;
    bool started = false;
    bool done = false;
    unique_function<void(std::list<range_op>::iterator)> start;
  };
  using range_handle = std::list<range_op>::iterator;

  // Ends one range op when called (loop thread only), or does nothing once the unit is gone:
  // pool completions and file_data holds may outlive the unit. Call it at most once.
  class range_release {
   public:
    range_release(disk_unit* unit, range_handle h) : unit_(unit), alive_(unit->alive_), h_(h) {}
    void operator()() const {
      if (!alive_.expired()) unit_->release(h_);
    }

   private:
    disk_unit* unit_;
    std::weak_ptr<bool> alive_;
    range_handle h_;
  };
  // Queues a unit attention for one nexus (or every known nexus but `except` with all_but).
  void add_unit_attention(nexus_id nexus, asc_t code);
  void add_unit_attention_all_but(nexus_id except, asc_t code);

 private:
  struct nexus_state {
    std::deque<asc_t> unit_attentions;
  };
  nexus_state& nexus(nexus_id id);
  void dispatch(const command_info& c, task t, completion done);
  task_result dispatch_spc(const command_info& c, task& t);
  task_result request_sense_pending(nexus_id id, byte_span cdb);

  // Runs body once no conflicting range op is ahead; body must call release(handle) when done.
  void with_range(std::uint64_t lba, std::uint64_t blocks, bool exclusive,
                  unique_function<void(range_handle)> body);
  void release(range_handle h);
  void pump();
  // Wraps a pool completion so that it first ends range op h (see range_release), then hands
  // the work's result to f.
  template <class F>
  auto releasing(range_handle h, F f) {
    return [end = range_release(this, h), f = std::move(f)](auto result) mutable {
      end();
      f(std::move(result));
    };
  }

  // Block commands (sbc.cpp).
  void read(const command_info& c, task t, completion done);
  void write(const command_info& c, task t, completion done);
  void verify(const command_info& c, task t, completion done);
  void write_same(const command_info& c, task t, completion done);
  void unmap(task t, completion done);
  void compare_and_write(task t, completion done);
  void orwrite(task t, completion done);
  void synchronize_cache(task t, completion done);
  void prefetch(task t, completion done);
  void get_lba_status(task t, completion done);
  void start_stop_unit(task t, completion done);
  // Checks an LBA range: nullopt when fine, else the error result.
  std::optional<task_result> check_range(std::uint64_t lba, std::uint64_t blocks) const;

  std::shared_ptr<storage::block_device> dev_;
  io_pool& pool_;
  options opts_;
  unit_info info_;
  reservations res_;
  std::unordered_map<nexus_id, nexus_state> nexuses_;
  std::list<range_op> ranges_;
  bool pumping_ = false;
  bool repump_ = false;
  // Completions posted to the loop check this before touching the unit.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace diskless::scsi
