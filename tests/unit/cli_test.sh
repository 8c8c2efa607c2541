#!/bin/sh
# The real binary's command line: exit codes and messages of usage errors,
# --format json documents (parsed with jq), the generated completions.
# Usage: cli_test.sh MEROS_TEST SOURCE_DIR
set -u
bin=$1
cd "$2"
scratch=$(mktemp -d /tmp/meros-cli-test-XXXXXX)
trap 'rm -rf "$scratch"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect CODE TEXT -- ARGS...: exit code CODE and TEXT on stderr.
expect() {
  code=$1 text=$2
  shift 3
  "$bin" "$@" >"$scratch/out" 2>"$scratch/err"
  got=$?
  [ "$got" -eq "$code" ] || fail "meros-test $*: exit $got, expected $code"
  grep -qF -- "$text" "$scratch/err" || { fail "meros-test $*: stderr lacks '$text'"; cat "$scratch/err"; }
}

expect 2 "option --junit does not apply to validate (it is an option of run)" -- validate scenarios/ --junit x
expect 2 "; option --shard does not apply to validate (it is an option of run and list)" -- validate scenarios/ --junit x --shard 1/2
expect 2 "unknown command 'valdate' (did you mean validate?)" -- valdate scenarios/
expect 2 "unknown option '--tag' (did you mean --tags?)" -- list scenarios/ --tag smoke
expect 2 "status takes no arguments" -- status extra
expect 2 "--color expects auto, always or never" -- --color sometimes status
# export: bad input is exit 2 before any fixture is looked at.
expect 2 "unknown format 'vmware': libvirt is the one format" -- export vmware scenarios/smoke
expect 2 "give one scenario: export libvirt SCENARIO" -- export libvirt
expect 2 "no-such-scenario: no such file or directory" -- export libvirt no-such-scenario
expect 2 "scenarios; name one" -- export libvirt scenarios/
touch "$scratch/a-file"
expect 2 "a-file: not a directory; give a directory" -- export libvirt scenarios/smoke -o "$scratch/a-file"

"$bin" --help >"$scratch/help" || fail "--help exits $?"
for word in run validate list build up status down connect exec push pull gc --version --quiet --verbose --color; do
  grep -q -- "$word" "$scratch/help" || fail "--help lacks $word"
done
"$bin" --version | grep -q "^meros-test [0-9]" || fail "--version"
"$bin" validate --help | grep -q "^Usage: meros-test validate" || fail "validate --help"

# --format json: one document on stdout.
"$bin" validate scenarios/ --format json >"$scratch/v.json" || fail "validate --format json exits $?"
jq -e '.valid == true and (.scenarios | length) >= 4 and (.errors | length) == 0' "$scratch/v.json" >/dev/null || fail "validate json: $(cat "$scratch/v.json")"
"$bin" validate tests/testdata/bad/bad-cidr --format json >"$scratch/bad.json" 2>/dev/null
[ $? -eq 2 ] || fail "validate --format json of a bad manifest must exit 2"
jq -e '.valid == false and (.errors[0] | has("file") and has("line") and has("column") and has("message"))' "$scratch/bad.json" >/dev/null ||
  fail "bad validate json: $(cat "$scratch/bad.json")"
"$bin" list scenarios/ --tags smoke --format json >"$scratch/l.json" || fail "list --format json exits $?"
jq -e '.scenarios | length == 1 and .[0].name == "smoke" and (.[0].tests | length) == 13 and .[0].tags == ["smoke"] and (.[0].hooks | index("on_up: hooks/seed.sh")) != null' "$scratch/l.json" >/dev/null ||
  fail "list json: $(cat "$scratch/l.json")"
# Static applications: list shows each image's, in text and JSON.
"$bin" list scenarios/two-bridges --format json >"$scratch/apps.json" || fail "list two-bridges --format json exits $?"
jq -e '.scenarios[0].applications == [{"image": "tools", "name": "hello", "source": "apps/hello", "install": "/usr/local/bin/hello"}]' \
  "$scratch/apps.json" >/dev/null || fail "list json applications: $(cat "$scratch/apps.json")"
"$bin" list scenarios/two-bridges | grep -qx '  application tools.hello: apps/hello -> /usr/local/bin/hello' ||
  fail "list text lacks the application: $("$bin" list scenarios/two-bridges)"
jq -e '.scenarios[0].applications == []' "$scratch/l.json" >/dev/null || fail "smoke has no applications: $(cat "$scratch/l.json")"
# Shared folders: list shows each VM's, in text and JSON.
"$bin" list scenarios/smoke | grep -qx '  shared vm1:/mnt/data <- data (ro)' ||
  fail "list text lacks the shared folder: $("$bin" list scenarios/smoke)"
jq -e '.scenarios[0].shared | length == 1 and .[0].vm == "vm1" and .[0].guest == "/mnt/data" and .[0].mode == "ro"' \
  "$scratch/l.json" >/dev/null || fail "list json shared: $(cat "$scratch/l.json")"
MEROS_TEST_RUN_DIR="$scratch/runs" "$bin" status --format json >"$scratch/s.json" || fail "status --format json exits $?"
jq -e '.constellations == []' "$scratch/s.json" >/dev/null || fail "status json: $(cat "$scratch/s.json")"
"$bin" build --list --format json --cache-dir "$scratch/store" >"$scratch/b.json" || fail "build --list --format json exits $?"
jq -e --arg store "$scratch/store" '.store == $store and .fixtures == [] and .total_bytes == 0' "$scratch/b.json" >/dev/null ||
  fail "build --list json: $(cat "$scratch/b.json")"

# Completions generated from the command table parse and know the options.
"$bin" --completion bash >"$scratch/c.bash" && bash -n "$scratch/c.bash" || fail "bash completion does not parse"
grep -q -- "--keep-on-failure" "$scratch/c.bash" || fail "bash completion lacks run's options"
"$bin" --completion zsh >"$scratch/_c" || fail "zsh completion"
if command -v zsh >/dev/null; then zsh -n "$scratch/_c" || fail "zsh completion does not parse"; fi
# bash: the words offered after `meros-test validate --f`.
offered=$(bash -c ". '$scratch/c.bash'; COMP_WORDS=(meros-test validate --f); COMP_CWORD=2; _meros_test; echo \"\${COMPREPLY[*]}\"")
[ "$offered" = "--format" ] || fail "bash completion of 'validate --f' offers '$offered'"
offered=$(bash -c ". '$scratch/c.bash'; COMP_WORDS=(meros-test --accel ''); COMP_CWORD=2; _meros_test; echo \"\${COMPREPLY[*]}\"")
[ "$offered" = "auto kvm tcg" ] || fail "bash completion of '--accel' offers '$offered'"

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "cli_test: all checks passed"
