#!/bin/busybox sh
# A stand-in for the image fixtures' /opt/meros/init, for the vm tests:
# reads the meros.* settings from the kernel command line, names and
# addresses the NICs by MAC, serves port 22 (a plain echo server, enough
# for a readiness probe) and prints the lines the harness waits for.
# meros.test=fail makes it report MEROS-FAILED instead.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
ip link set lo up
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    meros.hostname=*) hostname "${arg#*=}" ;;
    meros.if=*)
      spec=${arg#*=}; mac=${spec%%,*}; rest=${spec#*,}; name=${rest%%,*}; address=${rest#*,}
      for dev in /sys/class/net/*; do
        [ "$(cat "$dev/address")" = "$mac" ] || continue
        ip link set "${dev##*/}" name "$name"
        ip addr add "$address" dev "$name"
        ip link set "$name" up
      done ;;
    meros.test=fail) echo "MEROS-FAILED the test asked for it"; exec sleep 100000 ;;
  esac
done
nc -ll -p 22 -e /bin/cat &
# Link changes of eth0 (set_link) show on the console. The first state is
# read before MEROS-READY, so no change made after it can be missed.
if [ -e /sys/class/net/eth0 ]; then
  last=$(cat /sys/class/net/eth0/carrier)
  (while sleep 0.1; do
    now=$(cat /sys/class/net/eth0/carrier); [ "$now" = "$last" ] || echo "CARRIER eth0 $now"; last=$now
  done) &
fi
echo "MEROS-READY hostname=$(hostname)"
exec sleep 100000
