// meros-test schema and meros-test init: the JSON Schema for editors, and a
// new scenario that validates and passes as it is.
#include <fstream>
#include <iostream>

#include "cli/commands.h"
#include "manifest/schema.h"
#include "util/exit_codes.h"

namespace meros {
namespace {

// Two busybox VMs on one host-access bridge: one command, one reach check
// and a small matrix, with both an allowed and a dropped connection, so a
// new user sees every kind of step pass on the built-in fixtures.
constexpr const char* kScenarioTemplate = R"(# A meros-test scenario: two VMs on one bridge, a command and reachability
# checks. `meros-test validate DIR` checks it, `meros-test DIR` runs it.
# Every field: docs/manifest.md; for editors: `meros-test schema`.
name: @NAME@
description: Two VMs on one bridge behind the host's policy
tags: [new]
timeout: 10m

bridges:
  lan:
    subnet: 10.0.10.0/24
    policy_type: host-access   # the lan's VMs may reach the host on allowed_ports
    allowed_ports: [80]

virtual_machines:
  client:
    networks: [{bridge: lan, ip_addr: 10.0.10.10}]
  server:
    networks: [{bridge: lan, ip_addr: 10.0.10.20}]

tests:
  - name: server runs Linux
    vm: server
    run: uname -s
    expect: {stdout: Linux}
  - name: client reaches server over http
    reach: {from: client, to: server, port: 80, expect: allow}
  - name: lan policy
    matrix:                               # [from, to, port/proto, expect]
      - [client, server, 22/tcp, allow]   # one bridge is one switch
      - [client, host, 80/tcp, allow]     # in allowed_ports
      - [client, host, 22/tcp, drop]      # not in allowed_ports: dropped silently
)";

// The directory's name as a scenario name: [A-Za-z0-9][A-Za-z0-9._-]*, at
// most 64 characters; anything else becomes '-'.
std::string scenario_name_for(const fs::path& dir) {
  std::string base = fs::absolute(dir).lexically_normal().filename().string();
  if (base.empty()) base = fs::absolute(dir).lexically_normal().parent_path().filename().string();
  std::string name;
  for (char ch : base) name += std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '-' ? ch : '-';
  while (!name.empty() && !std::isalnum(static_cast<unsigned char>(name.front()))) name.erase(0, 1);
  if (name.size() > 64) name.resize(64);
  return name.empty() ? "new-scenario" : name;
}

}  // namespace

int command_schema(const Options& options) {
  if (!options.arguments.empty()) {
    std::cerr << "meros-test schema: takes no arguments (it prints the schema on stdout)\n";
    return exit_code::usage;
  }
  std::cout << manifest_json_schema().dump(2) << "\n";
  return exit_code::passed;
}

int command_init(const Options& options) {
  if (options.arguments.size() != 1) {
    std::cerr << "meros-test init: give one directory for the new scenario, e.g. meros-test init scenarios/my-test\n";
    return exit_code::usage;
  }
  fs::path dir = options.arguments[0];
  fs::path file = dir / "scenario.yml";
  std::error_code ec;
  if (fs::exists(file, ec)) {
    std::cerr << "meros-test init: " << file.string() << " exists already; nothing was written\n";
    return exit_code::usage;
  }
  fs::create_directories(dir, ec);
  if (ec) {
    std::cerr << "meros-test init: cannot create " << dir.string() << ": " << ec.message() << "\n";
    return exit_code::environment;
  }
  std::string text = kScenarioTemplate;
  text.replace(text.find("@NAME@"), 6, scenario_name_for(dir));
  std::ofstream out(file, std::ios::out | std::ios::trunc);
  out << text;
  out.close();
  if (!out) {
    std::cerr << "meros-test init: cannot write " << file.string() << "\n";
    return exit_code::environment;
  }
  std::cout << "wrote " << file.string() << "\n  meros-test validate " << dir.string() << "\n  meros-test " << dir.string() << "\n";
  return exit_code::passed;
}

}  // namespace meros
