// SFTP through libssh on a channel of an open session: the guest's
// sftp-server (the harness ships OpenSSH's in /opt/meros/libexec, run with
// the harness's own loader) is started with an exec request, so neither the
// image's dropbear subsystem path nor its PATH matter.
#pragma once

#include <libssh/libssh.h>

#include <memory>
#include <mutex>
#include <string>

#include "check/remote_files.h"

namespace meros {

// The guest command that serves SFTP on stdin/stdout in every meros image.
inline constexpr char kGuestSftpServer[] =
    "exec /opt/meros/lib/ld.so --library-path /opt/meros/lib /opt/meros/libexec/sftp-server";

// Starts server_command on a new channel of session and speaks SFTP over
// it. lock (the session's) is held until the returned object is gone.
Result<std::unique_ptr<RemoteFiles>> open_sftp(ssh_session session, std::unique_lock<std::mutex> lock,
                                               const std::string& server_command, const std::string& host);

}  // namespace meros
