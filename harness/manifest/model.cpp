#include "manifest/model.h"

namespace meros {

std::string_view to_string(Expect e) {
  switch (e) {
    case Expect::allow: return "allow";
    case Expect::reject: return "reject";
    case Expect::drop: return "drop";
    case Expect::deny: return "deny";
  }
  return "?";
}

std::string_view to_string(Arch arch) { return arch == Arch::aarch64 ? "aarch64" : "x86_64"; }

KernelRecipe KernelRecipe::for_arch(Arch target) const {
  KernelRecipe copy = *this;
  copy.arch = target;
  if (auto it = arch_fragments.find(target); it != arch_fragments.end()) copy.fragments = it->second;
  return copy;
}

std::string_view to_string(StepKind k) {
  switch (k) {
    case StepKind::run: return "run";
    case StepKind::reach: return "reach";
    case StepKind::matrix: return "matrix";
    case StepKind::push: return "push";
    case StepKind::pull: return "pull";
    case StepKind::link: return "link";
  }
  return "?";
}

const Bridge* Scenario::find_bridge(std::string_view n) const {
  for (const auto& b : bridges)
    if (b.name == n) return &b;
  return nullptr;
}

const VirtualMachine* Scenario::find_vm(std::string_view n) const {
  for (const auto& vm : vms)
    if (vm.name == n) return &vm;
  return nullptr;
}

std::string_view image_kind_name(ImageKind kind) {
  switch (kind) {
    case ImageKind::busybox: return "busybox";
    case ImageKind::debian: return "debian";
    case ImageKind::tarball: return "tarball";
    case ImageKind::use: return "use";
  }
  return "unknown";
}

std::string_view capture_mode_name(CaptureMode mode) {
  switch (mode) {
    case CaptureMode::off: return "off";
    case CaptureMode::on_failure: return "on-failure";
    case CaptureMode::always: return "always";
  }
  return "unknown";
}

std::optional<CaptureMode> parse_capture_mode(std::string_view text) {
  for (CaptureMode mode : {CaptureMode::off, CaptureMode::on_failure, CaptureMode::always})
    if (text == capture_mode_name(mode)) return mode;
  return std::nullopt;
}

namespace {
bool bootable_only_by_boot_mode(const Scenario& scenario, const VirtualMachine& vm) {
  auto it = scenario.images.find(vm.image);
  return vm.boot == BootMode::disk && it != scenario.images.end() && !it->second.bootable;
}
}  // namespace

ImageRecipe image_recipe_for(const Scenario& scenario, const VirtualMachine& vm) {
  ImageRecipe recipe = scenario.images.at(vm.image).for_arch(vm.arch);
  if (vm.boot == BootMode::disk) recipe.bootable = true;
  return recipe;
}

std::string image_fixture_name(const Scenario& scenario, const VirtualMachine& vm) {
  return bootable_only_by_boot_mode(scenario, vm) ? vm.image + " (bootable)" : vm.image;
}

}  // namespace meros
