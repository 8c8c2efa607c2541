// The file operations push and pull need on a guest. The real one is SFTP
// over the VM's persistent SSH session (check/sftp.h); the interface keeps
// the copy logic (check/transfer.h) apart from libssh.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "util/result.h"

namespace meros {

struct RemoteEntry {
  enum class Kind { file, directory, symlink, other };
  std::string name;  // set by list(): the entry's name in its directory
  Kind kind = Kind::other;
  std::uint32_t mode = 0;  // permission bits, 07777
  std::int64_t mtime = 0;  // seconds since the epoch
};

// Takes a file's bytes as they arrive (pull) or before they leave (push);
// an error from it stops the copy with that error.
using ChunkSink = std::function<Status(const char* data, std::size_t size)>;

class RemoteFiles {
 public:
  virtual ~RemoteFiles() = default;
  // The entry itself, a symlink not followed.
  virtual Result<RemoteEntry> lstat(const std::string& path) = 0;
  // The entries of a directory, without "." and "..". The names are the
  // guest's: the caller checks them before using one.
  virtual Result<std::vector<RemoteEntry>> list(const std::string& dir) = 0;
  // Creates a directory; one that already exists is fine.
  virtual Status make_directory(const std::string& path) = 0;
  // Creates or truncates path and writes the local file's bytes into it;
  // each chunk goes through charge first.
  virtual Status write_file(const std::string& path, const std::filesystem::path& from, const ChunkSink& charge) = 0;
  // Reads path up to its end (files of /proc report size 0), chunk by
  // chunk, into sink.
  virtual Status read_file(const std::string& path, const ChunkSink& sink) = 0;
  virtual Status set_mode_and_time(const std::string& path, std::uint32_t mode, std::int64_t mtime) = 0;
  virtual Result<std::string> read_link(const std::string& path) = 0;
  // Creates path as a symlink pointing at target.
  virtual Status make_link(const std::string& target, const std::string& path) = 0;
  // The login user's home directory, absolute (where the mos-shared
  // convention puts its directory).
  virtual Result<std::string> home_directory() = 0;
  // A guest that stops answering in the middle of a reply would block a
  // call for ever: from now on, every call gives up by `end`, even if that
  // means closing the connection under it.
  virtual void stop_by(std::chrono::steady_clock::time_point end) { (void)end; }
};

}  // namespace meros
