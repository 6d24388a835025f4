#pragma once
// Sense data (SPC-4 §4.5): the sense keys and additional sense codes this target reports, and the
// fixed-format encoder. Descriptor-format sense is never used (D_SENSE is 0 in the control mode
// page, SPC-4 §7.5.8).
#include <cstdint>
#include <optional>

#include "scsi/task.hpp"
#include "util/bytes.hpp"

namespace diskless::scsi {

// SPC-4 §4.5.6, table 49.
enum class sense_key : std::uint8_t {
  no_sense = 0x0,
  recovered_error = 0x1,
  not_ready = 0x2,
  medium_error = 0x3,
  hardware_error = 0x4,
  illegal_request = 0x5,
  unit_attention = 0x6,
  data_protect = 0x7,
  aborted_command = 0xb,
  miscompare = 0xe,
};

// Additional sense code + qualifier (SPC-4 §4.5.6, table 50).
struct asc_t {
  std::uint8_t asc = 0;
  std::uint8_t ascq = 0;
  friend bool operator==(asc_t, asc_t) = default;
};

namespace asc {
inline constexpr asc_t no_additional{0x00, 0x00};
inline constexpr asc_t write_error{0x0c, 0x00};
// Data-out shorter than the CDB's transfer length (SAM-5 §5.4.3, FCP-4 §9.4.2 b).
inline constexpr asc_t invalid_field_in_command_information_unit{0x0e, 0x03};
inline constexpr asc_t unrecovered_read_error{0x11, 0x00};
inline constexpr asc_t parameter_list_length_error{0x1a, 0x00};
inline constexpr asc_t miscompare_during_verify{0x1d, 0x00};
inline constexpr asc_t invalid_command_operation_code{0x20, 0x00};
inline constexpr asc_t lba_out_of_range{0x21, 0x00};
inline constexpr asc_t invalid_field_in_cdb{0x24, 0x00};
inline constexpr asc_t lun_not_supported{0x25, 0x00};
inline constexpr asc_t invalid_field_in_parameter_list{0x26, 0x00};
inline constexpr asc_t write_protected{0x27, 0x00};
inline constexpr asc_t power_on_reset{0x29, 0x00};
inline constexpr asc_t power_on_occurred{0x29, 0x01};
inline constexpr asc_t bus_device_reset{0x29, 0x03};  // LUN reset
inline constexpr asc_t i_t_nexus_loss{0x29, 0x07};
inline constexpr asc_t mode_parameters_changed{0x2a, 0x01};
inline constexpr asc_t reservations_preempted{0x2a, 0x03};
inline constexpr asc_t reservations_released{0x2a, 0x04};
inline constexpr asc_t registrations_preempted{0x2a, 0x05};
inline constexpr asc_t command_sequence_error{0x2c, 0x00};
inline constexpr asc_t saving_parameters_not_supported{0x39, 0x00};
inline constexpr asc_t medium_not_present{0x3a, 0x00};
inline constexpr asc_t insufficient_registration_resources{0x55, 0x04};
inline constexpr asc_t internal_target_failure{0x44, 0x00};
}  // namespace asc

struct sense_data {
  sense_key key = sense_key::no_sense;
  asc_t code{};
  // INFORMATION field (VALID bit set when present), e.g. the offset of the first miscompare.
  std::optional<std::uint32_t> information;
  // Sense-key specific field pointer (SPC-4 §4.5.2.4.2) for ILLEGAL REQUEST: which byte (and bit)
  // of the CDB (cdb = true) or parameter list is wrong.
  struct field_pointer {
    bool cdb = true;
    std::uint16_t byte = 0;
    std::optional<std::uint8_t> bit;
  };
  std::optional<field_pointer> field;
};

// 18-byte fixed-format sense data, response code 70h (current error), SPC-4 §4.5.3.
bytes encode_fixed_sense(const sense_data& s);

// A CHECK CONDITION result carrying s.
task_result check_condition(const sense_data& s);
inline task_result check_condition(sense_key key, asc_t code) {
  return check_condition(sense_data{key, code, {}, {}});
}
// ILLEGAL REQUEST, INVALID FIELD IN CDB pointing at byte (and bit) of the CDB.
task_result invalid_field_in_cdb(std::uint16_t byte, std::optional<std::uint8_t> bit = {});
task_result invalid_field_in_parameter_list(std::uint16_t byte,
                                            std::optional<std::uint8_t> bit = {});
task_result invalid_opcode();
task_result lba_out_of_range();
task_result write_protected();
task_result good(byte_buffer data_in = {});

}  // namespace diskless::scsi
