// meros-guest: the agent inside every VM image. Probes other hosts and
// listens on ports so that probes have something to find. Output is one JSON
// line per result, so the harness can read it over SSH.
//
// Exit codes: 0 done (whatever was observed), 1 a probe or listener could
// not be set up, 2 bad usage.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "guest/exec.h"
#include "guest/format.h"
#include "guest/link.h"
#include "guest/listen.h"
#include "guest/probe.h"
#include "guest/sockets.h"
#include "guest/trace.h"
#include "guest/wayland.h"

#ifndef MEROS_VERSION
#define MEROS_VERSION "unknown"
#endif

namespace {

using namespace meros;
using namespace meros::guest;
using Args = std::vector<std::string_view>;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

constexpr char kUsage[] = R"(usage:
  meros-guest probe tcp|udp ADDR PORT [--timeout T]
  meros-guest probe icmp ADDR [--timeout T]
  meros-guest probe --batch            (stdin: PROTO ADDR PORT TIMEOUT_MS per line)
  meros-guest listen [--daemon] [--pidfile PATH] [--bind ADDR]... tcp|udp PORT... [tcp|udp PORT...]
  meros-guest exec [--timeout T] -- PROGRAM [ARG...]
  meros-guest link-wait IFNAME [--address IPV4] [--timeout T]
  meros-guest wayland --port PORT [-- APP [ARG...]]
  meros-guest trace start [--skip IFNAME]... [--limit BYTES]
  meros-guest trace stop
  meros-guest version
  meros-guest --help

ADDR is a numeric IPv4/IPv6 address. T is e.g. 1s, 1.5s, 500ms (default 1s).
probe prints one JSON line per probe:
  {"proto":"tcp","address":"10.0.0.2","port":80,"timeout_ms":1000,
   "observed":"open","elapsed_us":1234,"detail":"tcp handshake"}
observed is open, refused, unreachable or timeout. listen prints
{"listening":[{"proto":"tcp","port":80}],"pid":N} once bound, then serves
(TCP: accept and close; UDP: echo) until SIGTERM/SIGINT.
exec runs PROGRAM in a process group of its own with this stdin/stdout/
stderr and exits with its status (128+N for signal N); after T (default
none) it kills the whole group and exits 137.
link-wait returns once IFNAME has carrier, operstate up and (with
--address) that address, printing {"interface":..,"ready":true,"waited_ms":N};
after T (default 10s) it prints the state it saw with "ready":false, exit 1.
wayland runs APP (default: a login shell) under `waypipe server` with a
private XDG_RUNTIME_DIR and relays each connection waypipe makes to
127.0.0.1:PORT (where the harness's SSH session forwards to the host's
`waypipe client`); it exits with APP's status.
trace start records nftables trace events (NFNLGRP_NFTRACE) in a daemon and
loads table inet meros_trace, which traces every packet not on a --skip
interface; it prints {"tracing":true}. --limit caps the recorded bytes
(default 8 MiB). trace stop ends it, deletes the table and prints
{"events_base64":..,"events_bytes":N,"lost_bytes":N,"overruns":N,
 "ruleset":"<nft -a -s list ruleset>"}: the raw netlink messages.
exit: 0 done (whatever observed), 1 could not probe/listen, 2 bad usage.
)";

int usage_error(const std::string& message) {
  std::cerr << "meros-guest: " << message << "\n" << kUsage;
  return kExitUsage;
}

// --- probe ------------------------------------------------------------------

int print_results(const std::vector<ProbeRequest>& requests) {
  auto outcomes = probe_all(requests);
  int status = kExitOk;
  for (size_t i = 0; i < requests.size(); ++i) {
    std::cout << probe_json_line(requests[i], outcomes[i]) << "\n";
    if (!outcomes[i]) {
      std::cerr << "meros-guest: " << outcomes[i].error().message << "\n";
      status = kExitFailed;
    }
  }
  std::cout.flush();
  return status;
}

// Reads the whole batch first; any bad line rejects the batch unprobed.
int run_batch() {
  std::vector<ProbeRequest> requests;
  std::string line;
  for (int number = 1; std::getline(std::cin, line); ++number) {
    auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    auto request = parse_batch_line(line);
    if (!request) return usage_error("batch line " + std::to_string(number) + ": " + request.error().message);
    requests.push_back(std::move(*request));
  }
  return print_results(requests);
}

