// librbd-backed devices (rbd_device.hpp). The C API only (librados.h, librbd.h): one rados_t per
// cluster connection, one rados_ioctx_t per pool, one rbd_image_t per open image.
#include "storage/rbd_device.hpp"

#include <rados/librados.h>
#include <rbd/librbd.h>

#include <cstring>
#include <map>
#include <mutex>
#include <thread>

namespace diskless::storage {

namespace {

std::error_code errno_code(long negative) {
  return {static_cast<int>(-negative), std::generic_category()};
}

std::string why(int negative) {
  return std::strerror(-negative);
}

}  // namespace

class rbd_cluster {
 public:
  explicit rbd_cluster(rados_t r) : rados_(r) {}
  ~rbd_cluster() {
    for (auto& [name, io] : pools_) rados_ioctx_destroy(io);
    rados_shutdown(rados_);
  }
  rbd_cluster(const rbd_cluster&) = delete;
  rbd_cluster& operator=(const rbd_cluster&) = delete;

  // The pool's I/O context, created once (thread-safe; librados contexts are).
  result<rados_ioctx_t> pool(const std::string& name) {
    std::lock_guard lock(mutex_);
    if (auto it = pools_.find(name); it != pools_.end()) return it->second;
    rados_ioctx_t io;
    if (int r = rados_ioctx_create(rados_, name.c_str(), &io); r < 0)
      return error{"pool " + name + ": " + why(r)};
    pools_.emplace(name, io);
    return io;
  }

 private:
  rados_t rados_;
  std::mutex mutex_;
  std::map<std::string, rados_ioctx_t> pools_;
};

namespace {

// One aio request: submitted by `submit(completion)`, waited for on this (pool) thread.
// Returns librbd's return value (bytes for reads, 0 or -errno).
template <typename Submit>
long run_aio(Submit submit) {
  rbd_completion_t c;
  if (int r = rbd_aio_create_completion(nullptr, nullptr, &c); r < 0) return r;
  if (int r = submit(c); r < 0) {
    rbd_aio_release(c);
    return r;
  }
  rbd_aio_wait_for_complete(c);
  long v = static_cast<long>(rbd_aio_get_return_value(c));
  rbd_aio_release(c);
  return v;
}

class rbd_device final : public block_device {
 public:
  rbd_device(std::shared_ptr<rbd_cluster> c, rbd_image_t img, std::uint64_t size, bool ro)
      : cluster_(std::move(c)), img_(img), size_(size), read_only_(ro) {}
  ~rbd_device() override {
    if (!read_only_) run_aio([&](rbd_completion_t c) { return rbd_aio_flush(img_, c); });
    rbd_close(img_);
  }

  std::uint64_t size() const override { return size_; }
  bool read_only() const override { return read_only_; }

  std::error_code read(std::uint64_t offset, std::span<std::byte> out) override {
    long r = run_aio([&](rbd_completion_t c) {
      return rbd_aio_read(img_, offset, out.size(),
                          static_cast<char*>(static_cast<void*>(out.data())), c);
    });
    if (r < 0) return errno_code(r);
    if (static_cast<std::size_t>(r) != out.size()) return std::make_error_code(std::errc::io_error);
    return {};
  }

  std::error_code write(std::uint64_t offset, std::span<const std::byte> in, bool fua) override {
    if (read_only_) return std::make_error_code(std::errc::read_only_file_system);
    long r = run_aio([&](rbd_completion_t c) {
      return rbd_aio_write2(img_, offset, in.size(),
                            static_cast<const char*>(static_cast<const void*>(in.data())), c,
                            fua ? LIBRADOS_OP_FLAG_FADVISE_FUA : 0);
    });
    if (r < 0) return errno_code(r);
    // librbd's write-back cache may still hold the data: FUA means durable before success.
    return fua ? flush() : std::error_code{};
  }

  std::error_code flush() override {
    if (read_only_) return {};
    long r = run_aio([&](rbd_completion_t c) { return rbd_aio_flush(img_, c); });
    return r < 0 ? errno_code(r) : std::error_code{};
  }

  std::error_code discard(std::uint64_t offset, std::uint64_t length) override {
    if (read_only_) return std::make_error_code(std::errc::read_only_file_system);
    // write_zeroes, not discard: rbd discard skips ranges smaller than its granularity
    // (rbd_skip_partial_discard), and the range must read as zeros afterwards (LBPRZ).
    long r = run_aio(
        [&](rbd_completion_t c) { return rbd_aio_write_zeroes(img_, offset, length, c, 0, 0); });
    return r < 0 ? errno_code(r) : std::error_code{};
  }

