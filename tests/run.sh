#!/usr/bin/env bash
# The project's test command (see README.md): `sudo ./tests/run.sh`, or as
# root `./tests/run.sh`. Installs what the tests need when it is missing
# (tests/setup.sh: Debian packages, the Rust toolchain of
# rust-toolchain.toml, found even where sudo dropped ~/.cargo/bin from
# PATH), then runs fmt, clippy, every test (the integration tests start
# real containers, hence root) and the static release build.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=tests/setup.sh
. tests/setup.sh
[ "$(id -u)" = 0 ] || setup_die "run as root (sudo ./tests/run.sh): the integration tests start real containers"
setup_all

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
