#!/usr/bin/env bash
# The emulated architectures (CI, after release/build.sh): aarch64 and armv7
# lxcbox under qemu-user.
#  1. busybox-static of each architecture, from Debian's .deb
#     (apt-get download), unpacked into target/qemu/ARCH/;
#  2. binfmt_misc entries for qemu-aarch64 and qemu-arm (Debian's
#     /usr/lib/binfmt.d lines, flags OPF), so the kernel can exec those
#     binaries (qemu-user hands execve to the kernel);
#  3. the test suites that need no privileges beyond the emulator, built
#     for the target and run under qemu (cargo's target runner);
#  4. tests/qemu.rs on the host: the same applets byte for byte against the
#     native build, and lxc-execute of the busybox rootfs of each
#     architecture.
# Run as root. Arguments: the architectures (default: aarch64 armv7).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -gt 0 ]; then arches=("$@"); else arches=(aarch64 armv7); fi

declare -A DEB=([aarch64]=arm64 [armv7]=armhf)
declare -A TRIPLE=([aarch64]=aarch64-unknown-linux-musl [armv7]=armv7-unknown-linux-musleabihf)
declare -A QEMU=([aarch64]=qemu-aarch64 [armv7]=qemu-arm)

mkdir -p target/qemu
for arch in "${arches[@]}"; do
    dpkg --print-foreign-architectures | grep -qx "${DEB[$arch]}" || dpkg --add-architecture "${DEB[$arch]}"
done
apt-get update -qq
for arch in "${arches[@]}"; do
    d=target/qemu/$arch
    rm -rf "$d" "target/qemu/busybox-static_${DEB[$arch]}.deb"
    (cd target/qemu && apt-get download -qq "busybox-static:${DEB[$arch]}" &&
        mv busybox-static_*_"${DEB[$arch]}".deb "busybox-static_${DEB[$arch]}.deb")
    dpkg-deb -x "target/qemu/busybox-static_${DEB[$arch]}.deb" "$d"
    [ -x "$d/bin/busybox" ] || { mkdir -p "$d/bin"; cp "$d/usr/bin/busybox" "$d/bin/busybox"; }
done

[ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
for arch in "${arches[@]}"; do
    q=${QEMU[$arch]}
    [ -e "/proc/sys/fs/binfmt_misc/$q" ] || cat "/usr/lib/binfmt.d/$q.conf" > /proc/sys/fs/binfmt_misc/register
done

for arch in "${arches[@]}"; do
    t=${TRIPLE[$arch]}
    runner=CARGO_TARGET_$(echo "$t" | tr 'a-z-' 'A-Z_')_RUNNER
    echo "== $arch: unprivileged suites under ${QEMU[$arch]}-static"
    env "$runner=${QEMU[$arch]}-static" cargo test --target "$t" \
        --test dispatch --test config_parse --test config_update --test tools_listing \
        -- --skip running_container_is_seen_and_force_destroyed
done
echo "== tests/qemu.rs: native comparison and lxc-execute per architecture"
cargo test --test qemu -- --nocapture
