// A Testbed that touches nothing: commands, transfers and probes answer
// what the test scripted, every call is recorded, and time is a fake clock
// that moves only when an answer says how long it took.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "runner/testbed.h"

namespace meros::test {

// Thread-safe (the engine probes from several sources at once).
class FakeClock : public vm::Clock {
 public:
  time_point now() const override { return time_point(std::chrono::nanoseconds(ns_.load())); }
  void sleep_for(Duration d) override { advance(d); }
  void advance(std::chrono::nanoseconds d) { ns_ += d.count(); }

 private:
  std::atomic<long long> ns_{1'000'000'000};
};

struct RunCall {
  std::string vm, command;
  Duration timeout;
};

struct ProbeCall {
  std::string source;
  std::vector<guest::ProbeRequest> requests;
  Duration timeout;  // the whole batch's
};

struct ListenCall {
  std::string target;
  std::vector<PortProto> ports;
  Duration timeout;
};

class FakeTestbed : public Testbed {
 public:
  // Scripts; the defaults succeed at once.
  std::function<Result<CommandResult>(const RunCall&)> on_run = [](const RunCall&) -> Result<CommandResult> {
    CommandResult r;
    r.exit_code = 0;
    return r;
  };
  std::function<Result<guest::ProbeOutcome>(const std::string& source, const guest::ProbeRequest&)> on_probe =
      [](const std::string&, const guest::ProbeRequest&) -> Result<guest::ProbeOutcome> {
    return guest::ProbeOutcome{guest::Observed::open, std::chrono::microseconds(1000), "tcp syn-ack"};
  };
  std::function<Transfer(const std::string& what)> on_transfer = [](const std::string& what) {
    return Transfer{what, false};
  };
  std::function<Status(const ListenCall&)> on_listen = [](const ListenCall&) { return Status{}; };
  std::function<Status()> on_link = [] { return Status{}; };
  std::map<std::string, bool> stopped;  // VMs whose QEMU is gone

  std::vector<RunCall> runs;
  std::vector<ProbeCall> probes;
  std::vector<ListenCall> listens;
  std::vector<std::string> notes;
  FakeClock fake_clock;

  Result<CommandResult> run(const std::string& vm, const std::string& command, Duration timeout, const std::string&) override {
    RunCall call{vm, command, timeout};
    {
      std::lock_guard<std::mutex> lock(mutex_);
      runs.push_back(call);
    }
    return on_run(call);
  }
  Transfer push(const std::string& vm, const std::filesystem::path& local, const std::string& guest_path, Duration,
                std::uint64_t max_bytes) override {
    last_max_bytes = max_bytes;
    return on_transfer("push " + local.string() + " " + vm + ":" + guest_path);
  }
  Transfer pull(const std::string&, const std::string& guest_path, const std::filesystem::path& local_root,
                const std::filesystem::path& relative_dir, Duration, std::uint64_t max_bytes) override {
    last_max_bytes = max_bytes;
    return on_transfer((local_root / relative_dir / std::filesystem::path(guest_path).filename()).string());
  }
  std::uint64_t last_max_bytes = 0;  // of the last push or pull
  std::vector<Result<guest::ProbeOutcome>> probe(const std::string& source, const std::vector<guest::ProbeRequest>& requests,
                                                 Duration timeout) override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      probes.push_back({source, requests, timeout});
    }
    std::vector<Result<guest::ProbeOutcome>> out;
    for (const auto& request : requests) out.push_back(on_probe(source, request));
    return out;
  }
  Status listen(const std::string& target, const std::vector<PortProto>& ports, Duration timeout) override {
    ListenCall call{target, ports, timeout};
    listens.push_back(call);
    return on_listen(call);
  }
  Status set_link(const std::string&, int, bool, Duration) override { return on_link(); }
  Result<std::vector<net::RuleCounter>> read_counters() override { return counters; }
  bool is_running(const std::string& vm) override { return !stopped[vm]; }
  std::string console_tail(const std::string& vm, std::size_t) override { return "console of " + vm; }
  void note(const std::string&, const std::string& text) override { notes.push_back(text); }
  vm::Clock& clock() override { return fake_clock; }

  std::vector<net::RuleCounter> counters;

 private:
  std::mutex mutex_;
};

}  // namespace meros::test
