// Copying files and directories between the host and a guest over SFTP on
// the VM's SSH session (RemoteFiles): modes and modification times kept,
// symlinks copied as symlinks, ownership left to the receiving side.
//
// A pull runs as root against a guest whose root a test step controls, so
// everything the guest sends is input: every name is checked to be one
// plain path component, the local tree is made with openat/mkdirat under
// directory descriptors (never by joining strings, never following a
// symlink, the guest's or one already there), and a transfer stops at its
// byte cap and at its deadline, also in the middle of a file.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "check/remote_files.h"
#include "check/ssh.h"

namespace meros {

// The bytes one push or pull may copy unless its step says otherwise.
inline constexpr std::uint64_t kDefaultMaxTransferBytes = 1ull << 30;
// Entries (files, directories, links) one pull may create: a guest's tree
// of a million empty files would otherwise exhaust the host's inodes.
inline constexpr std::uint64_t kMaxTransferEntries = 100'000;
// How deep a pulled tree may go (each level holds a descriptor).
inline constexpr int kMaxTransferDepth = 64;

// name for a message: control characters and bytes past ASCII escaped as
// \xNN, at most 80 of its bytes shown.
std::string printable_name(std::string_view name);

// Whether a name the guest sent can name a local entry: one path component,
// not empty, not "." or "..", without '/' or NUL. The error names it.
Status check_guest_name(std::string_view name, std::string_view where);

struct TransferLimits {
  std::chrono::milliseconds timeout{60'000};
  std::uint64_t max_bytes = kDefaultMaxTransferBytes;
};

// The meros toolkit's shared directory, in the login user's home: where a
// push without a destination lands and what a pull without a source takes.
inline constexpr const char* kMosShared = "mos-shared";

// The guest's ~/mos-shared, from the home directory the guest reports
// (checked: absolute, printable, bounded).
Result<std::string> mos_shared_directory(RemoteFiles& files);

// Copies local (a file, directory or symlink) into the guest. guest_path is
// the copy's path; when it ends in '/' or is an existing directory, the copy
// goes inside it under local's name (like cp); when it is empty, the copy
// goes inside ~/mos-shared/. Missing parent directories are created.
// Returns the copy's path in the guest.
Result<std::string> push_path(RemoteFiles& files, const std::filesystem::path& local, const std::string& guest_path,
                              const TransferLimits& limits);
Result<std::string> push_path(SshClient& ssh, const std::filesystem::path& local, const std::string& guest_path,
                              const TransferLimits& limits);

// Copies guest_path (a file, directory or symlink) into local_root /
// relative_dir, keeping its name. local_root is the caller's and trusted
// (created if missing); relative_dir is made beneath it one directory at a
// time, and a symlink or non-directory on that way is an error, not
// followed. An entry already there under the copy's name is replaced (a
// directory merged), never followed. Returns the local copy's path.
Result<std::filesystem::path> pull_path(RemoteFiles& files, const std::string& guest_path, const std::filesystem::path& local_root,
                                        const std::filesystem::path& relative_dir, const TransferLimits& limits);
Result<std::filesystem::path> pull_path(SshClient& ssh, const std::string& guest_path, const std::filesystem::path& local_root,
                                        const std::filesystem::path& relative_dir, const TransferLimits& limits);

// The mos-shared convention's pull: the guest's whole ~/mos-shared/ becomes
// local_root / relative_dir / mos-shared / <vm>, with pull_path's checks.
Result<std::filesystem::path> pull_mos_shared(RemoteFiles& files, const std::string& vm, const std::filesystem::path& local_root,
                                              const std::filesystem::path& relative_dir, const TransferLimits& limits);

}  // namespace meros
