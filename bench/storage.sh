#!/bin/bash
# Storage benchmarks, lxcbox against LXC 5.0.2 and cp -a, side by side.
# Run as root:
#
#   bench/storage.sh [--quick] [--out DIR]
#
# Rows:
#   copy      lxc-copy (full copy) of a 1 GiB busybox-plus-files rootfs:
#             lxcbox, LXC's lxc-copy (rsync), and `cp -a` of the same tree,
#             all on the same filesystem (the temp dir's).
#   snapshot  lxc-copy -s of a 100 MiB and of a 1 GiB rootfs (overlay):
#             must not grow with the rootfs.
#   create    lxc-create -t busybox: lxcbox's built-in template, Debian's
#             lxc-busybox script under lxcbox, and LXC.
# Writes hyperfine JSON and storage.md to DIR (default
# bench/results/DATE) and removes everything it made. Targets (issue 12):
# full copy at least as fast as cp -a and at most 0.5x LXC; snapshot under
# 50 ms at any size.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
QUICK=0
OUT=""
while [ $# -gt 0 ]; do
    case $1 in
    --quick) QUICK=1 ;;
    --out) OUT=$2; shift ;;
    -h | --help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
[ "$(id -u)" = 0 ] || { echo "bench/storage.sh must run as root" >&2; exit 1; }
command -v hyperfine >/dev/null || { echo "hyperfine is required" >&2; exit 1; }
HAVE_LXC=0
[ -x /usr/bin/lxc-copy ] && HAVE_LXC=1

echo "building the release binary..." >&2
(cd "$REPO" && cargo build --release --quiet)
BIN=$REPO/target/x86_64-unknown-linux-musl/release/lxcbox

OUT=${OUT:-$HERE/results/$(date +%F)}
mkdir -p "$OUT"
W=$(mktemp -d /tmp/lxcbox-storage-bench.XXXXXX)
export LXCBOX_RUNDIR=$W/run
P=$W/lxc
mkdir -p "$P"
cleanup() { rm -rf "$W"; }
trap cleanup EXIT

RUNS=5
[ $QUICK = 1 ] && RUNS=2
BASE=$W/base.conf
echo "lxc.net.0.type = empty" > "$BASE"

# A busybox container plus MIB of files: a few big ones and many small
# ones, random data so nothing is shared by accident.
make_origin() { # NAME MIB
    local n=$1 mib=$2
    "$BIN" lxc-create -P "$P" -n "$n" -t busybox -f "$BASE" >/dev/null
    local d=$P/$n/rootfs/data
    mkdir -p "$d/big" "$d/small"
    local big=$((mib / 2)) i
    for i in $(seq 1 8); do
        head -c $((big * 1024 * 1024 / 8)) /dev/urandom > "$d/big/f$i"
    done
    local small=$(( (mib - big) * 4 ))   # 256 KiB each
    head -c $((256 * 1024)) /dev/urandom > "$d/small/seed"
    for i in $(seq 1 "$small"); do
        cp "$d/small/seed" "$d/small/s$i"
        printf '%08d' "$i" | dd of="$d/small/s$i" conv=notrunc status=none
    done
    rm "$d/small/seed"
    sync
}

echo "making a 1 GiB and a 100 MiB origin..." >&2
make_origin big 1024
make_origin small 100
du -sh "$P/big/rootfs" "$P/small/rootfs" >&2

hf() { # NAME ARGS...
    local name=$1; shift
    hyperfine --style basic --export-json "$OUT/storage-$name.json" "$@" >&2
}

# copy: each run makes a fresh copy; the previous one is removed first.
# The origin is in the page cache after the warmup, for every contender.
PREP="$BIN lxc-destroy -P $P -n bx; rm -rf $W/cpcopy"
args=(--runs "$RUNS" --warmup 1
    -n "lxcbox lxc-copy" "$BIN lxc-copy -P $P -n big -N bx"
    -n "cp -a" "cp -a $P/big/rootfs $W/cpcopy")
if [ $HAVE_LXC = 1 ]; then
    PREP="$PREP; lxc-destroy -P $P -n lx"
    args+=(-n "LXC lxc-copy" "lxc-copy -P $P -n big -N lx")
fi
hf copy --prepare "($PREP) >/dev/null 2>&1 || true; sync" "${args[@]}"
$BIN lxc-destroy -P "$P" -n bx >/dev/null 2>&1 || true
rm -rf "$W/cpcopy"
[ $HAVE_LXC = 1 ] && { lxc-destroy -P "$P" -n lx >/dev/null 2>&1 || true; }

# snapshot: flat in the rootfs size.
SD="$BIN lxc-destroy -P $P -n s1; $BIN lxc-destroy -P $P -n s2"
args=(--runs $((RUNS * 4)) --warmup 2
    -n "lxcbox -s 100 MiB" "$BIN lxc-copy -P $P -n small -N s1 -s"
    -n "lxcbox -s 1 GiB" "$BIN lxc-copy -P $P -n big -N s2 -s")
if [ $HAVE_LXC = 1 ]; then
    SD="$SD; lxc-destroy -P $P -n s3; lxc-destroy -P $P -n s4"
    args+=(-n "LXC -s 100 MiB" "lxc-copy -P $P -n small -N s3 -s"
        -n "LXC -s 1 GiB" "lxc-copy -P $P -n big -N s4 -s")
fi
hf snapshot --prepare "($SD) >/dev/null 2>&1 || true" "${args[@]}"
$BIN lxc-destroy -P "$P" -n s1 >/dev/null 2>&1 || true
$BIN lxc-destroy -P "$P" -n s2 >/dev/null 2>&1 || true

# create: a busybox container from nothing.
NOTPL=$W/no-templates
mkdir -p "$NOTPL"
CD="$BIN lxc-destroy -P $P -n c1; $BIN lxc-destroy -P $P -n c2; lxc-destroy -P $P -n c3"
args=(--runs $((RUNS * 4)) --warmup 2
    -n "lxcbox built-in busybox" "env LXCBOX_TEMPLATEDIR=$NOTPL $BIN lxc-create -P $P -n c1 -t busybox -f $BASE")
if [ -x /usr/share/lxc/templates/lxc-busybox ]; then
    args+=(-n "lxcbox + lxc-busybox script" "$BIN lxc-create -P $P -n c2 -t busybox -f $BASE")
fi
if [ $HAVE_LXC = 1 ]; then
    args+=(-n "LXC lxc-create" "lxc-create -P $P -n c3 -t busybox -f $BASE")
fi
hf create --prepare "($CD) >/dev/null 2>&1 || true" "${args[@]}"

python3 - "$OUT" <<'PY'
import json, sys, os
out = sys.argv[1]
lines = ["# storage benchmarks", "", "| row | command | mean | stddev | min | max |", "|---|---|---|---|---|---|"]
for row in ["copy", "snapshot", "create"]:
    p = os.path.join(out, f"storage-{row}.json")
    if not os.path.exists(p):
        continue
    for r in json.load(open(p))["results"]:
        f = lambda x: f"{x*1000:.1f} ms" if x < 1 else f"{x:.3f} s"
        lines.append(f"| {row} | {r['command']} | {f(r['mean'])} | {f(r['stddev'] or 0)} | {f(r['min'])} | {f(r['max'])} |")
open(os.path.join(out, "storage.md"), "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
