#pragma once
// Commands addressed to a LUN that has no logical unit behind it (SPC-4 §4.6.4, SAM-5 §5.9.5):
// the transport calls this instead of a logical_unit. Pure: CDB in, task_result out.
#include "scsi/task.hpp"

namespace diskless::scsi {

// INQUIRY answers standard data with peripheral qualifier 011b, device type 1Fh ("not capable of
// supporting a device on this LUN", SPC-4 §6.6.2), truncated to the allocation length; any other
// command ends in CHECK CONDITION, ILLEGAL REQUEST, LOGICAL UNIT NOT SUPPORTED (25h/00h). REPORT
// LUNS is the transport's to route to a unit that exists (it works through any LUN, SPC-4 §6.33).
task_result execute_null_lun(const task& t);

}  // namespace diskless::scsi
