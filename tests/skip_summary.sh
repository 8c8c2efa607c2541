#!/bin/sh
# Runs after every ctest run (CTEST_CUSTOM_POST_TEST, see tests/CMakeLists.txt):
# says how many tests did not run for real and why, grouped by reason, read
# from the run's own log. A skip is allowed only where the machine cannot
# run the test; this makes each one visible under ctest's "100% passed".
log="$1/Testing/Temporary/LastTest.log"
[ -f "$log" ] || exit 0
awk '
  /^[0-9]+\/[0-9]+ Test: / { name = $3; reason = ""; skipped = 0; next }
  / Skipped$/ && name != "" { if ((getline line) > 0) reason = line; next }
  /^\[  SKIPPED \] / && name != "" { skipped = 1; next }
  /^Skip regular expression found|^Test Skipped|SKIP_RETURN_CODE/ && name != "" { skipped = 1; next }
  /^<end of output>/ { ended = 1; next }
  /^"[^"]*" end time:/ {
    if (skipped && name != "") {
      if (reason == "") reason = "(no reason given)"
      count++; why[reason]++; example[reason] = name
    }
    name = ""
  }
  END {
    if (count == 0) exit 0
    printf "\n%d test(s) did not run for real (skipped); why:\n", count
    for (r in why) printf "  %3d  %s  (e.g. %s)\n", why[r], r, example[r]
  }' "$log"