// Splits "--timeout X" / "--timeout=X" off the positional arguments.
Result<ProbeRequest> parse_probe_args(const Args& args) {
  Args positional;
  ProbeRequest request;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view value;
    if (args[i] == "--timeout" && i + 1 == args.size()) return make_error("--timeout needs a value");
    if (args[i] == "--timeout") value = args[++i];
    else if (args[i].starts_with("--timeout=")) value = args[i].substr(10);
    else if (args[i].starts_with("-")) return make_error("unknown option '" + std::string(args[i]) + "'");
    else { positional.push_back(args[i]); continue; }
    auto timeout = parse_timeout(value);
    if (!timeout) return timeout.error();
    request.timeout = *timeout;
  }
  if (positional.size() < 2) return make_error("probe needs PROTO and ADDR");
  auto proto = parse_proto(positional[0]);
  if (!proto) return proto.error();
  request.proto = *proto;
  request.address = std::string(positional[1]);
  bool icmp = *proto == Proto::icmp;
  if (positional.size() > 3 || (!icmp && positional.size() != 3)) return make_error("probe tcp|udp needs ADDR PORT");
  if (auto target = parse_endpoint(request.address, 0); !target) return target.error();
  if (positional.size() == 3) {
    auto port = parse_port(positional[2], icmp ? 0 : 1);
    if (!port) return port.error();
    request.port = *port;
  }
  return request;
}

int run_probe(const Args& args) {
  if (args.size() == 1 && args[0] == "--batch") return run_batch();
  auto request = parse_probe_args(args);
  if (!request) return usage_error(request.error().message);
  return print_results({*request});
}

// --- listen -----------------------------------------------------------------

struct ListenOptions {
  std::vector<ListenSpec> specs;
  bool daemon = false;
  std::string pidfile;
};

Result<ListenOptions> parse_listen_args(const Args& args) {
  ListenOptions options;
  std::vector<std::string> bind;
  std::optional<Proto> proto;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--daemon") { options.daemon = true; continue; }
    if (args[i] == "--pidfile" && i + 1 < args.size()) { options.pidfile = std::string(args[++i]); continue; }
    if (args[i] == "--bind" && i + 1 < args.size()) { bind.emplace_back(args[++i]); continue; }
    if (args[i].starts_with("-")) return make_error("unknown option '" + std::string(args[i]) + "'");
    if (args[i] == "tcp" || args[i] == "udp") { proto = *parse_proto(args[i]); continue; }
    if (!proto) return make_error("listen: '" + std::string(args[i]) + "' before tcp|udp");
    auto port = parse_port(args[i], 0);
    if (!port) return port.error();
    ListenSpec spec{*proto, *port};
    if (spec.port == 0 || std::find(options.specs.begin(), options.specs.end(), spec) == options.specs.end())
      options.specs.push_back(spec);
  }
  if (options.specs.empty()) return make_error("listen needs tcp|udp and at least one PORT");
  if (bind.empty()) return options;
  // --bind ADDR: every port on each given address instead of the wildcard,
  // so a port another server holds on some other address stays usable.
  std::vector<ListenSpec> specs;
  for (const auto& address : bind)
    for (ListenSpec spec : options.specs) {
      spec.address = address;
      specs.push_back(spec);
    }
  options.specs = specs;
  return options;
}

const ListenerSet* g_listeners = nullptr;

extern "C" void on_stop_signal(int) {
  if (g_listeners != nullptr) g_listeners->stop();
}

void install_signal_handlers(const ListenerSet& listeners) {
  g_listeners = &listeners;
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

bool write_pidfile(const std::string& path, pid_t pid) {
  if (path.empty()) return true;
  std::ofstream out(path, std::ios::trunc);
  out << pid << "\n";
  return static_cast<bool>(out.flush());
}

// Detaches from the session (e.g. the SSH command that started us).
// Returns in the child only; the parent reports the child and exits.
int daemonize(const ListenOptions& options, const ListenerSet& listeners) {
  std::cout.flush();
  pid_t child = ::fork();
  if (child < 0) { std::perror("meros-guest: fork"); return kExitFailed; }
  if (child > 0) {
    if (!write_pidfile(options.pidfile, child)) std::cerr << "meros-guest: cannot write " << options.pidfile << "\n";
    std::cout << listening_json_line(listeners.bound(), child) << std::endl;
    std::_Exit(kExitOk);
  }
  ::setsid();
  if (::chdir("/") != 0) {
    // Staying in the old directory is harmless.
  }
  int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int fd : {0, 1, 2}) ::dup2(null, fd);
  if (null > 2) ::close(null);
  return -1;
}

