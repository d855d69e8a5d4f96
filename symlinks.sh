#!/bin/sh
# Install the lxc-* applet links next to (or into DIR for) the lxcbox binary.
# The list of names lives in the binary itself: this is a thin wrapper over
# `lxcbox --install -s DIR`.
set -e
here=$(cd "$(dirname "$0")" && pwd)
bin=${LXCBOX:-}
if [ -z "$bin" ]; then
    for c in "$here/lxcbox" "$here/target/x86_64-unknown-linux-musl/release/lxcbox" \
             "$here/target/release/lxcbox" "$(command -v lxcbox 2>/dev/null)"; do
        if [ -n "$c" ] && [ -x "$c" ]; then bin=$c; break; fi
    done
fi
[ -n "$bin" ] || { echo "symlinks.sh: lxcbox binary not found (set LXCBOX=/path/to/lxcbox)" >&2; exit 1; }
dir=${1:-$(dirname "$bin")}
exec "$bin" --install -s "$dir"
