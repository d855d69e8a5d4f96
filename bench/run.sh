#!/bin/bash
# lxcbox against LXC, side by side. Run as root from anywhere:
#
#   bench/run.sh [--install-lxc] [--quick] [--out DIR] [ROW...]
#
# ROWs (default: all): exec start info ls freeze memory size scale veth console env40k
# Builds the release binary, defines identical containers for both
# implementations in private lxcpaths under a temp dir, measures with
# hyperfine, writes the raw JSON and summary.md to DIR (default
# bench/results/DATE) and removes everything it created on exit.
# See docs/benchmarks.md for what each row measures and the targets.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
# A backtrace requested for the developer's shell would make every error
# value capture one (anyhow), which no user pays: measure without.
unset RUST_BACKTRACE RUST_LIB_BACKTRACE
REPO=$(dirname "$HERE")
QUICK=0
INSTALL=0
OUT=""
ROWS=()
while [ $# -gt 0 ]; do
    case $1 in
    --install-lxc) INSTALL=1 ;;
    --quick) QUICK=1 ;;
    --out) OUT=$2; shift ;;
    -h | --help) sed -n '2,11p' "$0"; exit 0 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) ROWS+=("$1") ;;
    esac
    shift
done
[ ${#ROWS[@]} -gt 0 ] || ROWS=(exec start info ls freeze memory size scale veth console env40k)
[ "$(id -u)" = 0 ] || { echo "bench/run.sh must run as root (it starts containers)" >&2; exit 1; }
command -v hyperfine >/dev/null || { echo "hyperfine is required (apt-get install hyperfine)" >&2; exit 1; }

if [ $INSTALL = 1 ]; then
    # tini only serves the lxc-init memory comparison.
    DEBIAN_FRONTEND=noninteractive apt-get install -y lxc tini
fi
HAVE_LXC=1
LXC_WHY=""
if ! [ -x /usr/bin/lxc-execute ] || ! [ -x /usr/bin/lxc-start ]; then
    HAVE_LXC=0
    LXC_WHY="LXC is not installed (/usr/bin/lxc-execute missing; rerun with --install-lxc)"
    echo "note: skipping LXC's column: $LXC_WHY" >&2
fi

echo "building the release binary..." >&2
(cd "$REPO" && cargo build --release --quiet)
BIN=$REPO/target/x86_64-unknown-linux-musl/release/lxcbox

OUT=${OUT:-$HERE/results/$(date +%F)}
mkdir -p "$OUT"
W=$(mktemp -d /tmp/lxcbox-bench.XXXXXX)
BXP=$W/bx       # lxcbox's lxcpath
LXP=$W/lx       # LXC's lxcpath
BX=$W/bin       # lxc-* links to the binary under test
export LXCBOX_RUNDIR=$W/run
mkdir -p "$BXP" "$LXP" "$BX"
"$BIN" --install -s "$BX" >/dev/null
BRIDGE=bxbench$$

. "$HERE/setup.sh"
. "$HERE/rows.sh"

cleanup() {
    set +e
    # Stop what this run started, by container name in our own lxcpaths only.
    local p n
    for p in "$BXP" "$LXP"; do
        for n in "$p"/*/; do
            n=$(basename "$n")
            if [ "$p" = "$BXP" ]; then
                "$BX/lxc-stop" -P "$p" -n "$n" -k >/dev/null 2>&1
            elif [ $HAVE_LXC = 1 ]; then
                lxc-stop -P "$p" -n "$n" -k >/dev/null 2>&1
            fi
        done
    done
    [ -n "${BG_PIDS:-}" ] && kill $BG_PIDS 2>/dev/null
    ip link del "$BRIDGE" 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

machine_info > "$OUT/machine.json"
setup_containers
for r in "${ROWS[@]}"; do
    echo "== $r" >&2
    "row_$r"
done
jq --arg l "$(cut -d' ' -f1-3 /proc/loadavg)" '.load_after = $l' "$OUT/machine.json" > "$W/m" &&
    mv "$W/m" "$OUT/machine.json"
"$HERE/summarize.sh" "$OUT" > "$OUT/summary.md"
cat "$OUT/summary.md"
