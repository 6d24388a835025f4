#pragma once
// Raw disk images: a regular file or a block device, used as-is (byte n of the disk is byte n of
// the file).
#include <filesystem>
#include <memory>

#include "storage/block_device.hpp"
#include "util/result.hpp"

namespace diskless::storage {

// Opens path once (O_CLOEXEC; O_RDONLY when read_only, else O_RDWR). The size is taken at open
// time (st_size for files, BLKGETSIZE64 for block devices). Errors carry the path and strerror.
//
// I/O: pread/pwrite (retrying EINTR and short transfers); FUA writes use pwritev2(RWF_DSYNC),
// falling back to pwrite + fdatasync where the kernel lacks it; flush() is fdatasync; discard()
// punches a hole (fallocate PUNCH_HOLE|KEEP_SIZE, also on block devices) and falls back to
// writing zeros where the file system cannot.
result<std::shared_ptr<block_device>> open_raw(const std::filesystem::path& path, bool read_only);

}  // namespace diskless::storage
