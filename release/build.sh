#!/bin/sh
# Release builds: one static lxcbox per architecture, each packed with
# symlinks.sh, the docs and a SHA-256 list into
# $OUT/lxcbox-VERSION-ARCH.tar.gz (OUT defaults to target/dist), plus
# $OUT/SHA256SUMS over the tarballs.
#
#   release/build.sh [TARGET...]
#
# Without arguments it builds every release target (TARGETS below). Each
# target's standard library comes from rustup (`rustup target add`, only
# here: rust-toolchain.toml lists the host's musl target alone, so that
# ordinary builds download nothing more); cross
# targets link with the toolchain's rust-lld (.cargo/config.toml), so no
# cross compiler is needed. A binary over the 3 MiB budget, or one that is
# not static, fails the build.
set -eu
cd "$(dirname "$0")/.."

budget=$((3 * 1024 * 1024))
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
out=${OUT:-target/dist}
# The release architectures.
TARGETS="x86_64-unknown-linux-musl aarch64-unknown-linux-musl armv7-unknown-linux-musleabihf
riscv64gc-unknown-linux-musl i686-unknown-linux-musl"
targets=${*:-$TARGETS}

# The architecture name users know (uname -m style) for a target triple.
arch_of() {
    case $1 in
        x86_64-*) echo x86_64 ;;
        aarch64-*) echo aarch64 ;;
        armv7-*) echo armv7 ;;
        riscv64*) echo riscv64 ;;
        i686-*) echo i686 ;;
        *) echo "${1%%-*}" ;;
    esac
}

# An ELF file is static when it has no PT_INTERP program header (no
# dynamic loader): e_phoff/e_phnum from the header, then each p_type.
is_static() {
    python3 - "$1" <<'EOF'
import struct, sys
d = open(sys.argv[1], "rb").read()
b64 = d[4] == 2
end = "<" if d[5] == 1 else ">"
if b64:
    phoff, = struct.unpack_from(end + "Q", d, 0x20)
    phentsize, phnum = struct.unpack_from(end + "HH", d, 0x36)
else:
    phoff, = struct.unpack_from(end + "I", d, 0x1c)
    phentsize, phnum = struct.unpack_from(end + "HH", d, 0x2a)
types = [struct.unpack_from(end + "I", d, phoff + i * phentsize)[0] for i in range(phnum)]
sys.exit(1 if 3 in types else 0)  # PT_INTERP = 3
EOF
}

installed=$(rustup target list --installed)
mkdir -p "$out"
report=""
for t in $targets; do
    case " $(echo "$installed" | tr '\n' ' ') " in
        *" $t "*) ;;
        *) rustup target add "$t" ;;
    esac
    echo "== $t"
    cargo build --release --locked --target "$t"
    bin=target/$t/release/lxcbox
    size=$(stat -c %s "$bin")
    if command -v python3 >/dev/null 2>&1 && ! is_static "$bin"; then
        echo "release: $bin is not static (it has a dynamic loader)" >&2
        exit 1
    fi
    if [ "$size" -gt "$budget" ]; then
        echo "release: $bin is $size bytes, over the 3 MiB budget" >&2
        exit 1
    fi
    arch=$(arch_of "$t")
    name=lxcbox-$version-$arch
    stage=target/dist-stage/$name
    rm -rf "$stage"
    mkdir -p "$stage"
    cp "$bin" "$stage/lxcbox"
    cp symlinks.sh README.md "$stage/"
    cp -r docs "$stage/docs"
    (cd "$stage" && find . -type f ! -name SHA256SUMS | sort | sed 's|^\./||' |
        xargs sha256sum > SHA256SUMS)
    # Reproducible: sorted, owned by root, dated by the last commit.
    when=$(git log -1 --format=%ct 2>/dev/null || echo 0)
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$when" \
        -C target/dist-stage -cf - "$name" | gzip -9n > "$out/$name.tar.gz"
    tsize=$(stat -c %s "$out/$name.tar.gz")
    report="$report$(printf '%-32s %-8s %9d bytes %6d KiB %3d%% of 3 MiB  %s.tar.gz %d KiB' \
        "$t" "$arch" "$size" $((size / 1024)) $((size * 100 / budget)) "$name" $((tsize / 1024)))
"
done
(cd "$out" && sha256sum lxcbox-"$version"-*.tar.gz > SHA256SUMS)
echo "== release $version in $out"
printf '%s' "$report"
