#!/usr/bin/env bash
# What the tests need, installed when it is missing. Sourced by tests/run.sh
# (README's test command) and so by .ci/run; `./tests/setup.sh` alone does
# the same and prints what it found.
#
# - Debian packages: a C linker (gcc: build scripts and proc macros link
#   for the host), busybox-static (test root filesystems), tmux (console
#   tests), lxc + lxc-templates (reference configs, tests/options.rs and the
#   side-by-side tests), iproute2 and nftables (inspecting state in tests),
#   btrfs-progs, e2fsprogs, xz-utils, openssh-client (storage tests: mkfs,
#   lxc-local tarballs, lxc-sshd's ssh-keygen), rsync (LXC's lxc-copy and
#   lxc-snapshot, run side by side), qemu-user-static (tests/qemu.rs runs
#   the binary under qemu-user, as on a foreign architecture), uidmap
#   (newuidmap/newgidmap: unprivileged containers) and procps (pkill). Recommended
#   packages come too, as apt installs them by default.
# - The Rust toolchain: cargo is looked up where rustup puts it even when
#   sudo's secure_path dropped ~/.cargo/bin (the invoking user's, then
#   root's); without any, rustup's default profile is installed for root.
#   rust-toolchain.toml names the toolchain, the musl target and rustfmt
#   and clippy; they are installed if missing.
#
# When run through sudo with the invoking user's toolchain, files the run
# creates as root in that user's checkout and toolchain are handed back to
# the user at exit (setup_restore_owner).

SETUP_PACKAGES=(gcc libc6-dev busybox-static tmux lxc lxc-templates iproute2 nftables
    btrfs-progs e2fsprogs xz-utils openssh-client rsync ca-certificates curl qemu-user-static
    uidmap procps)

setup_log() { echo "setup: $*" >&2; }

setup_die() {
    setup_log "$*"
    exit 1
}

# Debian packages of SETUP_PACKAGES that are not installed.
setup_missing_packages() {
    local p missing=()
    for p in "${SETUP_PACKAGES[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$p")
        fi
    done
    echo "${missing[@]}"
}

setup_packages() {
    command -v dpkg-query >/dev/null 2>&1 || {
        setup_log "not a Debian system: install ${SETUP_PACKAGES[*]} (or equivalents) yourself"
        return 0
    }
    local missing
    missing=$(setup_missing_packages)
    [ -z "$missing" ] && return 0
    [ "$(id -u)" = 0 ] || setup_die "missing packages: $missing; run as root (sudo ./tests/run.sh)"
    setup_log "installing $missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086 # one word per package
    apt-get install -y -qq $missing >/dev/null
}

# The home directory of user $1.
setup_home_of() { getent passwd "$1" | cut -d: -f6; }

# Put cargo on PATH (and point CARGO_HOME/RUSTUP_HOME at its installation)
# when the caller's PATH lacks it.
setup_find_cargo() {
    command -v cargo >/dev/null 2>&1 && return 0
    local dirs=() d home
    [ -n "${CARGO_HOME:-}" ] && dirs+=("$CARGO_HOME")
    if [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ]; then
        home=$(setup_home_of "$SUDO_USER")
        [ -n "$home" ] && dirs+=("$home/.cargo")
    fi
    dirs+=("$HOME/.cargo" /root/.cargo /usr/local/cargo)
    for d in "${dirs[@]}"; do
        [ -x "$d/bin/cargo" ] || continue
        export PATH="$d/bin:$PATH"
        export CARGO_HOME="${CARGO_HOME:-$d}"
        if [ -z "${RUSTUP_HOME:-}" ]; then
            if [ -d "$(dirname "$d")/.rustup" ]; then
                export RUSTUP_HOME="$(dirname "$d")/.rustup"
            elif [ -d /usr/local/rustup ] && [ "$d" = /usr/local/cargo ]; then
                export RUSTUP_HOME=/usr/local/rustup
            fi
        fi
        setup_log "using cargo from $d/bin (not on PATH: sudo's secure_path?)"
        return 0
    done
    return 1
}

# rustup's default profile for this user, from the rustup-init binary that
# https://sh.rustup.rs would fetch.
setup_install_rustup() {
    [ "$(id -u)" = 0 ] || setup_die "cargo not found: install rustup (https://rustup.rs) first"
    local arch init
    arch=$(uname -m)
    init=$(mktemp)
    setup_log "cargo not found: installing rustup's default profile for $(id -un)"
    curl --proto '=https' --tlsv1.2 -sSf \
        "https://static.rust-lang.org/rustup/dist/$arch-unknown-linux-gnu/rustup-init" -o "$init"
    chmod +x "$init"
    "$init" -y --profile default --default-toolchain none --no-modify-path >/dev/null
    rm -f "$init"
    export PATH="$HOME/.cargo/bin:$PATH"
}

# The user owning the checkout, and whether the toolchain is theirs.
setup_owner() {
    SETUP_OWNER_UID=$(stat -c %u .)
    SETUP_OWNER_GID=$(stat -c %g .)
}

# Run a command as the owner of the checkout (rustup writes to its home).
setup_as_owner() {
    if [ "$(id -u)" = 0 ] && [ "$SETUP_OWNER_UID" != 0 ] && [ -n "${SUDO_USER:-}" ] &&
        [ "$(id -u "$SUDO_USER")" = "$SETUP_OWNER_UID" ] && command -v setpriv >/dev/null; then
        HOME=$(setup_home_of "$SUDO_USER") setpriv --reuid="$SETUP_OWNER_UID" \
            --regid="$SETUP_OWNER_GID" --init-groups "$@"
    else
        "$@"
    fi
}

# Toolchain, target and components of rust-toolchain.toml.
setup_toolchain() {
    setup_find_cargo || setup_install_rustup
    command -v rustup >/dev/null 2>&1 || {
        setup_log "cargo without rustup: make sure the musl target, rustfmt and clippy are installed"
        return 0
    }
    # rustup installs the file's toolchain with its targets and components
    # on first use; older rustups need asking.
    setup_as_owner rustup toolchain install >/dev/null 2>&1 || setup_as_owner rustup show >/dev/null
    local installed
    installed=$(rustup component list --installed 2>/dev/null)
    echo "$installed" | grep -q '^rust-std-x86_64-unknown-linux-musl' ||
        setup_as_owner rustup target add x86_64-unknown-linux-musl
    echo "$installed" | grep -q '^rustfmt' || setup_as_owner rustup component add rustfmt
    echo "$installed" | grep -q '^clippy' || setup_as_owner rustup component add clippy
}

# Give back to the checkout's owner what root created in their checkout and
# toolchain (run at exit).
setup_restore_owner() {
    [ "$(id -u)" = 0 ] && [ "${SETUP_OWNER_UID:-0}" != 0 ] || return 0
    local d dirs=(target)
    for d in "${CARGO_HOME:-}" "${RUSTUP_HOME:-}"; do
        [ -n "$d" ] && [ -d "$d" ] && [ "$(stat -c %u "$d")" = "$SETUP_OWNER_UID" ] && dirs+=("$d")
    done
    chown -R --from=0:0 "$SETUP_OWNER_UID:$SETUP_OWNER_GID" "${dirs[@]}" 2>/dev/null || true
}

setup_all() {
    setup_owner
    trap setup_restore_owner EXIT
    setup_packages
    setup_toolchain
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    cd "$(dirname "$0")/.."
    setup_all
    setup_log "ok: $(cargo --version), $(rustc --version)"
fi
