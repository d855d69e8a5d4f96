#!/usr/bin/env bash
# The test suite again as on Linux 4.19 (CI's second pass, after
# tests/run.sh has built everything): examples/old_kernel puts a seccomp
# filter in front of cargo test that answers every system call newer than
# 4.19 with ENOSYS, so each fallback of src/sys runs (see docs/kernel.md).
# `--qemu`: also refuse namespace flags in clone(2), as qemu-user does.
#
# Left out: tests/seccomp.rs and tests/stock_configs.rs, whose subject is
# lxc.seccomp.profile itself. Under an outer filter a container is already
# seccomp-confined, and LXC and lxcbox then load no profile (without
# lxc.seccomp.allow_nesting), as inside Docker: their subject does not
# exist there.
set -euo pipefail
cd "$(dirname "$0")/.."
launcher=target/x86_64-unknown-linux-musl/debug/examples/old_kernel
[ -x "$launcher" ] || cargo build --examples
args=()
if [ "${1:-}" = --qemu ]; then
    args+=(--qemu)
fi
tests=()
for f in tests/*.rs; do
    n=$(basename "$f" .rs)
    case $n in
        seccomp | stock_configs) ;;
        *) tests+=(--test "$n") ;;
    esac
done
exec "$launcher" "${args[@]}" cargo test --no-fail-fast --lib --bins "${tests[@]}"
