#!/bin/sh
# Times the network stage (namespace, bridges, taps, policy; then teardown)
# of a 3-VM, 2-bridge scenario: meros-test's libnl/libnftnl implementation
# against a shell baseline of ip/nft processes, median of 20 runs each.
# Needs root. Usage: bench/net/run.sh [BUILD_DIR] [--runs N]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-"$here/../../build"}
[ $# -gt 0 ] && shift
ninja -C "$build" bench_net >/dev/null
exec "$build/bench_net" "$@"
