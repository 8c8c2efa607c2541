#!/bin/sh
# on_boot (guest): runs inside vm1 before the first test.
echo "booted $MEROS_VM" > /tmp/on-boot
