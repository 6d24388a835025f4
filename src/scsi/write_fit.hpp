#pragma once
// Fitting a write command to the data the transport actually carries (SAM-5 §5.3, RFC 7143
// §11.4.5.1): when the transport's expected length and the CDB's transfer length differ, only the
// smaller amount is written and the difference is the residual (underflow: the expected length is
// larger; overflow: the CDB is larger).
#include <cstdint>

#include "scsi/task.hpp"

namespace diskless::scsi {

struct write_fit {
  std::uint32_t overflow = 0;   // bytes the CDB describes beyond the expected length (saturated)
  std::uint32_t underflow = 0;  // expected bytes the CDB does not describe
  bool nothing_fits = false;    // not one block fits: the command must not run (GOOD, overflow)
};

// For WRITE and WRITE AND VERIFY (6/10/12/16): trims t.data_out to the CDB's transfer length, or
// lowers the CDB's transfer length to the whole blocks within t.expected_length (WRITE(6) only
// while that stays below 256 blocks, its largest count). Other commands are left alone (all
// zero). block_size is the logical unit's.
write_fit fit_write_to_expected_length(task& t, std::uint32_t block_size);

}  // namespace diskless::scsi
