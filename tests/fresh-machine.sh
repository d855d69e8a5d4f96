#!/usr/bin/env bash
# The fresh-machine proof: README's two commands, verbatim, on a Debian 12
# that has nothing but what README says a newcomer needs.
#
#   sudo tests/fresh-machine.sh [--as user|root|both] [--keep] [--offline] [DIR]
#
# 1. debootstrap builds a Debian 12 (bookworm) root filesystem in DIR
#    (default /var/tmp/lxcbox-fresh) from deb.debian.org, plus what README
#    lists as prerequisites (sudo, curl for rustup, `apt-get install gcc`).
# 2. The repository goes in as `git clone` would give it (git archive of
#    HEAD: commit your changes first).
# 3. rustup's default profile is installed the way https://sh.rustup.rs
#    installs it: that script only downloads and runs rustup-init, which
#    is fetched here from static.rust-lang.org directly (sh.rustup.rs
#    itself is not reachable from the development network).
# 4. On it (its own mount namespace rooted there by pivot_root, with the
#    host's /proc, /sys, cgroups, /dev and network, which the container
#    tests need), README's run command and
#    test command are run exactly as README.md spells them: by a user with
#    sudo rights (the test command through sudo, whose secure_path drops
#    ~/.cargo/bin), and/or by root in its own checkout.
#
# Times of the first build and of the test command are printed at the end.
# Run it under /work/bin/in-cgroup TAG on the shared development machine.
#
# --offline: for a machine whose network is gone. DIR must hold a Debian 12
# root filesystem debootstrap made earlier (kept with --keep), and what apt,
# rustup and cargo would download is taken from this host instead, each
# substitution logged: Debian packages from the host's installed copies
# (tests/host-debs.py: gcc and libc6-dev for README's prerequisite, the
# packages tests/setup.sh installs), rustup installed by the host's own
# rustup binary with no toolchain, then the toolchain rust-toolchain.toml
# names and the crate cache copied from the host. Everything else runs as
# in the online proof: README's two commands verbatim, as a sudo user and
# as root.
set -euo pipefail

as=both
keep=0
offline=0
dir=/var/tmp/lxcbox-fresh
while [ $# -gt 0 ]; do
    case "$1" in
    --as) as="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    --offline) offline=1; shift ;;
    -h | --help) sed -n '2,36p' "$0"; exit 0 ;;
    *) dir="$1"; shift ;;
    esac
done
case "$as" in user | root | both) ;; *) echo "--as user|root|both" >&2; exit 1 ;; esac
[ "$(id -u)" = 0 ] || { echo "run as root: debootstrap and mount namespaces need it" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "install debootstrap first" >&2; exit 1; }

repo=$(cd "$(dirname "$0")/.." && pwd)
mirror=http://deb.debian.org/debian
log() { echo "fresh-machine: $*" >&2; }

# README's command in the ```sh block after heading $1.
readme_command() {
    awk -v h="$1" '
        $0 == h { found = 1; next }
        found && /^```sh/ { inblock = 1; next }
        inblock && /^```/ { exit }
        inblock { print }
    ' "$repo/README.md"
}
run_cmd=$(readme_command "## Run a container")
test_cmd=$(readme_command "## Run the tests (as root)")
[ -n "$run_cmd" ] && [ -n "$test_cmd" ] || { log "README commands not found"; exit 1; }
log "run command:  $run_cmd"
log "test command: $test_cmd"

cleanup() {
    if [ "$keep" = 0 ]; then
        rm -rf --one-file-system "$dir"
    else
        log "kept $dir"
    fi
}
trap cleanup EXIT

if [ ! -x "$dir/usr/bin/sudo" ] && [ "$offline" = 1 ]; then
    log "--offline needs the Debian 12 rootfs an earlier (online) run left in $dir (--keep)"
    exit 1
fi
if [ ! -x "$dir/usr/bin/sudo" ]; then
    rm -rf --one-file-system "$dir"
    log "debootstrap bookworm into $dir"
    start=$(date +%s)
    debootstrap --include=sudo,curl,ca-certificates bookworm "$dir" "$mirror" >"$dir.debootstrap.log" 2>&1 ||
        { tail -20 "$dir.debootstrap.log"; exit 1; }
    log "debootstrap took $(($(date +%s) - start)) s"
