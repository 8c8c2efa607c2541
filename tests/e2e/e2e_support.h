// What the end-to-end tests share: running the real binary, reading its
// JUnit, and the EndToEnd fixture that checks the host is left as it was.
#pragma once

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>
#include <tinyxml2.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>
#include <csignal>
#include <sys/wait.h>

#include "util/install_paths.h"

namespace e2e {

namespace fs = std::filesystem;

struct Output {
  int exit_code = -1;
  std::string text;
};

// Runs a fixed test command line (no manifest data) and collects its output.
inline Output run(const std::string& command) {
  Output out;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return out;
  std::array<char, 4096> buffer;
  while (std::size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe)) out.text.append(buffer.data(), n);
  int status = ::pclose(pipe);
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

// The host's own state, which no run may change: its links and ruleset.
// (Namespaces and QEMU processes come and go with other runs on the
// machine; what the test's own runs leave of those is run_leftovers'.)
inline std::string host_snapshot() {
  return run("ip -j link show | sed 's/\"ifindex\":[0-9]*//g'; nft -j list ruleset").text;
}

// The store the harness uses when no --cache-dir is given.
inline fs::path store_root() { return meros::default_store_dir(); }

// Namespaces, live QEMU processes and store directories that carry one of
// the run ids.
inline std::string run_leftovers(const std::set<std::string>& ids, const fs::path& store) {
  std::string found;
  std::string namespaces = run("ip -all netns list").text;
  std::string processes = run("ps -eo stat=,pid=,args= | awk '$1 !~ /^Z/ && /qemu-system/'").text;  // zombies are gone
  for (const auto& id : ids) {
    std::istringstream ns(namespaces), ps(processes);
    for (std::string line; std::getline(ns, line);)
      if (line.find("meros-" + id + "-") != std::string::npos) found += "namespace " + line + "\n";
    for (std::string line; std::getline(ps, line);)
      if (line.find("/" + id + "/") != std::string::npos) found += "process " + line.substr(0, 200) + "\n";
    std::error_code none;
    if (fs::exists(store / "runs" / id, none)) found += "store runs/" + id + "\n";
  }
  return found;
}

// "name | status | message" a testcase, numbers as '#'.
inline std::string junit_summary(const fs::path& file) {
  tinyxml2::XMLDocument doc;
  if (doc.LoadFile(file.c_str()) != tinyxml2::XML_SUCCESS) return "cannot read " + file.string();
  std::ostringstream out;
  auto* suites = doc.FirstChildElement("testsuites");
  for (auto* suite = suites ? suites->FirstChildElement("testsuite") : nullptr; suite; suite = suite->NextSiblingElement("testsuite"))
    for (auto* tc = suite->FirstChildElement("testcase"); tc; tc = tc->NextSiblingElement("testcase")) {
      std::string status = "passed", message;
      for (const char* kind : {"failure", "error", "skipped"})
        if (auto* e = tc->FirstChildElement(kind)) {
          status = std::string(kind) == "failure" ? "failed" : std::string(kind) == "error" ? "errored" : "skipped";
          message = e->Attribute("message") ? e->Attribute("message") : "";
        }
      std::string line = std::string(tc->Attribute("name")) + " | " + status + " |" + (message.empty() ? "" : " " + message);
      line = std::regex_replace(line, std::regex("in under 1 ms"), "in # ms");
      out << std::regex_replace(line, std::regex("[0-9]+"), "#") << "\n";
    }
  return out.str();
}

// The testsuite names of a JUnit file: one per scenario run.
inline std::multiset<std::string> junit_suites(const fs::path& file) {
  std::multiset<std::string> names;
  tinyxml2::XMLDocument doc;
  if (doc.LoadFile(file.c_str()) != tinyxml2::XML_SUCCESS) return names;
  auto* suites = doc.FirstChildElement("testsuites");
  for (auto* suite = suites ? suites->FirstChildElement("testsuite") : nullptr; suite; suite = suite->NextSiblingElement("testsuite"))
    names.insert(suite->Attribute("name"));
  return names;
}

// A JSON report's case by name, or null.
inline const nlohmann::json* find_case(const nlohmann::json& report, const std::string& name) {
  for (const auto& suite : report["suites"])
    for (const auto& c : suite["cases"])
      if (c.value("name", "") == name) return &c;
  return nullptr;
}

inline std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class EndToEnd : public testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root: namespaces, taps, nftables";
    if (run("command -v qemu-system-x86_64").exit_code != 0) GTEST_SKIP() << "qemu-system-x86_64 missing";
    out_ = fs::path(MEROS_BINARY_DIR) / "e2e" / testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(out_);
    fs::create_directories(out_);
    // Run-state files of this test only: gc and status see nothing of
    // other runs on the machine.
    ::setenv("MEROS_TEST_RUN_DIR", (out_ / "run").c_str(), 1);
    before_ = host_snapshot();
  }
  void TearDown() override {
    if (!before_.empty()) {
      EXPECT_EQ(before_, host_snapshot()) << "the host changed";
      EXPECT_EQ(run_leftovers(run_ids(), store_root()), "") << "the test's runs left these behind";
    }
  }
  Output meros(const std::string& args) {
    Output out = run(std::string("cd ") + MEROS_SOURCE_DIR + " && " + MEROS_TEST_BIN + " " + args);
    std::ofstream(out_ / "meros.log", std::ios::app) << out.text;
    return out;
  }
  // The ids of the runs this test started, from what they printed.
  std::set<std::string> run_ids() {
    std::set<std::string> ids;
    static const std::regex started("(?:meros-test run |constellation )([0-9a-f]+)[:-]");
    for (const char* file : {"log", "meros.log"}) {
      std::string text = read_file(out_ / file);
      for (std::sregex_iterator it(text.begin(), text.end(), started), end; it != end; ++it) ids.insert((*it)[1]);
    }
    return ids;
  }
  // Starts meros-test in the background, its output in out_/log.
  pid_t meros_in_background(const std::string& args) {
    std::string command = std::string("cd ") + MEROS_SOURCE_DIR + " && exec " + MEROS_TEST_BIN + " " + args + " >" +
                          (out_ / "log").string() + " 2>&1";
    pid_t child = ::fork();
    if (child == 0) {
      ::execl("/bin/sh", "sh", "-c", command.c_str(), nullptr);
      _exit(127);
    }
    return child;
  }
  // Waits up to `timeout` for the background run to exit; its wait status.
  std::optional<int> wait_exit(pid_t child, std::chrono::seconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      if (::waitpid(child, &status, WNOHANG) == child) return status;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ::kill(child, SIGKILL);
    ::waitpid(child, &status, 0);
    return std::nullopt;
  }
  // Until the run's VMs boot: its run state names them and a QEMU runs.
  // Until a QEMU of the background run is up (other runs on the machine,
  // such as a developer's, do not count).
  bool wait_for_booting(pid_t child) {
    for (int i = 0; i < 600; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      if (!qemu_children(child).empty()) return true;
    }
    return false;
  }
  // True once pid no longer runs (a zombie does not), within a second.
  static bool gone_soon(pid_t pid) {
    for (int i = 0; i < 100; ++i) {
      std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
      std::size_t paren = stat.rfind(')');
      if (stat.empty() || (paren != std::string::npos && stat.compare(paren, 4, ") Z ") == 0)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  static std::string qemu_children(pid_t parent) {
    return run("pgrep -P " + std::to_string(parent) + " qemu-system").text;
  }
  // Sends signal to the background run: it must exit with 128 + signal
  // within a few seconds (teardown included).
  void expect_prompt_exit(pid_t child, int signal, const std::string& when) {
    auto sent = std::chrono::steady_clock::now();
    ::kill(child, signal);
    auto status = wait_exit(child, std::chrono::seconds(60));
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - sent).count();
    ASSERT_TRUE(status) << "still running 60 s after signal " << signal << "\n" << read_file(out_ / "log");
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 128 + signal) << read_file(out_ / "log");
    EXPECT_LT(seconds, 10.0) << "from the signal to exit";
    std::cout << "signal " << signal << " " << when << ": exited " << seconds << " s after it\n";
  }
  bool wait_for_log(const std::string& text) {
    for (int i = 0; i < 1200; ++i) {
      if (read_file(out_ / "log").find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    return false;
  }
  void expect_valid_junit(const fs::path& junit) {
    auto lint = run("xmllint --noout --schema " + std::string(MEROS_SOURCE_DIR) + "/tests/testdata/junit/junit.xsd " + junit.string());
    EXPECT_EQ(lint.exit_code, 0) << lint.text;
  }
  void signal_during_boot(int signal);
  void signal_during_step(int signal);
  fs::path out_;
  std::string before_;
};

}  // namespace e2e
