#!/bin/sh
# The CI fuzz smoke: builds the manifest fuzzer with clang (ASan+UBSan,
# libFuzzer) in a build directory of its own, then fuzzes for SECONDS.
# Any finding fails the test; the corpus and findings are printed.
# usage: fuzz_smoke.sh SOURCE_DIR FUZZ_BUILD_DIR SECONDS [COMPILER_LAUNCHER]
set -eu
src=$1 build=$2 seconds=$3 launcher=${4:-}
set -- -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DMEROS_FUZZ=ON
if [ -n "$launcher" ]; then
  set -- "$@" -DCMAKE_C_COMPILER_LAUNCHER="$launcher" -DCMAKE_CXX_COMPILER_LAUNCHER="$launcher"
fi
cmake "$@" >"$build.configure.log" 2>&1 || { cat "$build.configure.log"; exit 1; }
# Two jobs at most: the machines that run the suite are shared.
cmake --build "$build" --target manifest_fuzzer -j 2
# The corpus and any findings stay in the build directory (and each run
# resumes from the last one's corpus) instead of piling up in /tmp.
MEROS_FUZZ_WORK=${MEROS_FUZZ_WORK:-$build/work}
export MEROS_FUZZ_WORK
exec sh "$src/tests/fuzz/run_fuzzer.sh" "$build/manifest_fuzzer" "$src" "$seconds"
