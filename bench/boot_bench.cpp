// Boot-to-ready times through the Machine API: N VMs started together on
// overlays of one base image, each waited for until its console shows
// MEROS-READY (no network, so no SSH check). Prints, per VM count, the
// median over the runs of the time to the first console line and to all
// VMs ready. bench/boot.sh runs it beside a plain shell baseline.
//
//   bench_boot --kernel bzImage --image base.qcow2 [--vms 1,3] [--runs 5]
//              [--machine microvm] [--accel tcg|kvm|auto] [--dir DIR]
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "vm/accel.h"
#include "vm/machine.h"
#include "vm/overlay.h"

namespace fs = std::filesystem;
using namespace meros;
using namespace meros::vm;
using SteadyTime = std::chrono::steady_clock;

namespace {

struct Options {
  fs::path kernel, image, dir = "/tmp/meros-bench-boot";
  std::vector<int> vm_counts = {1, 3};
  int runs = 5;
  std::string machine = "microvm";
  std::string accel = "tcg";
};

double ms(SteadyTime::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  std::size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

struct RunTimes {
  double first_line = 0;  // the slowest VM's first console line
  double all_ready = 0;
};

// One run: n VMs started together, waited for, shut down.
Result<RunTimes> run_once(const Options& options, Accel accel, int n) {
  SystemProcessRunner runner;
  std::vector<Overlay> overlays;
  std::vector<Machine> machines;
  auto start = SteadyTime::now();
  for (int i = 0; i < n; ++i) {
    MachineSpec spec;
    spec.name = "bench" + std::to_string(i);
    spec.machine = options.machine;
    spec.accel = accel;
    spec.memory_mib = 128;
    spec.kernel = options.kernel;
    spec.disk = options.dir / (spec.name + ".qcow2");
    spec.console_log = options.dir / (spec.name + ".console.log");
    spec.qmp_socket = options.dir / (spec.name + ".qmp");
    auto overlay = Overlay::create(runner, options.image, spec.disk);
    if (!overlay) return overlay.error();
    overlays.push_back(std::move(*overlay));
    auto machine = Machine::start(spec);
    if (!machine) return machine.error();
    machines.push_back(std::move(*machine));
  }
  // First console bytes, watched beside the readiness waits.
  std::vector<double> first_line(n, -1);
  std::atomic<bool> done = false;
  std::thread watcher([&] {
    while (!done) {
      for (int i = 0; i < n; ++i) {
        std::error_code ec;
        if (first_line[i] < 0 && fs::file_size(machines[i].spec().console_log, ec) > 0 && !ec)
          first_line[i] = ms(SteadyTime::now() - start);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  Status failed;
  for (Machine& machine : machines)
    if (auto ready = machine.wait_ready(nullptr, std::chrono::seconds(120)); !ready && failed) failed = ready.error();
  RunTimes times{0, ms(SteadyTime::now() - start)};
  done = true;
  watcher.join();
  for (Machine& machine : machines) (void)machine.shutdown(Duration(0));
  if (!failed) return failed.error();
  times.first_line = *std::max_element(first_line.begin(), first_line.end());
  return times;
}

bool parse(int argc, char** argv, Options& options) {
  std::map<std::string, std::string> args;
  for (int i = 1; i + 1 < argc; i += 2) args[argv[i]] = argv[i + 1];
  if (argc % 2 == 0 || !args.count("--kernel") || !args.count("--image")) return false;
  options.kernel = args["--kernel"];
  options.image = args["--image"];
  if (args.count("--dir")) options.dir = args["--dir"];
  if (args.count("--runs")) options.runs = std::stoi(args["--runs"]);
  if (args.count("--machine")) options.machine = args["--machine"];
  if (args.count("--accel")) options.accel = args["--accel"];
  if (args.count("--vms")) {
    options.vm_counts.clear();
    std::istringstream list(args["--vms"]);
    for (std::string item; std::getline(list, item, ',');) options.vm_counts.push_back(std::stoi(item));
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!parse(argc, argv, options)) {
    std::cerr << "usage: bench_boot --kernel BZIMAGE --image BASE [--vms 1,3] [--runs 5] [--machine microvm]"
                 " [--accel tcg|kvm|auto] [--dir DIR]\n";
    return 2;
  }
  fs::create_directories(options.dir);
  auto request = parse_accel_request(options.accel);
  if (!request) {
    std::cerr << request.error().message << "\n";
    return 2;
  }
  auto accel = detect_accel(*request);
  if (!accel) {
    std::cerr << accel.error().message << "\n";
    return 3;
  }
  std::printf("accel: %s (%s)\n", std::string(to_string(accel->accel)).c_str(), accel->reason.c_str());
  for (int n : options.vm_counts) {
    std::vector<double> first, ready;
    for (int run = 0; run < options.runs; ++run) {
      auto times = run_once(options, accel->accel, n);
      if (!times) {
        std::cerr << times.error().message << "\n";
        return 1;
      }
      first.push_back(times->first_line);
      ready.push_back(times->all_ready);
    }
    std::printf("machine-api %d VM%s: first console line %6.0f ms, all ready %6.0f ms (median of %d)\n", n,
                n == 1 ? " " : "s", median(first), median(ready), options.runs);
  }
  return 0;
}
