// Copying files and directories between the host and a guest over an SSH
// session: a tar stream through the command channel (the images' dropbear
// has no SFTP server), modes kept.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include "check/ssh.h"

namespace meros {

// Copies local (file or directory) to guest_path in the guest; its parent
// directories are created. work_dir holds the temporary archive.
Status push_path(SshClient& ssh, const std::filesystem::path& local, const std::string& guest_path,
                 const std::filesystem::path& work_dir, std::chrono::milliseconds timeout);

// Copies guest_path (file or directory) into local_dir, keeping its name;
// returns the local path.
Result<std::filesystem::path> pull_path(SshClient& ssh, const std::string& guest_path, const std::filesystem::path& local_dir,
                                        const std::filesystem::path& work_dir, std::chrono::milliseconds timeout);

}  // namespace meros
