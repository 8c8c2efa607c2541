#include "check/transfer.h"

#include <unistd.h>

#include <fstream>
#include <iterator>

#include "util/process.h"

namespace meros {
namespace fs = std::filesystem;

namespace {

fs::path temp_name(const fs::path& work_dir, const std::string& what) {
  static int counter = 0;
  return work_dir / (what + "-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
}

}  // namespace

Status push_path(SshClient& ssh, const fs::path& local, const std::string& guest_path, const fs::path& work_dir,
                 std::chrono::milliseconds timeout) {
  fs::path target(guest_path);
  if (target.filename().empty()) target = target.parent_path();
  fs::path staging = temp_name(work_dir, "push");
  std::error_code ec;
  fs::create_directories(staging, ec);
  SystemProcessRunner runner;
  fs::path copy = staging / target.filename();
  fs::path archive = staging.string() + ".tar";
  auto cp = runner.run({.argv = {"cp", "-a", local.string(), copy.string()}});
  auto tar = runner.run({.argv = {"tar", "-c", "-f", archive.string(), "--owner=0", "--group=0", "--numeric-owner", "-C",
                                  staging.string(), target.filename().string()}});
  std::ifstream in(archive, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  fs::remove_all(staging, ec);
  fs::remove(archive, ec);
  if (!cp || !cp->ok()) return make_error("cannot read " + local.string() + (cp ? ": " + cp->output : ""));
  if (!tar || !tar->ok()) return make_error("cannot pack " + local.string() + (tar ? ": " + tar->output : ""));
  std::string parent = target.parent_path().string();
  auto result = ssh.run("mkdir -p " + shell_quote(parent) + " && tar -x -f - -C " + shell_quote(parent), timeout, bytes);
  if (!result) return result.error();
  if (result->exit_code != 0) return make_error("unpacking in the guest failed: " + result->stderr_text);
  return {};
}

Result<fs::path> pull_path(SshClient& ssh, const std::string& guest_path, const fs::path& local_dir, const fs::path& work_dir,
                           std::chrono::milliseconds timeout) {
  fs::path source(guest_path);
  if (source.filename().empty()) source = source.parent_path();
  std::string command = "tar -c -f - -C " + shell_quote(source.parent_path().string()) + " " + shell_quote(source.filename().string());
  auto result = ssh.run(command, timeout);
  if (!result) return result.error();
  if (result->exit_code != 0) return make_error("cannot read " + guest_path + " in the guest: " + result->stderr_text);
  std::error_code ec;
  fs::create_directories(local_dir, ec);
  fs::create_directories(work_dir, ec);
  fs::path archive = temp_name(work_dir, "pull") += ".tar";
  std::ofstream(archive, std::ios::binary) << result->stdout_text;
  SystemProcessRunner runner;
  auto untar = runner.run({.argv = {"tar", "-x", "-f", archive.string(), "-C", local_dir.string()}});
  fs::remove(archive, ec);
  if (!untar || !untar->ok()) return make_error("cannot unpack into " + local_dir.string() + (untar ? ": " + untar->output : ""));
  return local_dir / source.filename();
}

}  // namespace meros
