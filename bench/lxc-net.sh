#!/bin/bash
# lxc-net side by side: lxcbox's built-in lxc-net against LXC 5.0.2's
# /usr/libexec/lxc/lxc-net script (ip + nft + dnsmasq), on a test bridge.
# Run as root: bench/lxc-net.sh [RUNS]. Needs hyperfine, nft, dnsmasq
# (Debian: dnsmasq-base) for the LXC side. Removes what it made on exit.
# Measures: a start+stop cycle, and the resident memory of the DHCP server.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
RUNS=${1:-20}
BIN=$REPO/target/x86_64-unknown-linux-musl/release/lxcbox
[ -x "$BIN" ] || (cd "$REPO" && cargo build --release --target x86_64-unknown-linux-musl)
T=$(mktemp -d)
# LXC's script turns ip_forward on and leaves it on: put it back after.
FWD=$(cat /proc/sys/net/ipv4/ip_forward)
BR=lxbbench$$
BR=${BR:0:15}
export LXCBOX_RUNDIR=$T/run
cleanup() {
    "$BIN" lxc-net -f "$T/lxc-net" stop >/dev/null 2>&1 || true
    sh "$T/lxc-net.lxc" stop >/dev/null 2>&1 || true
    ip link del "$BR" 2>/dev/null || true
    rm -rf "$T"
    echo "$FWD" > /proc/sys/net/ipv4/ip_forward
}
trap cleanup EXIT
cat > "$T/lxc-net" <<E
USE_LXC_BRIDGE="true"
LXC_BRIDGE="$BR"
LXC_ADDR="10.249.77.1"
LXC_NETMASK="255.255.255.0"
LXC_NETWORK="10.249.77.0/24"
LXC_DHCP_RANGE="10.249.77.2,10.249.77.254"
LXC_DHCP_MAX="253"
LXCBOX_DHCP_LEASEFILE="$T/leases"
E
# LXC's script reads \$distrosysconfdir/lxc: point it at our file.
cp "$T/lxc-net" "$T/lxc"
sed -e "s|^distrosysconfdir=.*|distrosysconfdir=\"$T\"|" -e "s|^varrun=.*|varrun=\"$T/lxcrun\"|" \
    -e "s|^varlib=.*|varlib=\"$T\"|" /usr/libexec/lxc/lxc-net > "$T/lxc-net.lxc"

X="$BIN lxc-net -f $T/lxc-net"
L="sh $T/lxc-net.lxc"
hf() { hyperfine --runs "$RUNS" --warmup 2 --style basic "$@" 2>&1 | grep -E "Benchmark|Time|Range"; }
hf -n "lxcbox start" --prepare "$X stop >/dev/null 2>&1; true" "$X start"
hf -n "lxcbox stop" --prepare "$X stop >/dev/null 2>&1; $X start" "$X stop"
hf -n "LXC start" --prepare "$L stop >/dev/null 2>&1; true" "$L start"
hf -n "LXC stop" --prepare "$L stop >/dev/null 2>&1; $L start" "$L stop"
$X stop >/dev/null 2>&1 || true
$L stop >/dev/null 2>&1 || true

"$BIN" lxc-net -f "$T/lxc-net" start
pid=$("$BIN" lxc-net -f "$T/lxc-net" --json status | sed -n 's/.*"pid": \([0-9]*\).*/\1/p')
echo "lxcbox DHCP server: $(grep -E 'VmRSS|RssAnon|RssFile' /proc/$pid/status | tr -s ' \t' ' ' | paste -sd,)"
"$BIN" lxc-net -f "$T/lxc-net" stop
sh "$T/lxc-net.lxc" start
pid=$(cat "$T/lxcrun/dnsmasq.pid")
echo "LXC's dnsmasq:      $(grep -E 'VmRSS|RssAnon|RssFile' /proc/$pid/status | tr -s ' \t' ' ' | paste -sd,)"
sh "$T/lxc-net.lxc" stop
