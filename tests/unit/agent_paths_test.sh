#!/bin/sh
# The guest agents' bytes are part of every image's cache key: they must
# not hold the checkout's source or build path (debug info, assert's
# __FILE__), or each clone of the repository rebuilds every image.
# Usage: agent_paths_test.sh SOURCE_DIR BUILD_DIR AGENT...
set -u
src=$1 build=$2
shift 2
status=0
for agent in "$@"; do
  [ -f "$agent" ] || { echo "FAIL: $agent does not exist"; status=1; continue; }
  for path in "$src" "$build"; do
    if grep -aqF "$path" "$agent"; then echo "FAIL: $agent holds the path $path"; status=1; fi
  done
done
[ "$status" -eq 0 ] && echo "agent_paths_test: $# agent(s) hold no checkout path"
exit "$status"
