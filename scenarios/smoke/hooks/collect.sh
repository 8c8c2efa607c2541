#!/bin/sh
# before_down (host): leaves a marker in the artifacts.
echo "$MEROS_EVENT $MEROS_SCENARIO $MEROS_VM_VM1_ADDRS" > "$MEROS_ARTIFACTS/before-down.txt"
