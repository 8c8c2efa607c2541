#!/bin/sh
# Runs the manifest fuzzer with its seed corpus and dictionary.
# usage: run_fuzzer.sh FUZZER SOURCE_DIR [SECONDS] [extra libFuzzer options...]
#   SECONDS = 0 only runs the seeds once (a smoke test); default 300.
set -eu
fuzzer=$1 src=$2 seconds=${3:-300}
[ $# -ge 3 ] && shift 3 || shift $#
work=${MEROS_FUZZ_WORK:-$(mktemp -d)}
mkdir -p "$work/corpus" "$work/seeds" "$work/artifacts"
# Seeds: every bundled scenario and every bad manifest, one file each.
for f in "$src"/scenarios/*/scenario.yml "$src"/tests/testdata/bad/*/scenario.yml "$src"/tests/testdata/bad/*/*/scenario.yml \
         "$src"/tests/testdata/bad/*/fixtures/kernels/*.yml "$src"/fixtures/kernels/*.yml "$src"/fixtures/images/*/image.yml; do
  [ -f "$f" ] || continue
  name=$(echo "$f" | sed "s|^$src/||; s|[/ ]|_|g")
  cp "$f" "$work/seeds/$name"
done
if [ "$seconds" = 0 ]; then
  exec "$fuzzer" -dict="$src/tests/fuzz/manifest.dict" -rss_limit_mb=2048 -timeout=5 "$@" "$work"/seeds/*
fi
echo "corpus: $work/corpus, findings: $work/artifacts/"
exec "$fuzzer" "$work/corpus" "$work/seeds" -dict="$src/tests/fuzz/manifest.dict" \
  -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=5 -max_len=8192 \
  -artifact_prefix="$work/artifacts/" -print_final_stats=1 "$@"
