#include "scsi/null_lun.hpp"

#include "scsi/cdb.hpp"
#include "scsi/sense.hpp"

namespace diskless::scsi {

task_result execute_null_lun(const task& t) {
  if (t.cdb.empty() || std::to_integer<std::uint8_t>(t.cdb[0]) != op::inquiry)
    return check_condition(sense_key::illegal_request, asc::lun_not_supported);
  // SPC-4 §6.6.2 table 142: qualifier 011b + type 1Fh, VERSION 06h (SPC-4), RESPONSE DATA
  // FORMAT 2, ADDITIONAL LENGTH 31 (36 bytes in all).
  bytes inq(36, std::byte{0});
  inq[0] = std::byte{0x7f};
  inq[2] = std::byte{0x06};
  inq[3] = std::byte{0x02};
  inq[4] = std::byte{31};
  task_result r;
  r.data_in = std::move(inq);
  // The ALLOCATION LENGTH is CDB bytes 3-4 (a shorter CDB allocates nothing).
  r.data_in.truncate(t.cdb.size() >= 5 ? load_u16(t.cdb, 3) : 0);
  return r;
}

}  // namespace diskless::scsi