int run_listen(const Args& args) {
  auto options = parse_listen_args(args);
  if (!options) return usage_error(options.error().message);
  auto listeners = ListenerSet::open(options->specs);
  if (!listeners) { std::cerr << "meros-guest: " << listeners.error().message << "\n"; return kExitFailed; }
  install_signal_handlers(*listeners);
  if (options->daemon) {
    if (int status = daemonize(*options, *listeners); status >= 0) return status;
  } else {
    if (!write_pidfile(options->pidfile, ::getpid())) std::cerr << "meros-guest: cannot write " << options->pidfile << "\n";
    std::cout << listening_json_line(listeners->bound(), ::getpid()) << std::endl;
  }
  auto served = listeners->serve();
  if (!options->pidfile.empty()) ::unlink(options->pidfile.c_str());
  if (!served) { std::cerr << "meros-guest: " << served.error().message << "\n"; return kExitFailed; }
  return kExitOk;
}

}  // namespace

// --- exec -------------------------------------------------------------------

int run_exec(const Args& args) {
  std::chrono::milliseconds timeout = std::chrono::hours(24 * 30);
  size_t i = 0;
  for (; i < args.size() && args[i] != "--"; ++i) {
    std::string_view value;
    if (args[i] == "--timeout" && i + 1 < args.size()) value = args[++i];
    else if (args[i].starts_with("--timeout=")) value = args[i].substr(10);
    else return usage_error("exec: unknown option '" + std::string(args[i]) + "' (the command goes after --)");
    auto parsed = parse_exec_timeout(value);
    if (!parsed) return usage_error("exec: bad timeout '" + std::string(value) + "' (want e.g. 90s, 1500ms)");
    timeout = *parsed;
  }
  if (i + 1 >= args.size()) return usage_error("exec: give the command after --");
  std::vector<std::string> argv(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
  return exec_with_timeout(argv, timeout);
}

// --- wayland ----------------------------------------------------------------

int run_wayland_command(const Args& args) {
  auto options = parse_wayland_args(args);
  if (!options) return usage_error(options.error().message);
  return run_wayland(*options);
}

// --- trace ------------------------------------------------------------------

int run_trace_command(const Args& args) {
  auto options = parse_trace_args(args);
  if (!options) return usage_error(options.error().message);
  return run_trace(*options);
}

// --- link-wait --------------------------------------------------------------

int run_link_wait(const Args& args) {
  if (args.empty() || args[0].starts_with("-")) return usage_error("link-wait: give the interface name first");
  std::string ifname(args[0]), address;
  std::chrono::milliseconds timeout(10'000);
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--address" && i + 1 < args.size()) address = args[++i];
    else if (args[i] == "--timeout" && i + 1 < args.size()) {
      auto parsed = parse_exec_timeout(args[++i]);
      if (!parsed) return usage_error("link-wait: bad timeout '" + std::string(args[i]) + "' (want e.g. 10s, 1500ms)");
      timeout = *parsed;
    } else return usage_error("link-wait: unknown argument '" + std::string(args[i]) + "'");
  }
  auto started = std::chrono::steady_clock::now();
  LinkState state = wait_link_ready(ifname, address, timeout);
  auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
  nlohmann::json line = {{"interface", ifname}, {"ready", state.ready()}, {"waited_ms", waited}, {"state", state.describe(address)}};
  std::cout << line.dump() << std::endl;
  return state.ready() ? kExitOk : kExitFailed;
}

int main(int argc, char** argv) {
  Args args(argv + 1, argv + argc);
  if (args.empty()) return usage_error("no command");
  Args rest(args.begin() + 1, args.end());
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") { std::cout << kUsage; return kExitOk; }
  if (args[0] == "version" || args[0] == "--version") { std::cout << "meros-guest " MEROS_VERSION "\n"; return kExitOk; }
  if (args[0] == "probe") return run_probe(rest);
  if (args[0] == "listen") return run_listen(rest);
  if (args[0] == "exec") return run_exec(rest);
  if (args[0] == "link-wait") return run_link_wait(rest);
  if (args[0] == "wayland") return run_wayland_command(rest);
  if (args[0] == "trace") return run_trace_command(rest);
  return usage_error("unknown command '" + std::string(args[0]) + "'");
}
