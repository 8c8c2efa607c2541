#!/bin/sh
set -eu
exec ip netns exec "$MEROS_NETNS" ssh -o BatchMode=yes -o StrictHostKeyChecking=yes \
  -o UserKnownHostsFile="$MEROS_KNOWN_HOSTS" -o GlobalKnownHostsFile=/dev/null -F /dev/null \
  -i "$MEROS_SSH_KEY" "root@$MEROS_VM_WEB_1_MGMT" "echo seeded ${MEROS_VM_WEB_1_ADDRS#lan=} > /tmp/seeded"
