#!/usr/bin/env bash
# The project's test command (see README.md). Run as root: the integration
# tests start real containers.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --check
# The applet modules are declared by build.rs (generated code), where
# cargo fmt does not look: check them by name.
rustfmt --edition 2021 --check applets/*.rs
echo "== cargo clippy"
cargo clippy --all-targets -- -D warnings
echo "== cargo test"
cargo test --no-fail-fast 2>&1 | tee /tmp/lxcbox-test.log
echo "== release build (static musl)"
cargo build --release --target x86_64-unknown-linux-musl
bin=target/x86_64-unknown-linux-musl/release/lxcbox
size=$(stat -c %s "$bin")
echo "static binary: $bin: $size bytes ($((size / 1024)) KiB), budget 3 MiB"
file "$bin" 2>/dev/null || true
[ "$size" -lt $((3 * 1024 * 1024)) ] || { echo "binary over the 3 MiB budget"; exit 1; }