fi
# Run a command on the fresh system as on a machine of its own, in a
# private mount namespace: the system's own mounts (its / as a mount point,
# the host's /proc, /sys and cgroups, /dev, a tmpfs /run as Debian 12 has;
# /tmp stays on its disk), none of them visible on the host; then
# pivot_root into it (not chroot: a chrooted process may not create user
# namespaces, and setns into a container's mount namespace would land
# outside the chroot), / shared as systemd leaves it, a clean environment.
in_root() {
    unshare --mount --propagation unchanged -- /bin/sh -c '
        set -e
        d=$1
        shift
        mount --make-rprivate /
        mount --bind "$d" "$d"
        for p in proc sys dev; do
            mkdir -p "$d/$p"
            mount --rbind "/$p" "$d/$p"
            mount --make-rslave "$d/$p"
        done
        mkdir -p "$d/run"
        mount -t tmpfs -o mode=755 tmpfs "$d/run"
        cd "$d"
        mkdir -p .oldroot
        pivot_root . .oldroot
        cd /
        umount -l /.oldroot
        rmdir /.oldroot
        mount --make-rshared /
        exec "$@"' sh "$dir" /usr/bin/env -i TERM=dumb LANG=C.UTF-8 \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

# No services start inside the fresh system (lxc's postinst would start lxc-net).
printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
chmod +x "$dir/usr/sbin/policy-rc.d"
cp /etc/resolv.conf "$dir/etc/resolv.conf"
# The machine's own name, as a fresh install lists it (sudo looks it up).
cp /etc/hosts "$dir/etc/hosts"

# A network whose TLS goes through an intercepting proxy needs the proxy's
# CA on every machine: add the host's CA certificates that the fresh system
# does not have (none on an ordinary network) to its trust store.
trust_host_cas() {
    local host=/etc/ssl/certs/ca-certificates.crt mine="$dir/etc/ssl/certs/ca-certificates.crt"
    local tmp f n=0
    [ -f "$host" ] && [ -f "$mine" ] || return 0
    tmp=$(mktemp -d)
    awk -v d="$tmp" '/BEGIN CERTIFICATE/ { n++ } n { print > (d "/" n ".crt") } /END CERTIFICATE/ { close(d "/" n ".crt") }' "$host"
    mkdir -p "$dir/usr/local/share/ca-certificates"
    for f in "$tmp"/*.crt; do
        grep -qF "$(sed -n 2p "$f")" "$mine" && continue
        n=$((n + 1))
        cp "$f" "$dir/usr/local/share/ca-certificates/host-network-$n.crt"
    done
    rm -rf "$tmp"
    if [ "$n" -gt 0 ]; then
        log "adding $n CA certificate(s) of this network (TLS proxy) to the fresh system"
        in_root update-ca-certificates >/dev/null
    fi
}
trust_host_cas
# Debian packages from the host's installed copies (offline only).
host_debs() {
    local got
    got=$(python3 "$repo/tests/host-debs.py" "$dir" "$@")
    log "OFFLINE: installed from the host's copies (apt cannot download): $(echo $got)"
    # The versions match the target's (the same Debian 12 point release);
    # --force-depends only lets dpkg configure them in one go.
    in_root env DEBIAN_FRONTEND=noninteractive dpkg --configure -a --force-depends >/dev/null
}
# README's prerequisite, as README spells it (apt pulls libc6-dev with gcc).
if [ "$offline" = 1 ]; then
    host_debs gcc libc6-dev
else
    log "apt-get install gcc"
    in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc >/dev/null
fi

# A checkout for $1 in $2, and rustup's default profile for $1.
prepare() {
    local user=$1 home=$2
    rm -rf "$dir$home/lxcbox"
    mkdir -p "$dir$home/lxcbox"
    git -C "$repo" archive HEAD | tar -x -C "$dir$home/lxcbox"
    if [ ! -x "$dir$home/.cargo/bin/cargo" ]; then
        if [ "$offline" = 1 ]; then
            # rustup-init is the rustup binary under another name.
            cp "$(readlink -f "$(command -v rustup)")" "$dir/tmp/rustup-init"
        else
            curl --proto '=https' --tlsv1.2 -sSf \
                "https://static.rust-lang.org/rustup/dist/x86_64-unknown-linux-gnu/rustup-init" \
                -o "$dir/tmp/rustup-init"
        fi
        chmod 755 "$dir/tmp/rustup-init"
    fi
    in_root chown -R "$user:" "$home"
    if [ ! -x "$dir$home/.cargo/bin/cargo" ]; then
        if [ "$offline" = 1 ]; then
            log "OFFLINE: installing rustup (the host's binary) for $user without a toolchain"
            in_root su - "$user" -c '/tmp/rustup-init -y --profile default --default-toolchain none' >/dev/null
            offline_toolchain "$user" "$home"
        else
            log "installing rustup's default profile for $user"
            in_root su - "$user" -c '/tmp/rustup-init -y --profile default' >/dev/null
        fi
    fi
}

# What rustup and cargo would download, from this host: the toolchain
# rust-toolchain.toml names (with its musl target, rustfmt, clippy) and the
# crate cache.
offline_toolchain() {
    local user=$1 home=$2 channel src
    channel=$(sed -n 's/^channel = "\(.*\)"/\1/p' "$repo/rust-toolchain.toml")
    src=$(rustup toolchain list -v | awk -v c="$channel" 'index($1, c "-") == 1 { print $NF }')
    [ -n "$src" ] || { log "this host has no $channel toolchain to copy"; exit 1; }
    log "OFFLINE: copying the host's $channel toolchain and crate cache for $user"
    mkdir -p "$dir$home/.rustup/toolchains" "$dir$home/.cargo"
    cp -a "$(readlink -f "$src")" "$dir$home/.rustup/toolchains/$channel-x86_64-unknown-linux-gnu"
    cp -a "${CARGO_HOME:-$HOME/.cargo}/registry" "$dir$home/.cargo/"
    in_root chown -R "$user:" "$home/.rustup" "$home/.cargo"
}

# Run README's commands as $1 (a login shell: what the user's shell would
# have on PATH after rustup's install, i.e. ~/.cargo/env).
readme() {
    local user=$1 home=$2 t0 t1 t2
    log "[$user] $run_cmd"
    t0=$(date +%s)
    if ! in_root su - "$user" -c "cd ~/lxcbox && $run_cmd" >"$dir.run-$user.log" 2>&1; then
        tail -20 "$dir.run-$user.log"
        log "[$user] run command failed (log: $dir.run-$user.log)"
        exit 1
    fi
    tail -3 "$dir.run-$user.log"
    grep -q "I am PID [0-9]" "$dir.run-$user.log" || { log "[$user] no \"I am PID N\" line"; exit 1; }
    t1=$(date +%s)
    if [ "$offline" = 1 ]; then
        # shellcheck source=tests/setup.sh
        . "$repo/tests/setup.sh"
        host_debs "${SETUP_PACKAGES[@]}"
    fi
    log "[$user] $test_cmd"
    local verdict=passed
    if ! in_root su - "$user" -c "cd ~/lxcbox && $test_cmd" >"$dir.test-$user.log" 2>&1; then
        grep -a -E "^test .*FAILED|panicked at" "$dir.test-$user.log" | head -40
        log "[$user] test command failed (log: $dir.test-$user.log)"
        verdict=FAILED
        failed=1
    fi
    t2=$(date +%s)
    local passed
    passed=$(grep -a -E "^test result" "$dir.test-$user.log" |
        awk '{ p += $4; f += $6 } END { print p " tests passed, " f " failed" }')
    times+=("$user: first build + run command $((t1 - t0)) s; test command $((t2 - t1)) s, $verdict ($passed)")
}

times=()
failed=0
if [ "$as" != root ]; then
    in_root id newbie >/dev/null 2>&1 || in_root useradd -m -s /bin/bash newbie
    echo 'newbie ALL=(ALL) NOPASSWD: ALL' >"$dir/etc/sudoers.d/newbie"
    chmod 440 "$dir/etc/sudoers.d/newbie"
    prepare newbie /home/newbie
    readme newbie /home/newbie
fi
if [ "$as" != user ]; then
    prepare root /root
    readme root /root
fi
if [ "$failed" = 0 ]; then
    log "README's two commands passed on a fresh Debian 12:"
else
    log "README's run command passed on a fresh Debian 12; its test command had failures:"
fi
for t in "${times[@]}"; do log "  $t"; done
exit "$failed"
