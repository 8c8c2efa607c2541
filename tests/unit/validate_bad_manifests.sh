#!/bin/sh
# Runs the real binary over the bad-manifest corpus:
#   meros-test validate tests/testdata/bad/*
# must exit 2, accept none of them, and print every line of every case's
# expected.txt on stderr (prefixed with tests/testdata/bad/<case>/; a
# "{dir}" in a line stands for that prefix too, where a message names
# another file of the case).
# usage: validate_bad_manifests.sh MEROS_TEST SOURCE_DIR
set -u
bin=$1
cd "$2" || exit 1
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
"$bin" validate tests/testdata/bad/* >"$out" 2>"$err"
rc=$?
fail=0
if [ "$rc" -ne 2 ]; then
  echo "expected exit code 2, got $rc"
  fail=1
fi
if [ -s "$out" ]; then
  echo "some bad manifests were accepted:"
  cat "$out"
  fail=1
fi
for expected in tests/testdata/bad/*/expected.txt; do
  dir=${expected%/expected.txt}
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    while case $line in *"{dir}"*) true ;; *) false ;; esac; do
      line="${line%%"{dir}"*}$dir/${line#*"{dir}"}"
    done
    if ! grep -Fxq -- "$dir/$line" "$err"; then
      echo "missing on stderr: $dir/$line"
      fail=1
    fi
  done <"$expected"
done
if [ "$fail" -ne 0 ]; then
  echo "--- stderr of meros-test validate:"
  cat "$err"
fi
exit "$fail"
