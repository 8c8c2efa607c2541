// Copying files and directories between the host and a guest over SFTP on
// the VM's SSH session (RemoteFiles): modes and modification times kept,
// symlinks copied as symlinks, ownership left to the receiving side.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include "check/remote_files.h"
#include "check/ssh.h"

namespace meros {

// Copies local (a file, directory or symlink) into the guest. guest_path is
// the copy's path; when it ends in '/' or is an existing directory, the copy
// goes inside it under local's name (like cp). Missing parent directories
// are created. Returns the copy's path in the guest.
Result<std::string> push_path(RemoteFiles& files, const std::filesystem::path& local, const std::string& guest_path,
                              std::chrono::milliseconds timeout);
Result<std::string> push_path(SshClient& ssh, const std::filesystem::path& local, const std::string& guest_path,
                              std::chrono::milliseconds timeout);

// Copies guest_path (a file, directory or symlink) into local_dir, keeping
// its name; local_dir is created. Returns the local copy's path.
Result<std::filesystem::path> pull_path(RemoteFiles& files, const std::string& guest_path,
                                        const std::filesystem::path& local_dir, std::chrono::milliseconds timeout);
Result<std::filesystem::path> pull_path(SshClient& ssh, const std::string& guest_path, const std::filesystem::path& local_dir,
                                        std::chrono::milliseconds timeout);

}  // namespace meros
