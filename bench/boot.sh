#!/usr/bin/env bash
# Boot-to-ready benchmark under TCG: 1 and 3 VMs, median of 5 runs, through
# the Machine API (build/bench_boot) and through a plain shell baseline
# (qemu-system-x86_64 in the background, consoles polled with grep) in the
# same run, so the two numbers share the machine's load.
#
# usage: bench/boot.sh [--kernel BZIMAGE] [--image BASE] [--runs N] [--build DIR]
#   --kernel  default $MEROS_TEST_KERNEL, else the store's default kernel
#   --image   a disk whose /opt/meros/init prints MEROS-READY on ttyS0; default:
#             built here from busybox-static and tests/vm/testdata/init.sh
#             (the busybox image fixture fits too, once it exists)
# The target: one VM ready in under 3 s.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
store_kernel() {  # the newest x86_64 default kernel in the fixture store
  for m in "${MEROS_TEST_CACHE:-/var/cache/meros-test}"/kernels/*/manifest.json; do
    [ "$(jq -r '.name + " " + .inputs.arch' "$m" 2>/dev/null)" = "default x86_64" ] && echo "$m"
  done | xargs -r ls -t | head -1 | xargs -r dirname | sed 's|$|/bzImage|'
}
kernel=${MEROS_TEST_KERNEL:-$(store_kernel)}
image=""
runs=5
build=$top/build
while [ $# -gt 0 ]; do
  case $1 in
    --kernel) kernel=$2; shift 2 ;;
    --image) image=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    *) sed -n '2,13p' "$0"; exit 2 ;;
  esac
done
[ -f "$kernel" ] || { echo "no kernel at $kernel (--kernel)"; exit 3; }
[ -x "$build/bench_boot" ] || { echo "build bench_boot first: ninja -C $build bench_boot"; exit 3; }

work=$(mktemp -d /tmp/meros-bench-boot.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

if [ -z "$image" ]; then
  busybox=$(command -v busybox) || { echo "busybox not found (install busybox-static)"; exit 3; }
  mkdir -p "$work/rootfs/bin" "$work/rootfs/opt/meros" "$work/rootfs/dev" "$work/rootfs/proc" "$work/rootfs/sys"
  cp "$busybox" "$work/rootfs/bin/busybox"
  install -m 755 "$top/tests/vm/testdata/init.sh" "$work/rootfs/opt/meros/init"
  mkfs.ext4 -q -F -d "$work/rootfs" "$work/disk.raw" 16M > /dev/null
  qemu-img convert -f raw -O qcow2 "$work/disk.raw" "$work/base.qcow2"
  image=$work/base.qcow2
fi
format=$(qemu-img info --output=json "$image" | sed -n 's/.*"format": "\([a-z0-9]*\)".*/\1/p' | head -1)

. "$here/common.sh"

# One baseline run: n plain QEMUs, polled until every console shows MEROS-READY.
baseline_run() {
  local n=$1 i start all
  pids=()
  start=$(now_ms)
  for i in $(seq "$n"); do
    qemu-img create -q -f qcow2 -b "$image" -F "$format" "$work/overlay$i.qcow2"
    : > "$work/console$i.log"
    qemu-system-x86_64 -machine microvm,acpi=off -accel tcg -cpu max -m 128 -nodefaults -no-user-config \
      -nographic -no-reboot -serial "file:$work/console$i.log" -kernel "$kernel" \
      -append "console=ttyS0 root=/dev/vda rw init=/opt/meros/init quiet panic=-1" \
      -drive "id=root,if=none,format=qcow2,cache=unsafe,file=$work/overlay$i.qcow2" \
      -device virtio-blk-device,drive=root > /dev/null 2>&1 &
    pids+=($!)
  done
  while true; do
    all=1
    for i in $(seq "$n"); do grep -q MEROS-READY "$work/console$i.log" || { all=0; break; }; done
    [ $all = 1 ] && break
    [ $(( $(now_ms) - start )) -gt 120000 ] && { echo "baseline: not ready after 120 s" >&2; exit 1; }
    sleep 0.01
  done
  echo $(( $(now_ms) - start ))
  for pid in "${pids[@]}"; do kill -9 "$pid"; wait "$pid" 2>/dev/null || true; done
  pids=()
  rm -f "$work"/overlay*.qcow2
}

echo "kernel: $kernel"
echo "image:  $image"
for n in 1 3; do
  times=$(for r in $(seq "$runs"); do baseline_run "$n"; done) || exit 1
  plural=$([ "$n" = 1 ] && echo " " || echo "s")
  printf 'shell-baseline %d VM%s: all ready %6.0f ms (median of %d)\n' "$n" "$plural" "$(echo "$times" | median)" "$runs"
done
api=$("$build/bench_boot" --kernel "$kernel" --image "$image" --runs "$runs" --vms 1,3 --dir "$work/api")
echo "$api"
one=$(echo "$api" | sed -n 's/^machine-api 1 VM .*all ready *\([0-9]*\) ms.*/\1/p')
if [ -n "$one" ] && [ "$one" -lt 3000 ]; then verdict=met; else verdict=missed; fi
echo "target: one VM ready in under 3000 ms: $verdict (${one:-?} ms)"
