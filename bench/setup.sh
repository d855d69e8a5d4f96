# Sourced by bench/run.sh: builds identical container definitions for lxcbox
# (lxcpath $BXP, run directory $LXCBOX_RUNDIR) and LXC (lxcpath $LXP).
# Every path lives under $W, which run.sh removes on exit.

# Busybox applets linked into every benchmark rootfs.
BB_APPLETS="sh ls cat echo ps true false sleep mount touch mkdir id init head seq hostname"

# busybox_rootfs DIR: /bin/busybox (static) plus applet links, the usual
# empty top-level directories and an inittab whose only job is one
# long sleep, so that busybox init as a system container's PID 1 is idle.
busybox_rootfs() {
    local r=$1 a
    mkdir -p "$r"/bin "$r"/sbin "$r"/etc "$r"/proc "$r"/sys "$r"/dev "$r"/tmp "$r"/mnt "$r"/root
    cp /bin/busybox "$r/bin/busybox"
    for a in $BB_APPLETS; do ln -sf busybox "$r/bin/$a"; done
    ln -sf ../bin/busybox "$r/sbin/init"
    echo bench > "$r/etc/hostname"
    printf '::respawn:/bin/sleep 1000000\n' > "$r/etc/inittab"
}

# define NAME 'CONFIG TEXT' [rootfs]: the same config for both
# implementations; with "rootfs", each gets its own busybox rootfs under
# its lxcpath, and lxc.rootfs.path pointing at it.
define() {
    local name=$1 text=$2 with_rootfs=${3:-} p
    for p in "$BXP" "$LXP"; do
        mkdir -p "$p/$name"
        if [ -n "$with_rootfs" ]; then
            busybox_rootfs "$p/$name/rootfs"
            printf 'lxc.rootfs.path = dir:%s\n' "$p/$name/rootfs" > "$p/$name/config"
        else
            : > "$p/$name/config"
        fi
        printf '%b' "$text" >> "$p/$name/config"
    done
}

# LXC cannot run a console-less container on a non-terminal stdin without
# this (it binds the caller's tty as /dev/console); lxcbox accepts it too.
NOCONS='lxc.console.path = none\n'
SYSTEM_MOUNTS='lxc.mount.auto = proc:mixed sys:mixed cgroup:mixed\nlxc.autodev = 1\n'

setup_containers() {
    define shared "$NOCONS"
    define bbexec "$NOCONS$SYSTEM_MOUNTS" rootfs
    define sys "$NOCONS$SYSTEM_MOUNTS" rootfs
    # 100 idle processes under PID 1 (busybox sh), for the freeze row.
    define crowd "$NOCONS${SYSTEM_MOUNTS}lxc.init.cmd = /bin/sh /crowd.sh\n" rootfs
    for p in "$BXP" "$LXP"; do
        printf '%s\n' 'i=0; while [ $i -lt 100 ]; do sleep 1000000 & i=$((i+1)); done; wait' \
            > "$p/crowd/rootfs/crowd.sh"
    done
}
