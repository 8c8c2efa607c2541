#!/bin/sh
# `meros-test init DIR` writes a scenario that validates and passes: init,
# validate, then run it from inside DIR as `meros-test .` on real VMs; the
# JUnit's testcases carry the manifest's file and line, and index.html is
# written beside it.
# usage: init_scenario_test.sh MEROS_TEST WORK_DIR      (exit 77 = skipped)
set -u
bin=$(readlink -f "$1") work=$2
[ "$(id -u)" -eq 0 ] || { echo "skipped: running scenarios needs root"; exit 77; }
command -v qemu-system-x86_64 >/dev/null || { echo "skipped: qemu-system-x86_64 is missing"; exit 77; }
rm -rf "$work" && mkdir -p "$work" || exit 1
"$bin" init "$work/hello" || { echo "init failed"; exit 1; }
"$bin" init "$work/hello" 2>"$work/again.err"
rc=$?
[ "$rc" -eq 2 ] && grep -q "exists already" "$work/again.err" || { echo "a second init must refuse (exit 2), got $rc"; exit 1; }
"$bin" validate "$work/hello" || { echo "the new scenario does not validate"; exit 1; }
cd "$work/hello" || exit 1
"$bin" . --artifacts out >run.log 2>&1
rc=$?
[ "$rc" -eq 0 ] || { echo "the new scenario should pass, exit $rc"; cat run.log; exit 1; }
[ -s out/index.html ] || { echo "no out/index.html"; exit 1; }
/usr/bin/python3 - out/junit.xml <<'PY'
import sys, xml.etree.ElementTree as ET
cases = list(ET.parse(sys.argv[1]).getroot().iter("testcase"))
lines = {c.get("name"): c.get("line") for c in cases}
files = {c.get("file") for c in cases}
want = {"server runs Linux": "22", "client reaches server over http": "26",
        "lan policy: client -> server 22/tcp allow": "30", "lan policy: client -> host 80/tcp allow": "31",
        "lan policy: client -> host 22/tcp drop": "32"}
problems = [f"{name}: line {lines.get(name)}, want {line}" for name, line in want.items() if lines.get(name) != line]
if files != {"scenario.yml"}:
    problems.append(f"testcase files {files}, want the manifest as given: scenario.yml")
problems += [f"{c.get('name')} did not pass" for c in cases if c.find("failure") is not None or c.find("error") is not None]
print("\n".join(problems) or f"{len(cases)} testcases passed with file and line")
sys.exit(1 if problems else 0)
PY
