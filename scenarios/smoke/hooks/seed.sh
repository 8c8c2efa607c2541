#!/bin/sh
# on_up (host): OpenSSH into vm1 over its management link, the host key
# checked against the harness's pinned keys.
set -eu
exec ip netns exec "$MEROS_NETNS" ssh -o BatchMode=yes -o StrictHostKeyChecking=yes \
  -o UserKnownHostsFile="$MEROS_KNOWN_HOSTS" -o GlobalKnownHostsFile=/dev/null -F /dev/null \
  -i "$MEROS_SSH_KEY" "root@$MEROS_VM_VM1_MGMT" 'echo seeded by the host > /tmp/seeded'
