#!/usr/bin/env bash
# Installs every package meros-test needs to build, test and run scenarios
# on Debian 12. Idempotent: when everything is there, it only says so.
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build pkg-config git ccache clang libclang-rt-14-dev
  libyaml-cpp-dev libtinyxml2-dev nlohmann-json3-dev libssh-dev libre2-dev
  libnftnl-dev libmnl-dev libnftables-dev libnl-3-dev libnl-route-3-dev libpcap-dev
  libboost-dev libboost-filesystem-dev libgtest-dev libgmock-dev libcli11-dev help2man
  # run: VMs, images, networks
  qemu-system-x86 qemu-utils e2fsprogs busybox-static dropbear-bin debootstrap
  nftables iproute2 openssh-client openssh-sftp-server netcat-openbsd procps psmisc kmod curl util-linux
  # kernel builds
  linux-source-6.1 bc bison flex libelf-dev libssl-dev cpio xz-utils
  # aarch64 VMs: QEMU's virt machine, the cross compilers (arm64 kernels,
  # the static aarch64 meros-guest), readelf (binutils) for the arm64 guest
  # tools' libraries and qemu-aarch64-static to run arm64 busybox at build time
  qemu-system-arm gcc-aarch64-linux-gnu g++-aarch64-linux-gnu binutils qemu-user-static
  # tests and benchmarks
  jq fdisk
  libxml2-utils
  # the libvirt export test: virt-xml-validate
  libvirt-clients
  # GUI forwarding (exec --gui) and its tests: waypipe, a headless weston,
  # wayland-info
  waypipe weston wayland-utils
  # the HTML report's browser test, the JSON Schema and CI-template tests
  chromium python3-jsonschema python3-yaml
)

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: run as root (sudo $0)" >&2
  exit 3
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps.sh: all ${#packages[@]} packages are installed"
  exit 0
fi

echo "install-deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
