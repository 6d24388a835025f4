#include "scsi/sense.hpp"

namespace diskless::scsi {

bytes encode_fixed_sense(const sense_data& s) {
  byte_writer w(18);
  // Byte 0: VALID (bit 7) | response code 70h. SPC-4 §4.5.3, table 45.
  w.u8(static_cast<std::uint8_t>((s.information ? 0x80 : 0x00) | 0x70));
  w.u8(0);                                        // obsolete
  w.u8(static_cast<std::uint8_t>(s.key) & 0x0f);  // FILEMARK/EOM/ILI = 0
  w.u32(s.information.value_or(0));
  w.u8(10);  // additional sense length: bytes 8..17
  w.u32(0);  // command-specific information
  w.u8(s.code.asc).u8(s.code.ascq);
  w.u8(0);  // field replaceable unit code
  if (s.field) {
    // SKSV | C/D | BPV | bit pointer, then the field pointer (SPC-4 §4.5.2.4.2, table 47).
    std::uint8_t b = 0x80;
    if (s.field->cdb) b |= 0x40;
    if (s.field->bit) b |= static_cast<std::uint8_t>(0x08 | (*s.field->bit & 0x07));
    w.u8(b).u16(s.field->byte);
  } else {
    w.u8(0).u16(0);
  }
  return w.take();
}

task_result check_condition(const sense_data& s) {
  task_result r;
  r.st = status::check_condition;
  r.sense = encode_fixed_sense(s);
  return r;
}

task_result invalid_field_in_cdb(std::uint16_t byte, std::optional<std::uint8_t> bit) {
  return check_condition(sense_data{sense_key::illegal_request,
                                    asc::invalid_field_in_cdb,
                                    {},
                                    sense_data::field_pointer{true, byte, bit}});
}

task_result invalid_field_in_parameter_list(std::uint16_t byte, std::optional<std::uint8_t> bit) {
  return check_condition(sense_data{sense_key::illegal_request,
                                    asc::invalid_field_in_parameter_list,
                                    {},
                                    sense_data::field_pointer{false, byte, bit}});
}

task_result invalid_opcode() {
  return check_condition(sense_data{sense_key::illegal_request,
                                    asc::invalid_command_operation_code,
                                    {},
                                    sense_data::field_pointer{true, 0, {}}});
}

task_result lba_out_of_range() {
  return check_condition(sense_key::illegal_request, asc::lba_out_of_range);
}

task_result write_protected() {
  return check_condition(sense_key::data_protect, asc::write_protected);
}

task_result good(byte_buffer data_in) {
  task_result r;
  r.data_in = std::move(data_in);
  return r;
}

}  // namespace diskless::scsi
