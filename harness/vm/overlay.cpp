#include "vm/overlay.h"

#include <nlohmann/json.hpp>

namespace meros::vm {
namespace fs = std::filesystem;

Result<ImageInfo> image_info(ProcessRunner& runner, const fs::path& image) {
  ProcessSpec spec;
  // --force-share: running VMs hold the base open as their backing file.
  spec.argv = {"qemu-img", "info", "--force-share", "--output=json", image.string()};
  spec.timeout = std::chrono::seconds(30);
  auto run = runner.run(spec);
  if (!run) return run.error();
  if (!run->ok()) return make_error(describe_command(spec.argv) + " failed: " + tail_lines(run->output, 5));
  // stdout and stderr arrive interleaved; the JSON object is the stdout.
  std::size_t start = run->output.find('{');
  auto info = nlohmann::json::parse(start == std::string::npos ? "" : run->output.substr(start), nullptr, false);
  if (info.is_discarded() || !info.contains("virtual-size"))
    return make_error("qemu-img info " + image.string() + ": unexpected output: " + tail_lines(run->output, 5));
  return ImageInfo{info.value("format", "raw"), info["virtual-size"].get<std::uint64_t>()};
}

Result<Overlay> Overlay::create(ProcessRunner& runner, const fs::path& base, const fs::path& path,
                                std::uint64_t size_bytes) {
  std::error_code ec;
  fs::path absolute_base = fs::absolute(base, ec);
  if (!fs::exists(absolute_base, ec)) return make_error("base image " + base.string() + " does not exist");
  auto info = image_info(runner, absolute_base);
  if (!info) return info.error();
  std::uint64_t size = std::max(size_bytes, info->virtual_size);
  ProcessSpec spec;
  spec.argv = {"qemu-img", "create", "-q", "-f", "qcow2", "-b", absolute_base.string(), "-F", info->format,
               path.string()};
  if (size > info->virtual_size) spec.argv.push_back(std::to_string(size));
  spec.timeout = std::chrono::seconds(30);
  auto run = runner.run(spec);
  if (!run) return run.error();
  if (!run->ok()) {
    fs::remove(path, ec);
    return make_error(describe_command(spec.argv) + " failed: " + tail_lines(run->output, 5));
  }
  return Overlay(path, size, size > info->virtual_size);
}

Overlay::Overlay(Overlay&& other) noexcept
    : path_(std::exchange(other.path_, fs::path())), virtual_size_(other.virtual_size_), grown_(other.grown_) {}

Overlay& Overlay::operator=(Overlay&& other) noexcept {
  if (this != &other) {
    (void)remove();
    path_ = std::exchange(other.path_, fs::path());
    virtual_size_ = other.virtual_size_;
    grown_ = other.grown_;
  }
  return *this;
}

Overlay::~Overlay() { (void)remove(); }

Status Overlay::remove() {
  if (path_.empty()) return {};
  std::error_code ec;
  fs::remove(path_, ec);
  fs::path removed = std::exchange(path_, fs::path());
  if (ec) return make_error("cannot remove overlay " + removed.string() + ": " + ec.message());
  return {};
}

}  // namespace meros::vm
