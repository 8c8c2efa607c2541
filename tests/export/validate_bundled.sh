#!/bin/sh
# Exports every bundled scenario with `meros-test export libvirt` and checks
# each domain and network XML with libvirt's virt-xml-validate; a direct-boot
# domain must name a kernel file that exists in the fixture store, and every
# disk an image that exists.
# Usage: validate_bundled.sh MEROS_TEST SOURCE_DIR OUT_DIR [MEROS_AARCH64]
# A build with MEROS_AARCH64=OFF has no aarch64 guest agent, so aarch64
# images cannot be built: a scenario that needs one is reported as skipped
# then (and only then), unless $MEROS_GUEST_BIN_AARCH64 names an agent.
set -u
bin=$1 src=$2 out=$3 aarch64=${4:-ON}
if [ "$(id -u)" -ne 0 ]; then echo "skipped: resolving fixtures needs root"; exit 77; fi
if ! command -v virt-xml-validate >/dev/null; then
  echo "skipped: virt-xml-validate missing (Debian libvirt-clients; ci/install-deps.sh)"; exit 77
fi
rm -rf "$out" && mkdir -p "$out" || exit 1
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
# The text of one element (<kernel>, ...) or attribute, unescaped by xmllint.
xpath() { xmllint --xpath "$2" "$1" 2>/dev/null; }
# Beside the bundled scenarios, one with what they do not use: several NIC
# models on q35, four CPUs, qemu_args and a command line XML must escape.
mkdir -p "$out/scenarios/lv-extra" || exit 1
cat >"$out/scenarios/lv-extra/scenario.yml" <<'YAML'
name: lv-extra
bridges:
  lan: {subnet: 10.0.50.0/24, policy_type: host-access, allowed_ports: [22]}
  dmz: {subnet: 10.0.60.0/24, policy_type: isolated}
  wan: {subnet: 10.0.70.0/24, policy_type: host-access}
virtual_machines:
  pc:
    machine: q35
    cpus: 4
    memory: 1G
    cmdline: "meros.note=<a&b> 'quoted'"
    qemu_args: [-device, virtio-balloon-pci]
    networks:
      - {bridge: lan, ip_addr: 10.0.50.10, model: e1000}
      - {bridge: dmz, ip_addr: 10.0.60.10, model: rtl8139}
      - {bridge: wan, ip_addr: 10.0.70.10, model: e1000e, mac: "52:54:00:12:34:56"}
YAML
direct_boots=0
for dir in "$src"/scenarios/*/ "$out/scenarios/lv-extra/"; do
  [ -f "$dir/scenario.yml" ] || continue
  name=$(basename "$dir")
  if ! "$bin" export libvirt "$dir" -o "$out/$name" >"$out/$name.log" 2>&1; then
    if [ "$aarch64" = OFF ] && grep -q "aarch64 guest agent .* is missing" "$out/$name.log"; then
      echo "SKIP $name: this build has no aarch64 guest agent (MEROS_AARCH64=OFF)"
      continue
    fi
    fail "export of $name"
    cat "$out/$name.log"
    continue
  fi
  [ -f "$out/$name/policy.nft" ] || fail "$name: no policy.nft"
  [ -f "$out/$name/NOTES.md" ] || fail "$name: no NOTES.md"
  count=0
  for xml in "$out/$name"/domain-*.xml "$out/$name"/network-*.xml; do
    [ -f "$xml" ] || continue
    case $(basename "$xml") in domain-*) kind=domain ;; *) kind=network ;; esac
    virt-xml-validate "$xml" "$kind" >"$out/validate.log" 2>&1 || { fail "$xml ($kind)"; cat "$out/validate.log"; }
    count=$((count + 1))
    [ $kind = domain ] || continue
    disk=$(xpath "$xml" 'string(/domain/devices/disk/source/@file)')
    [ -f "$disk" ] || fail "$xml: disk '$disk' does not exist"
    kernel=$(xpath "$xml" 'string(/domain/os/kernel)')
    if [ -n "$kernel" ]; then
      direct_boots=$((direct_boots + 1))
      [ -f "$kernel" ] || fail "$xml: kernel '$kernel' does not exist"
      case $kernel in "${MEROS_TEST_CACHE:-/var/cache/meros-test}"/kernels/*) ;; *) fail "$xml: kernel '$kernel' is not in the store" ;; esac
    fi
  done
  [ $count -gt 0 ] || fail "$name: no XML files"
  echo "$name: $count files validated"
done
# What XML escaped reads back as the manifest wrote it.
case $(xpath "$out/lv-extra/domain-pc.xml" 'string(/domain/os/cmdline)') in
  *"meros.note=<a&b> 'quoted'") ;;
  *) fail "lv-extra: the cmdline does not read back as written" ;;
esac
[ $direct_boots -gt 0 ] || fail "no direct-boot domain among the bundled scenarios"
[ $failures -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "ok: $direct_boots direct-boot domains"
