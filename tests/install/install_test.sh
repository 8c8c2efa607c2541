#!/bin/sh
# The product as another repository gets it: build the .deb with CPack,
# check its Depends and contents, install it with dpkg into a scratch root
# (dpkg --root: its own dpkg database, not the host's /usr, so nothing on
# the host changes), then, from a scratch consumer directory outside the
# source tree, validate and run a copied scenario with the installed
# meros-test only, and check the JUnit's file/line and the HTML report.
# Usage: install_test.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1
source=$2
scratch=$(mktemp -d /tmp/meros-install-test-XXXXXX)
trap 'rm -rf "$scratch"' EXIT
fail() { echo "install_test: $*" >&2; exit 1; }

echo "== cpack -G DEB"
(cd "$scratch" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$scratch/pkg" >"$scratch/cpack.log" 2>&1) ||
  { cat "$scratch/cpack.log"; fail "cpack failed"; }
deb=$(ls "$scratch"/pkg/meros-test_*.deb 2>/dev/null | head -n 1)
[ -n "$deb" ] || fail "cpack wrote no meros-test_*.deb"
echo "$deb"

echo "== Depends"
depends=$(dpkg-deb -f "$deb" Depends)
echo "$depends"
for package in qemu-system-x86 qemu-utils e2fsprogs busybox-static dropbear-bin openssh-sftp-server linux-source-6.1 libyaml-cpp0.7 libssh-4; do
  echo "$depends" | grep -q "\b$package\b" || fail "Depends lacks $package"
done
# Every package the .deb depends on is installed here, so dpkg -i would succeed.
echo "$depends" | tr ',' '\n' | sed 's/[(|].*//; s/ //g' | while read -r package; do
  [ -z "$package" ] && continue
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || fail "dependency $package is not installed"
done

echo "== contents"
dpkg-deb -c "$deb" >"$scratch/contents"
for path in ./usr/bin/meros-test ./usr/libexec/meros-test/meros-guest ./usr/share/meros-test/fixtures/kernels/default.yml \
            ./usr/share/man/man1/meros-test.1 ./usr/share/bash-completion/completions/meros-test \
            ./usr/share/zsh/vendor-completions/_meros-test; do
  grep -q " $path\$" "$scratch/contents" || fail "the package has no $path"
done

echo "== dpkg --root $scratch/root -i"
mkdir -p "$scratch/root/var/lib/dpkg/info" "$scratch/root/var/lib/dpkg/updates"
: >"$scratch/root/var/lib/dpkg/status"
# The dependencies are the host's (checked above), not in the scratch database.
dpkg --root="$scratch/root" --force-depends -i "$deb" >"$scratch/dpkg.log" 2>&1 || { cat "$scratch/dpkg.log"; fail "dpkg -i failed"; }
dpkg --root="$scratch/root" -s meros-test | grep -q "^Status: install ok installed" || fail "dpkg does not list meros-test as installed"
bin="$scratch/root/usr/bin/meros-test"
"$bin" --version | grep -q "^meros-test " || fail "--version"
man -l "$scratch/root/usr/share/man/man1/meros-test.1" 2>/dev/null | grep -q "validate" || fail "the man page does not render"
bash -n "$scratch/root/usr/share/bash-completion/completions/meros-test" || fail "the bash completion does not parse"
if command -v zsh >/dev/null; then zsh -n "$scratch/root/usr/share/zsh/vendor-completions/_meros-test" || fail "zsh completion"; fi

echo "== a consumer repository outside the source tree"
consumer="$scratch/consumer"
mkdir -p "$consumer"
cp -r "$source/scenarios/smoke" "$consumer/smoke"
cd "$consumer"
# Nothing may come from the build or source tree: no overrides, no PATH entry.
unset MEROS_TEST_DATA_DIR MEROS_GUEST_BIN
"$bin" validate . || fail "validate . failed in the consumer directory"
"$bin" list . --format json | grep -q '"name": "smoke"' || fail "list --format json"
if [ "$(id -u)" -ne 0 ]; then echo "[  SKIPPED ] running a scenario needs root"; exit 0; fi
status=0
"$bin" . -v >"$scratch/run.log" 2>&1 || status=$?
cat "$scratch/run.log"
[ "$status" -eq 0 ] || fail "meros-test . exited $status"
junit=$(ls "$consumer"/reports/*/junit.xml 2>/dev/null | head -n 1)
[ -n "$junit" ] || fail "no reports/<run id>/junit.xml in the consumer directory"
cases=$(grep -c "<testcase " "$junit")
[ "$cases" -ge 8 ] || fail "$junit has $cases testcases, expected the 8 steps of smoke"
grep -q "<failure\|<error" "$junit" && fail "$junit records failures"
# Each testcase points at its step in the manifest, as given on the command line.
line=$(grep -n "name: kernel answers" smoke/scenario.yml | cut -d: -f1)
grep -Eq "<testcase [^>]*name=\"kernel answers\"[^>]* file=\"(\./)?smoke/scenario\.yml\" line=\"$line\"" "$junit" ||
  fail "the testcase 'kernel answers' does not carry file=smoke/scenario.yml line=$line in $junit"
[ -s "$(dirname "$junit")/index.html" ] || fail "no index.html beside $junit"
echo "install_test: the installed package ran smoke from $consumer: $cases testcases, all passed"
