#include "scsi/spc.hpp"

#include <algorithm>

#include "scsi/cdb.hpp"

namespace diskless::scsi {

namespace {

std::uint8_t at(byte_span cdb, std::size_t i) {
  return i < cdb.size() ? std::to_integer<std::uint8_t>(cdb[i]) : 0;
}

// Pads or cuts s to exactly n ASCII characters (SPC-4 §4.4.1: left-aligned, space-filled).
void ascii_field(byte_writer& w, const std::string& s, std::size_t n) {
  std::string f = s.substr(0, n);
  f.resize(n, ' ');
  w.append(std::string_view(f));
}

// Data-in is cut to the allocation length (SPC-4 §4.2.5.6); the transport handles EDTL.
task_result truncated(bytes data, std::uint32_t alloc) {
  if (data.size() > alloc) data.resize(alloc);
  return good(std::move(data));
}

constexpr std::uint8_t vpd_pages[] = {0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2};

bytes vpd_page(const unit_info& u, std::uint8_t page) {
  byte_writer w;
  w.u8(0x00).u8(page).u16(0);  // qualifier 0 / type 0 (direct access block), page, length
  switch (page) {
    case 0x00:  // SPC-4 §7.8.16 Supported VPD pages
      for (auto p : vpd_pages) w.u8(p);
      break;
    case 0x80:  // SPC-4 §7.8.17 Unit Serial Number
      w.append(std::string_view(u.serial));
      break;
    case 0x83: {  // SPC-4 §7.8.6 Device Identification
      // NAA designator, locally assigned (NAA 3h, SPC-4 §7.8.6.6.2): association = logical unit.
      w.u8(0x01).u8(0x03).u8(0).u8(8);
      w.u64((std::uint64_t{0x3} << 60) | (u.naa & 0x0fffffffffffffffULL));
      // T10 vendor ID based designator (SPC-4 §7.8.6.4): vendor + product + serial.
      std::string id = u.vendor.substr(0, 8);
      id.resize(8, ' ');
      id += u.product + ":" + u.serial;
      w.u8(0x02).u8(0x01).u8(0).u8(
          static_cast<std::uint8_t>(std::min<std::size_t>(id.size(), 200)));
      w.append(std::string_view(id).substr(0, 200));
      // Association = target port (01b), binary, PIV 0 (no protocol named: scsi knows no
      // transport). Relative target port (SPC-4 §7.8.6.7) and target port group (§7.8.6.8), as
      // REPORT TARGET PORT GROUPS reports them: Windows' MPIO and Linux ALUA match the two.
      w.u8(0x01).u8(0x14).u8(0).u8(4).u16(0).u16(relative_target_port);
      w.u8(0x01).u8(0x15).u8(0).u8(4).u16(0).u16(target_port_group);
      break;
    }
    case 0xb0:     // SBC-3 §6.5.3 Block Limits
      w.u8(0x00);  // WSNZ = 0: WRITE SAME with 0 blocks runs to the end of the medium
      w.u8(u.max_compare_and_write_blocks);
      w.u16(static_cast<std::uint16_t>(u.blocks_per_granule()));  // OPTIMAL TRANSFER GRANULARITY
      w.u32(u.max_transfer_blocks);
      w.u32(std::min<std::uint32_t>(u.max_transfer_blocks, 1u << 20 >> 9));  // OPTIMAL: 1 MiB
      w.u32(u.max_transfer_blocks);  // MAXIMUM PREFETCH LENGTH
      w.u32(u.thin ? u.max_unmap_blocks : 0);
      w.u32(u.thin ? u.max_unmap_descriptors : 0);
      w.u32(u.thin ? u.blocks_per_granule() : 0);  // OPTIMAL UNMAP GRANULARITY
      w.u32(0);                                    // UGAVALID = 0
      w.u64(u.max_write_same_blocks);
      w.zeros(20);
      break;
    case 0xb1:        // SBC-3 §6.5.2 Block Device Characteristics
      w.u16(0x0001);  // MEDIUM ROTATION RATE: non-rotating medium
      w.u8(0);        // PRODUCT TYPE
      w.u8(0);        // WABEREQ/WACEREQ/NOMINAL FORM FACTOR
      w.zeros(56);
      break;
    case 0xb2: {  // SBC-3 §6.5.4 Logical Block Provisioning
      w.u8(0);    // THRESHOLD EXPONENT
      // LBPU | LBPWS | LBPWS10 | LBPRZ: unmapped blocks read as zeros (holes, memset).
      w.u8(u.thin ? 0xe4 : 0x00);
      w.u8(u.thin ? 0x02 : 0x00);  // PROVISIONING TYPE: thin
      w.u8(0);
      break;
    }
    default:
      break;
  }
  w.put_u16_at(2, static_cast<std::uint16_t>(w.size() - 4));
  return w.take();
}

bytes standard_inquiry(const unit_info& u) {
  // SPC-4 §6.4.2, table 142.
  byte_writer w(96);
  w.u8(0x00);  // peripheral qualifier 0, device type 00h (direct access block device)
  w.u8(0x00);  // RMB = 0
  w.u8(0x06);  // VERSION: SPC-4
  w.u8(0x12);  // HISUP = 1, RESPONSE DATA FORMAT = 2
  w.u8(91);    // ADDITIONAL LENGTH (96 - 5)
  w.u8(0x10);  // TPGS 01b: implicit asymmetric access (REPORT TARGET PORT GROUPS); SCCS ACC 3PC
               // PROTECT 0
  w.u8(0x00);  // ENCSERV MULTIP ADDR16
  w.u8(0x02);  // CMDQUE
  ascii_field(w, u.vendor, 8);
  ascii_field(w, u.product, 16);
  ascii_field(w, u.revision, 4);
  w.zeros(20);  // vendor specific
  w.u8(0).u8(0);
  // Version descriptors (SPC-4 §6.4.2, table 144): SAM-5, SPC-4, SBC-3.
  w.u16(0x00a0).u16(0x0460).u16(0x04c0);
  w.zeros(96 - w.size());
  return w.take();
}

// Mode pages (SBC-3 §6.4) as current values; `changeable` gives the mask (all zeros: nothing can
// be changed).
void page_rw_recovery(byte_writer& w, bool changeable) {  // SBC-3 §6.4.7
  w.u8(0x01).u8(0x0a);
  w.u8(changeable ? 0 : 0xc0);  // AWRE ARRE
  w.zeros(9);
}
void page_caching(byte_writer& w, const unit_info& u, bool changeable) {  // SBC-3 §6.4.5
  w.u8(0x08).u8(0x12);
  w.u8(changeable || !u.write_cache ? 0 : 0x04);  // WCE; RCD = 0
  w.zeros(17);
}
void page_control(byte_writer& w, const unit_info& u, bool changeable) {  // SPC-4 §7.5.8
  w.u8(0x0a).u8(0x0a);
  w.u8(0x00);                   // TST 000, TMF_ONLY 0, DPICZ 0, D_SENSE 0, GLTSD 0, RLEC 0
  w.u8(changeable ? 0 : 0x10);  // QUEUE ALGORITHM MODIFIER 1 (unrestricted), QERR 00
  w.u8(changeable || !u.read_only ? 0 : 0x08);   // SWP: software write protect on read-only units
  w.u8(0x00);                                    // ATO TAS AUTOLOAD MODE
  w.u16(0).u16(changeable ? 0 : 0xffff).u16(0);  // obsolete, BUSY TIMEOUT (unlimited), self-test
}

// SPC-4 §7.5.13 Informational Exceptions Control: there is no failure prediction to report.
// DEXCPT = 1 (disabled), MRIE 0h, no interval or count; nothing changeable.
void page_informational_exceptions(byte_writer& w, bool changeable) {
  w.u8(0x1c).u8(0x0a);
  w.u8(changeable ? 0 : 0x08);  // PERF EBF EWASC DEXCPT TEST EBACKERR LOGERR
  w.u8(0x00);                   // MRIE
  w.u32(0).u32(0);              // INTERVAL TIMER, REPORT COUNT
}

bool append_page(byte_writer& w, const unit_info& u, std::uint8_t page, bool changeable) {
  switch (page) {
    case 0x01:
      page_rw_recovery(w, changeable);
      return true;
    case 0x08:
      page_caching(w, u, changeable);
      return true;
    case 0x0a:
      page_control(w, u, changeable);
      return true;
    case 0x1c:
      page_informational_exceptions(w, changeable);
      return true;
    case 0x3f:  // in ascending page code order (SPC-4 §6.11)
      page_rw_recovery(w, changeable);
      page_caching(w, u, changeable);
      page_control(w, u, changeable);
      page_informational_exceptions(w, changeable);
      return true;
    default:
      return false;
  }
}

}  // namespace

task_result inquiry(const unit_info& u, byte_span cdb) {
  // SPC-4 §6.4.1: CMDDT (obsolete) set, or a page code without EVPD: INVALID FIELD IN CDB.
  std::uint8_t b1 = at(cdb, 1);
  if (b1 & 0x02) return invalid_field_in_cdb(1, 1);
  if (b1 & 0xfc) return invalid_field_in_cdb(1);
  std::uint32_t alloc = allocation_length(cdb);
  if (!(b1 & 0x01)) {
    if (at(cdb, 2) != 0) return invalid_field_in_cdb(2);
    return truncated(standard_inquiry(u), alloc);
  }
  std::uint8_t page = at(cdb, 2);
  if (std::find(std::begin(vpd_pages), std::end(vpd_pages), page) == std::end(vpd_pages))
    return invalid_field_in_cdb(2);
  return truncated(vpd_page(u, page), alloc);
}

task_result read_capacity10(const unit_info& u, byte_span cdb) {
  // SBC-3 §5.16: with PMI = 0 the LOGICAL BLOCK ADDRESS field shall be zero.
  if (!(at(cdb, 8) & 0x01) && load_u32(cdb, 2) != 0) return invalid_field_in_cdb(2);
  byte_writer w(8);
  std::uint64_t last = u.blocks == 0 ? 0 : u.blocks - 1;
  w.u32(last > 0xfffffffeULL ? 0xffffffffU : static_cast<std::uint32_t>(last));
  w.u32(u.block_size);
  return good(w.take());
}

task_result read_capacity16(const unit_info& u, byte_span cdb) {
  // SBC-3 §5.17.
  if (!(at(cdb, 14) & 0x01) && load_u64(cdb, 2) != 0) return invalid_field_in_cdb(2);
  byte_writer w(32);
  w.u64(u.blocks == 0 ? 0 : u.blocks - 1);
  w.u32(u.block_size);
  w.u8(0);  // P_TYPE / PROT_EN = 0
  // P_I_EXPONENT 0, LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT (see unit_info).
  w.u8(u.physical_exponent());
  w.u16(u.thin ? 0xc000 : 0x0000);  // LBPME | LBPRZ, LOWEST ALIGNED LBA 0
  w.zeros(16);
  return truncated(w.take(), allocation_length(cdb));
}

task_result mode_sense(const unit_info& u, byte_span cdb) {
  // SPC-4 §6.11 (MODE SENSE(6)) and §6.12 (MODE SENSE(10)).
  bool ten = at(cdb, 0) == op::mode_sense10;
  bool dbd = (at(cdb, 1) & 0x08) != 0;
  bool llbaa = ten && (at(cdb, 1) & 0x10) != 0;
  std::uint8_t pc = at(cdb, 2) >> 6;
  std::uint8_t page = at(cdb, 2) & 0x3f;
  std::uint8_t subpage = at(cdb, 3);
  if (pc == 3) {
    return check_condition(sense_data{sense_key::illegal_request,
                                      asc::saving_parameters_not_supported,
                                      {},
                                      sense_data::field_pointer{true, 2, 7}});
  }
  if (subpage != 0 && !(page == 0x3f && subpage == 0xff)) return invalid_field_in_cdb(3);
  byte_writer pages;
  if (!append_page(pages, u, page, pc == 1)) return invalid_field_in_cdb(2, 5);

  byte_writer w;
  // DEVICE-SPECIFIC PARAMETER (SBC-3 §6.4.1): WP on read-only units, DPOFUA = 1.
  std::uint8_t dsp = static_cast<std::uint8_t>((u.read_only ? 0x80 : 0x00) | 0x10);
  std::uint64_t n = u.blocks;
  byte_writer desc;
  if (!dbd) {
    if (llbaa) {  // SBC-3 §6.4.2.3 long LBA block descriptor
      desc.u64(n).u32(0).u32(u.block_size);
    } else {  // §6.4.2.2 short block descriptor
      desc.u32(n > 0xffffffffULL ? 0xffffffffU : static_cast<std::uint32_t>(n));
      desc.u8(0).u24(u.block_size);
    }
  }
  if (ten) {
    w.u16(0).u8(0).u8(dsp).u8(llbaa && !dbd ? 0x01 : 0x00).u8(0);
    w.u16(static_cast<std::uint16_t>(desc.size()));
  } else {
    w.u8(0).u8(0).u8(dsp).u8(static_cast<std::uint8_t>(desc.size()));
  }
  w.append(desc.data()).append(pages.data());
  // MODE DATA LENGTH excludes itself.
  if (ten) {
    w.put_u16_at(0, static_cast<std::uint16_t>(w.size() - 2));
  } else {
    w.put_u8_at(0, static_cast<std::uint8_t>(std::min<std::size_t>(w.size() - 1, 0xff)));
  }
  return truncated(w.take(), allocation_length(cdb));
}

task_result mode_select(const unit_info& u, byte_span cdb, byte_span params) {
  // SPC-4 §6.9/§6.10. PF must be 1 (SPC-4 page format); SP (save pages) is not supported.
  bool ten = at(cdb, 0) == op::mode_select10;
  std::uint8_t b1 = at(cdb, 1);
  if (b1 & 0x01) return invalid_field_in_cdb(1, 0);
  std::uint32_t len = ten ? load_u16(cdb, 7) : at(cdb, 4);
  if (len == 0) return good();
  if (params.size() < len) {
    return check_condition(sense_key::illegal_request, asc::parameter_list_length_error);
  }
  params = params.first(len);
  std::size_t hdr = ten ? 8 : 4;
  if (len < hdr)
    return check_condition(sense_key::illegal_request, asc::parameter_list_length_error);
  std::size_t bdl = ten ? load_u16(params, 6) : std::to_integer<std::uint8_t>(params[3]);
  bool long_lba = ten && (std::to_integer<std::uint8_t>(params[4]) & 0x01);
  if (hdr + bdl > len) return invalid_field_in_parameter_list(static_cast<std::uint16_t>(hdr - 1));
  // Block descriptors may restate the block length; nothing else may change.
  std::size_t desc_len = long_lba ? 16 : 8;
  for (std::size_t off = hdr; off + desc_len <= hdr + bdl; off += desc_len) {
    std::uint32_t bl = long_lba ? load_u32(params, off + 12) : load_u24(params, off + 5);
    if (bl != u.block_size) return invalid_field_in_parameter_list(static_cast<std::uint16_t>(off));
  }
  std::size_t pos = hdr + bdl;
  while (pos < len) {
    if (pos + 2 > len) return invalid_field_in_parameter_list(static_cast<std::uint16_t>(pos));
    std::uint8_t code = std::to_integer<std::uint8_t>(params[pos]) & 0x3f;
    bool spf = (std::to_integer<std::uint8_t>(params[pos]) & 0x40) != 0;
    if (spf || code == 0x3f)
      return invalid_field_in_parameter_list(static_cast<std::uint16_t>(pos));
    std::size_t plen = std::size_t{std::to_integer<std::uint8_t>(params[pos + 1])} + 2;
    byte_writer cur;
    if (!append_page(cur, u, code, false) || cur.size() != plen || pos + plen > len)
      return invalid_field_in_parameter_list(static_cast<std::uint16_t>(pos));
    // Compare everything after the page code byte (its PS bit is reserved in MODE SELECT).
    for (std::size_t i = 1; i < plen; ++i) {
      if (params[pos + i] != cur.data()[i])
        return invalid_field_in_parameter_list(static_cast<std::uint16_t>(pos + i));
    }
    pos += plen;
  }
  return good();
}

task_result report_luns(byte_span cdb) {
  // SPC-4 §6.33: one logical unit, LUN 0, for every SELECT REPORT value we know.
  std::uint8_t select = at(cdb, 2);
  if (select > 0x02) return invalid_field_in_cdb(2);
  byte_writer w(16);
  w.u32(8).u32(0).u64(0);
  return truncated(w.take(), allocation_length(cdb));
}

task_result report_supported_opcodes(byte_span cdb) {
  // SPC-4 §6.35.
  bool rctd = (at(cdb, 2) & 0x80) != 0;
  std::uint8_t options = at(cdb, 2) & 0x07;
  std::uint32_t alloc = allocation_length(cdb);
  auto timeouts = [](byte_writer& w) {  // §6.35.4 command timeouts descriptor
    w.u16(0x0a).u8(0).u8(0).u32(0).u32(30);
  };
  byte_writer w;
  if (options == 0) {
    w.u32(0);
    for (const auto& c : supported_commands()) {
      w.u8(c.opcode).u8(0).u16(c.has_service_action ? c.service_action : 0).u8(0);
      w.u8(static_cast<std::uint8_t>((rctd ? 0x02 : 0) | (c.has_service_action ? 0x01 : 0)));
      w.u16(c.cdb_length);
      if (rctd) timeouts(w);
    }
    w.put_u32_at(0, static_cast<std::uint32_t>(w.size() - 4));
    return truncated(w.take(), alloc);
  }
  if (options > 3) return invalid_field_in_cdb(2, 2);
  std::uint8_t opcode = at(cdb, 3);
  std::uint16_t service_action = load_u16(cdb, 4);
  bool with_sa = uses_service_action(opcode);
  // Option 1 asks without a service action, option 2 with one; asking the wrong way for an
  // opcode is INVALID FIELD IN CDB. Option 3 (SPC-5) takes whichever applies.
  if (options == 1 && with_sa) return invalid_field_in_cdb(3);
  if (options == 2 && !with_sa) return invalid_field_in_cdb(3);
  if (options != 3 && !with_sa && service_action != 0) return invalid_field_in_cdb(4);
  const command_info* c = (with_sa && service_action > 0x1f)
                              ? nullptr
                              : find_command(opcode, static_cast<std::uint8_t>(service_action));
  w.u8(0);
  if (c == nullptr) {
    w.u8(0x01).u16(0);  // SUPPORT 001b: not supported
  } else {
    w.u8(static_cast<std::uint8_t>((rctd ? 0x80 : 0) | 0x03)).u16(c->cdb_length);  // SUPPORT 011b
    for (std::size_t i = 0; i < c->cdb_length; ++i) w.u8(c->usage[i]);
    if (rctd) timeouts(w);
  }
  return truncated(w.take(), alloc);
}

task_result report_supported_tmfs(byte_span cdb) {
  // SPC-4 §6.36: ABORT TASK, ABORT TASK SET, LOGICAL UNIT RESET, TARGET RESET (warm).
  std::uint32_t alloc = allocation_length(cdb);
  if (alloc < 4) return invalid_field_in_cdb(6);
  byte_writer w(4);
  w.u8(0xca).u8(0x00).u8(0).u8(0);  // ATS | ATSS | LURS | TRS (table 312)
  return truncated(w.take(), alloc);
}

task_result report_target_port_groups(byte_span cdb) {
  // SPC-4 §6.37 (MAINTENANCE IN, service action 0Ah). One target port group holding the one
  // relative target port, always active/optimized: implicit asymmetric access (TPGS 01b) with
  // nothing asymmetric about it, which is what Windows' MPIO and Linux's ALUA handler expect
  // from a single-path target. PARAMETER DATA FORMAT 000b (length only) or 001b (extended).
  std::uint8_t format = at(cdb, 1) >> 5;
  if (format > 1) return invalid_field_in_cdb(1, 7);
  std::uint32_t alloc = allocation_length(cdb);
  byte_writer w;
  w.u32(0);  // RETURN DATA LENGTH
  if (format == 1) {
    w.u8(0x10);  // FORMAT TYPE 001b
    w.u8(0);     // IMPLICIT TRANSITION TIME: none happens
    w.u16(0);
  }
  // Target port group descriptor (§6.37, table 290).
  w.u8(0x80);  // PREF 1, ASYMMETRIC ACCESS STATE 0h (active/optimized)
  w.u8(0x01);  // T_SUP O_SUP LBD_SUP U_SUP S_SUP AN_SUP 0, AO_SUP 1
  w.u16(target_port_group);
  w.u8(0);
  w.u8(0x00);                          // STATUS CODE: no status available
  w.u8(0);                             // vendor specific
  w.u8(1);                             // TARGET PORT COUNT
  w.u16(0).u16(relative_target_port);  // target port descriptor
  w.put_u32_at(0, static_cast<std::uint32_t>(w.size() - 4));
  return truncated(w.take(), alloc);
}

task_result request_sense(byte_span cdb, const sense_data* pending) {
  // SPC-4 §6.39. Descriptor format (DESC = 1) is not supported.
  if (at(cdb, 1) & 0x01) return invalid_field_in_cdb(1, 0);
  bytes data = pending != nullptr ? encode_fixed_sense(*pending) : encode_fixed_sense(sense_data{});
  return truncated(std::move(data), allocation_length(cdb));
}

}  // namespace diskless::scsi
