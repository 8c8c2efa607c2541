#include "test_scenarios.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "manifest/loading.h"

namespace meros::test {

Scenario parse_text(const std::string& yaml) {
  fs::path dir = fs::temp_directory_path() / ("meros-runner-test-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "files");
  std::ofstream(dir / "files" / "app.conf") << "x\n";
  std::ofstream(dir / "scenario.yml") << yaml;
  Diagnostics diagnostics;
  auto scenarios = load_scenarios({dir.string()}, diagnostics);
  for (const auto& d : diagnostics.sorted()) ADD_FAILURE() << d.str();
  if (scenarios.size() != 1) {
    ADD_FAILURE() << "expected one scenario";
    return Scenario{};
  }
  return scenarios[0];
}

ScenarioFixtures fake_fixtures(const Scenario& scenario) {
  ScenarioFixtures fixtures;
  fixtures.client_key = "/cache/keys/id_ed25519";
  for (const auto& vm : scenario.vms) {
    fixtures.kernels[kernel_ref(vm)] = ResolvedKernel{"/cache/kernel/" + vm.kernel + "/bzImage", std::nullopt};
    ImageFacts facts;
    facts.host_key = "ssh-ed25519 AAAA" + vm.image;
    fixtures.images[image_ref(scenario, vm)] = ResolvedImage{"/cache/image/" + vm.image + "/rootfs.qcow2", facts};
  }
  return fixtures;
}

RunSettings test_settings() {
  RunSettings settings;
  settings.run_id = "r1";
  settings.artifacts_root = "/reports/r1";
  settings.work_root = "/cache/runs/r1";
  settings.socket_root = "/run/meros-test";
  settings.timeouts.multiplier = 1;
  return settings;
}

std::unique_ptr<Planned> plan_text(const std::string& yaml) {
  auto planned = std::make_unique<Planned>();
  planned->selected.scenario = parse_text(yaml);
  planned->selected.run_test.assign(planned->selected.scenario.tests.size(), true);
  auto topology = net::plan_topology(planned->selected.scenario, "r1");
  if (!topology) {
    ADD_FAILURE() << topology.error().message;
    return planned;
  }
  auto plan = plan_scenario(planned->selected, fake_fixtures(planned->selected.scenario), std::move(*topology), test_settings());
  if (!plan) ADD_FAILURE() << plan.error().message;
  else planned->plan = std::move(*plan);
  return planned;
}

}  // namespace meros::test
