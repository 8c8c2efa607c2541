// The meros-guest binary itself: JSON line shape, --batch order, exit codes,
// listen and listen --daemon.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "guest/exec.h"
#include "guest/format.h"
#include "test_support.h"

namespace meros::guest {
namespace {

using namespace std::chrono_literals;
using test::run_process;

const std::string kBin = MEROS_GUEST_BIN;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = test::BackgroundListeners::start({{Proto::tcp, 0}, {Proto::udp, 0}});
    ASSERT_TRUE(started.ok()) << started.error().message;
    listeners_ = std::move(*started);
  }
  std::string tcp_port() const { return std::to_string(listeners_->port(0)); }
  std::string udp_port() const { return std::to_string(listeners_->port(1)); }

  std::unique_ptr<test::BackgroundListeners> listeners_;
};

TEST_F(CliTest, ProbePrintsOneJsonLine) {
  auto result = run_process({kBin, "probe", "tcp", "127.0.0.1", tcp_port(), "--timeout", "2s"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  auto lines = lines_of(result.out);
  ASSERT_EQ(lines.size(), 1u) << result.out;
  auto json = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(json["proto"], "tcp");
  EXPECT_EQ(json["address"], "127.0.0.1");
  EXPECT_EQ(json["port"], listeners_->port(0));
  EXPECT_EQ(json["timeout_ms"], 2000);
  EXPECT_EQ(json["observed"], "open");
  EXPECT_TRUE(json["elapsed_us"].is_number_integer());
  EXPECT_EQ(json["detail"], "tcp handshake");
}

TEST_F(CliTest, RefusalStillExitsZero) {
  auto result = run_process({kBin, "probe", "tcp", "127.0.0.1", std::to_string(test::closed_port(Proto::tcp))});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  auto parsed = parse_probe_json_line(lines_of(result.out).at(0));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->outcome->observed, Observed::refused);
  EXPECT_EQ(parsed->outcome->detail, "tcp rst");
}

TEST_F(CliTest, UdpAndTimeoutOption) {
  auto result = run_process({kBin, "probe", "udp", "127.0.0.1", udp_port(), "--timeout=500ms"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  auto parsed = parse_probe_json_line(lines_of(result.out).at(0));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->outcome->observed, Observed::open);
  EXPECT_EQ(parsed->request.timeout, 500ms);
}

TEST_F(CliTest, BatchAnswersInInputOrder) {
  auto silent = test::silent_udp(AF_INET);
  std::string input = "# slowest first\n"
                      "udp 127.0.0.1 " + std::to_string(silent.port) + " 400\n"
                      "\n"
                      "tcp 127.0.0.1 " + tcp_port() + " 1000\n"
                      "tcp 127.0.0.1 " + std::to_string(test::closed_port(Proto::tcp)) + " 1000\n"
                      "udp 127.0.0.1 " + udp_port() + " 1000\n";
  auto start = std::chrono::steady_clock::now();
  auto result = run_process({kBin, "probe", "--batch"}, input);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(result.exit_code, 0) << result.err;
  auto lines = lines_of(result.out);
  ASSERT_EQ(lines.size(), 4u) << result.out;
  const char* expected[] = {"timeout", "open", "refused", "open"};
  const char* protos[] = {"udp", "tcp", "tcp", "udp"};
  for (size_t i = 0; i < 4; ++i) {
    auto json = nlohmann::json::parse(lines[i]);
    EXPECT_EQ(json["observed"], expected[i]) << lines[i];
    EXPECT_EQ(json["proto"], protos[i]) << lines[i];
  }
  EXPECT_LT(took, 2s);
}

TEST(Cli, BadUsageExitsTwo) {
  std::vector<std::vector<std::string>> bad = {
      {},
      {"frobnicate"},
      {"probe"},
      {"probe", "tcp"},
      {"probe", "tcp", "127.0.0.1"},
      {"probe", "tcp", "localhost", "80"},
      {"probe", "tcp", "127.0.0.1", "http"},
      {"probe", "tcp", "127.0.0.1", "80", "--timeout", "soon"},
      {"probe", "tcp", "127.0.0.1", "80", "--verbose"},
      {"probe", "sctp", "127.0.0.1", "80"},
      {"listen"},
      {"listen", "80"},
      {"listen", "tcp"},
      {"listen", "icmp", "1"},
  };
  for (auto args : bad) {
    args.insert(args.begin(), kBin);
    auto result = run_process(args);
    EXPECT_EQ(result.exit_code, 2) << testing::PrintToString(args) << result.out;
    EXPECT_TRUE(result.out.empty()) << result.out;
    EXPECT_NE(result.err.find("usage"), std::string::npos);
  }
}

TEST(Cli, BadBatchLineExitsTwoWithoutProbing) {
  auto result = run_process({kBin, "probe", "--batch"}, "tcp 127.0.0.1 80 100\ntcp 127.0.0.1 80\n");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_TRUE(result.out.empty());
  EXPECT_NE(result.err.find("batch line 2"), std::string::npos) << result.err;
}

TEST(Cli, HelpAndVersion) {
  auto help = run_process({kBin, "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("probe --batch"), std::string::npos);
  auto version = run_process({kBin, "version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.out.rfind("meros-guest ", 0), 0u) << version.out;
}

// Waits for a process we started (not our child) to disappear.
bool gone_within(pid_t pid, const std::string& pidfile, std::chrono::milliseconds limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    bool running = ::kill(pid, 0) == 0 && std::ifstream(pidfile).good();
    if (!running) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

TEST(Cli, ListenDaemonReturnsAtOnceAndServes) {
  std::string pidfile = "/tmp/meros-guest-test-" + std::to_string(::getpid()) + ".pid";
  auto start = std::chrono::steady_clock::now();
  auto result = run_process({kBin, "listen", "--daemon", "--pidfile", pidfile, "tcp", "0", "udp", "0"});
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s) << "--daemon must not hold stdout open";
  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto lines = lines_of(result.out);
  ASSERT_EQ(lines.size(), 1u) << result.out;
  auto specs = parse_listening_json_line(lines[0]);
  ASSERT_TRUE(specs.ok()) << specs.error().message;
  ASSERT_EQ(specs->size(), 2u);
  pid_t pid = nlohmann::json::parse(lines[0])["pid"].get<pid_t>();
  std::ifstream in(pidfile);
  pid_t from_file = 0;
  in >> from_file;
  EXPECT_EQ(from_file, pid);

  for (const auto& spec : *specs) {
    ProbeRequest request{spec.proto, "127.0.0.1", spec.port, 1000ms};
    auto outcome = probe(request);
    ASSERT_TRUE(outcome.ok());
    EXPECT_EQ(outcome->observed, Observed::open) << to_string(spec.proto);
  }
  ASSERT_GT(pid, 1);
  ::kill(pid, SIGTERM);
  EXPECT_TRUE(gone_within(pid, pidfile, 3s)) << "daemon should exit and remove its pidfile on SIGTERM";
  ::unlink(pidfile.c_str());
}

TEST(Cli, ListenForegroundPrintsReadyLineThenServes) {
  int out[2];
  ASSERT_EQ(::pipe(out), 0);
  pid_t child = ::fork();
  if (child == 0) {
    ::dup2(out[1], 1);
    ::execl(kBin.c_str(), kBin.c_str(), "listen", "udp", "0", "tcp", "0", nullptr);
    ::_exit(127);
  }
  ::close(out[1]);
  std::string line;
  char c;
  while (::read(out[0], &c, 1) == 1 && c != '\n') line += c;
  ::close(out[0]);
  auto specs = parse_listening_json_line(line);
  ASSERT_TRUE(specs.ok()) << line;
  ASSERT_EQ(specs->size(), 2u);
  EXPECT_EQ((*specs)[0].proto, Proto::udp);
  for (const auto& spec : *specs) {
    auto outcome = probe({spec.proto, "127.0.0.1", spec.port, 1000ms});
    ASSERT_TRUE(outcome.ok());
    EXPECT_EQ(outcome->observed, Observed::open);
  }
  ::kill(child, SIGTERM);
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST(Cli, ListenOnBusyPortExitsOne) {
  auto listeners = test::BackgroundListeners::start({{Proto::tcp, 0}});
  ASSERT_TRUE(listeners.ok());
  auto result = run_process({kBin, "listen", "tcp", std::to_string((*listeners)->port(0))});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_TRUE(result.out.empty());
}

// --- exec -----------------------------------------------------------------

TEST(ExecTest, PassesStreamsAndExitCode) {
  auto result = run_process({kBin, "exec", "--", "sh", "-c", "cat; echo err >&2; exit 3"}, "in\n");
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_EQ(result.out, "in\n");
  EXPECT_EQ(result.err, "err\n");
}

TEST(ExecTest, ReportsASignalAs128PlusItsNumber) {
  auto result = run_process({kBin, "exec", "--", "sh", "-c", "kill -TERM $$"});
  EXPECT_EQ(result.exit_code, 128 + SIGTERM);
}

TEST(ExecTest, KillsTheWholeGroupAtTheTimeout) {
  std::string pidfile = testing::TempDir() + "meros-exec-bg-" + std::to_string(::getpid());
  auto started = std::chrono::steady_clock::now();
  auto result = run_process({kBin, "exec", "--timeout", "500ms", "--", "sh", "-c", "sleep 30 & echo $! > " + pidfile + "; sleep 20; echo never"});
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  EXPECT_EQ(result.exit_code, 137);
  EXPECT_EQ(result.out, "");
  EXPECT_NE(result.err.find("killed after 500 ms"), std::string::npos) << result.err;
  std::ifstream in(pidfile);
  pid_t background = 0;
  ASSERT_TRUE(in >> background);
  // Dead: gone, or a zombie its new parent has not reaped yet.
  auto alive = [](pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), {});
    auto close = text.rfind(')');
    return close != std::string::npos && close + 2 < text.size() && text[close + 2] != 'Z';
  };
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(alive(background)) << "the command's background child outlived the timeout";
  std::remove(pidfile.c_str());
}

TEST(ExecTest, RejectsBadUsage) {
  EXPECT_EQ(run_process({kBin, "exec", "--timeout", "soon", "--", "true"}).exit_code, 2);
  EXPECT_EQ(run_process({kBin, "exec", "true"}).exit_code, 2);
  EXPECT_EQ(run_process({kBin, "exec", "--"}).exit_code, 2);
  EXPECT_EQ(run_process({kBin, "exec", "--", "/nonexistent/program"}).exit_code, 127);
}

TEST(ExecTest, ParsesTimeouts) {
  EXPECT_EQ(parse_exec_timeout("1500ms"), std::chrono::milliseconds(1500));
  EXPECT_EQ(parse_exec_timeout("90s"), std::chrono::milliseconds(90'000));
  EXPECT_EQ(parse_exec_timeout("250"), std::chrono::milliseconds(250));
  EXPECT_EQ(parse_exec_timeout("0s"), std::nullopt);
  EXPECT_EQ(parse_exec_timeout("-1"), std::nullopt);
  EXPECT_EQ(parse_exec_timeout("s"), std::nullopt);
  EXPECT_EQ(parse_exec_timeout("1.5s"), std::nullopt);
  EXPECT_EQ(parse_exec_timeout("99999999999s"), std::nullopt);
}

}  // namespace
}  // namespace meros::guest
