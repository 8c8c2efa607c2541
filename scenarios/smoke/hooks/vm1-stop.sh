#!/bin/sh
# before_shutdown (guest): runs inside vm1 at teardown.
echo "stopping $MEROS_VM"