 private:
  std::shared_ptr<rbd_cluster> cluster_;  // the connection outlives its images
  rbd_image_t img_;
  const std::uint64_t size_;
  const bool read_only_;
};

}  // namespace

bool rbd_supported() {
  return true;
}

result<std::shared_ptr<rbd_cluster>> rbd_connect(const rbd_connect_options& o) {
  const std::string user = o.user.empty() ? "client.admin" : o.user;
  const std::string where =
      (o.conf.empty() ? std::string("default ceph.conf") : o.conf) + " as " + user;
  rados_t r;
  if (int e = rados_create2(&r, "ceph", user.c_str(), 0); e < 0)
    return error{"ceph " + where + ": " + why(e)};
  auto fail = [&](const std::string& what, int e) {
    rados_shutdown(r);
    return error{"ceph " + where + ": " + what + ": " + why(e)};
  };
  if (int e = rados_conf_read_file(r, o.conf.empty() ? nullptr : o.conf.c_str()); e < 0)
    return fail("reading the configuration", e);
  // Fail within the timeout when no monitor answers (a host's login waits on it), and never
  // log to the daemons' files from inside our process.
  const auto t = std::to_string(o.timeout.count());
  rados_conf_set(r, "client_mount_timeout", t.c_str());
  rados_conf_set(r, "rados_mon_op_timeout", t.c_str());
  rados_conf_set(r, "log_to_stderr", "false");
  if (int e = rados_connect(r); e < 0) return fail("connecting to the cluster", e);
  return std::make_shared<rbd_cluster>(r);
}

result<std::shared_ptr<block_device>> rbd_open(const std::shared_ptr<rbd_cluster>& c,
                                               const std::string& pool, const std::string& image,
                                               const std::string& snapshot, bool read_only) {
  auto io = c->pool(pool);
  if (!io) return error{io.error_message()};
  const std::string spec = pool + "/" + image + (snapshot.empty() ? "" : "@" + snapshot);
  rbd_image_t img;
  int e = snapshot.empty() && !read_only
              ? ::rbd_open(*io, image.c_str(), &img, nullptr)
              : rbd_open_read_only(*io, image.c_str(), &img,
                                   snapshot.empty() ? nullptr : snapshot.c_str());
  if (e < 0) return error{"rbd " + spec + ": " + why(e)};
  std::uint64_t size = 0;
  if (int s = rbd_get_size(img, &size); s < 0) {
    rbd_close(img);
    return error{"rbd " + spec + ": size: " + why(s)};
  }
  return std::shared_ptr<block_device>(
      std::make_shared<rbd_device>(c, img, size, read_only || !snapshot.empty()));
}

result<bool> rbd_exists(const std::shared_ptr<rbd_cluster>& c, const std::string& pool,
                        const std::string& image) {
  auto io = c->pool(pool);
  if (!io) return error{io.error_message()};
  rbd_image_t img;
  int e = rbd_open_read_only(*io, image.c_str(), &img, nullptr);
  if (e == -ENOENT) return false;
  if (e < 0) return error{"rbd " + pool + "/" + image + ": " + why(e)};
  rbd_close(img);
  return true;
}

result<void> rbd_clone(const std::shared_ptr<rbd_cluster>& c, const std::string& pool,
                       const std::string& parent, const std::string& snapshot,
                       const std::string& child) {
  auto io = c->pool(pool);
  if (!io) return error{io.error_message()};
  rbd_image_options_t opts;
  rbd_image_options_create(&opts);
  // Format 2 clones need no protected snapshot (format 1 on a fresh cluster: -EINVAL).
  rbd_image_options_set_uint64(opts, RBD_IMAGE_OPTION_CLONE_FORMAT, 2);
  int e = rbd_clone3(*io, parent.c_str(), snapshot.c_str(), *io, child.c_str(), opts);
  rbd_image_options_destroy(opts);
  if (e < 0)
    return error{"rbd clone " + pool + "/" + parent + "@" + snapshot + " to " + pool + "/" + child +
                 ": " + why(e)};
  return {};
}

result<void> rbd_remove(const std::shared_ptr<rbd_cluster>& c, const std::string& pool,
                        const std::string& image, std::chrono::seconds busy_wait) {
  auto io = c->pool(pool);
  if (!io) return error{io.error_message()};
  const auto deadline = std::chrono::steady_clock::now() + busy_wait;
  for (;;) {
    int e = ::rbd_remove(*io, image.c_str());
    if (e == 0 || e == -ENOENT) return {};
    // A watcher left by a crashed client expires after ~30 s (osd_client_watch_timeout).
    if (e != -EBUSY || std::chrono::steady_clock::now() >= deadline)
      return error{"rbd rm " + pool + "/" + image + ": " + why(e) +
                   (e == -EBUSY ? " (still watched by another client)" : "")};
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

result<std::string> rbd_parent(const std::shared_ptr<rbd_cluster>& c, const std::string& pool,
                               const std::string& image) {
  auto io = c->pool(pool);
  if (!io) return error{io.error_message()};
  rbd_image_t img;
  if (int e = rbd_open_read_only(*io, image.c_str(), &img, nullptr); e < 0)
    return error{"rbd " + pool + "/" + image + ": " + why(e)};
  rbd_linked_image_spec_t p{};
  rbd_snap_spec_t s{};
  int e = rbd_get_parent(img, &p, &s);
  rbd_close(img);
  if (e == -ENOENT) return std::string();
  if (e < 0) return error{"rbd " + pool + "/" + image + ": parent: " + why(e)};
  std::string out = std::string(p.pool_name) + "/" + p.image_name + "@" + s.name;
  rbd_linked_image_spec_cleanup(&p);
  rbd_snap_spec_cleanup(&s);
  return out;
}

}  // namespace diskless::storage
