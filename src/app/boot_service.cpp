#include "app/boot_service.hpp"

namespace diskless::app {
namespace {

class boot_service final : public svc::service {
 public:
  explicit boot_service(std::shared_ptr<boot::catalog> catalog) : catalog_(std::move(catalog)) {}
  std::string_view name() const override { return "boot"; }
  result<void> start() override { return {}; }
  void stop() override {}
  void apply(const inventory::inventory_ptr& inv) override { catalog_->apply(inv); }

 private:
  std::shared_ptr<boot::catalog> catalog_;
};

}  // namespace

std::unique_ptr<svc::service> make_boot_service(std::shared_ptr<boot::catalog> catalog) {
  return std::make_unique<boot_service>(std::move(catalog));
}

}  // namespace diskless::app
