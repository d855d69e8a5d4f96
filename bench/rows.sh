# Sourced by bench/run.sh: one function per benchmark row. Each row starts
# what it needs and stops it again; run.sh's cleanup catches the rest.
# Timings go through hyperfine (JSON in $OUT/ROW.json); memory, size and
# scale figures are read from /proc and written as JSON by hand.

if [ "${QUICK:-0}" = 1 ]; then HF_OPTS=(--warmup 1 --runs 5); else HF_OPTS=(--warmup 3 --min-runs 20); fi

# hf ROW [-N] NAME CMD [NAME CMD]...: one hyperfine run comparing the
# commands; a command named "lxc" is dropped when LXC is not installed.
# -N runs them without a shell; otherwise hyperfine's sh runs them and its
# own startup time is subtracted. -i keeps going past failed runs (their
# exit codes stay in the JSON; summarize.sh counts them).
hf() {
    local row=$1 args=()
    shift
    while [ "$1" = -N ] || [ "$1" = -i ]; do args+=("$1"); shift; done
    while [ $# -gt 0 ]; do
        if [ "$1" != lxc ] || [ $HAVE_LXC = 1 ]; then args+=(-n "$1" "$2"); fi
        shift 2
    done
    hyperfine --style basic "${HF_OPTS[@]}" --export-json "$OUT/$row.json" "${args[@]}" >&2
}

# tool IMPL APPLET: the path of APPLET for "bx" (lxcbox) or "lx" (LXC).
tool() { if [ "$1" = bx ]; then echo "$BX/$2"; else echo "/usr/bin/$2"; fi; }
lxcpath() { if [ "$1" = bx ]; then echo "$BXP"; else echo "$LXP"; fi; }
impls() { if [ $HAVE_LXC = 1 ]; then echo bx lx; else echo bx; fi; }

up() { # IMPL NAME: start detached and wait until RUNNING
    "$(tool "$1" lxc-start)" -P "$(lxcpath "$1")" -n "$2" -d </dev/null
    "$(tool "$1" lxc-wait)" -P "$(lxcpath "$1")" -n "$2" -s RUNNING -t 20
}
# down IMPL NAME: stop; see row_start for why a failed lxc-stop is followed
# by waiting for STOPPED rather than aborting the run.
down() {
    "$(tool "$1" lxc-stop)" -P "$(lxcpath "$1")" -n "$2" -k ||
        "$(tool "$1" lxc-wait)" -P "$(lxcpath "$1")" -n "$2" -s STOPPED -t 10
}

# monitor_pid LXCPATH NAME: both implementations title their monitor
# "[lxc monitor] LXCPATH NAME".
monitor_pid() {
    local f
    for f in /proc/[0-9]*/cmdline; do
        if tr '\0' ' ' <"$f" 2>/dev/null | grep -qx "\[lxc monitor\] $1 $2 *"; then
            f=${f#/proc/}; echo "${f%/cmdline}"; return
        fi
    done
    return 1
}
# kb PID FIELD: VmRSS / RssAnon from status, Pss from smaps_rollup (kB).
kb() {
    if [ "$2" = Pss ]; then awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup"
    else awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status"; fi
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# The floor makes the namespaces both implementations give a container
# with a config (LXC 5's set): pid, mnt, ipc, uts, net, cgroup.
FLOOR="unshare --fork --pid --mount --ipc --uts --net --cgroup /bin/true"

row_exec() {
    local c=" -n shared -- /bin/true"
    hf exec-shared -N floor "$FLOOR" \
        lxcbox "$BX/lxc-execute -P $BXP$c" lxc "lxc-execute -P $LXP$c"
    c=" -n bbexec -- /bin/true"
    hf exec-busybox -N floor "$FLOOR" \
        lxcbox "$BX/lxc-execute -P $BXP$c" lxc "lxc-execute -P $LXP$c"
    # A start after a quiet spell, as a single start is in real life: the
    # first cgroup v1 migration then waits for an RCU grace period (see
    # docs/benchmarks.md); back-to-back runs mostly skip it.
    HF_OPTS_SAVED=("${HF_OPTS[@]}")
    HF_OPTS=("${HF_OPTS[@]}" --prepare "sleep 0.2")
    hf exec-busybox-cold -N floor "$FLOOR" \
        lxcbox "$BX/lxc-execute -P $BXP$c" lxc "lxc-execute -P $LXP$c"
    HF_OPTS=("${HF_OPTS_SAVED[@]}")
}

# 40,000 lxc.environment lines (issue 19: environment handling must be
# linear; LXC 5.0.2 takes seconds here). Few runs: LXC's take long.
row_env40k() {
    local i env=""
    for i in $(seq 0 39999); do env="${env}lxc.environment = V$i=value$i\n"; done
    define env40k "$NOCONS$SYSTEM_MOUNTS$env" rootfs
    local c=" -n env40k -- /bin/true" opts=(--warmup 1 --runs 5)
    [ "${QUICK:-0}" = 1 ] && opts=(--warmup 0 --runs 2)
    local args=(-N -n lxcbox "$BX/lxc-execute -P $BXP$c")
    [ $HAVE_LXC = 1 ] && args+=(-n lxc "lxc-execute -P $LXP$c")
    hyperfine --style basic "${opts[@]}" --export-json "$OUT/env40k.json" "${args[@]}" >&2
}

# The multi-command rows run under `sh -c` without hyperfine's shell (its
# correction is unreliable below 5 ms); the "sh" command measures that
# overhead and summarize.sh subtracts it before comparing.
SH_REF=(sh "sh -c true")

row_start() {
    local i t cmd=("${SH_REF[@]}")
    for i in $(impls); do
        t="-P $(lxcpath $i) -n sys"
        cmd+=("$([ $i = bx ] && echo lxcbox || echo lxc)"
            "sh -c '$(tool $i lxc-start) $t -d && $(tool $i lxc-wait) $t -s RUNNING && $(tool $i lxc-stop) $t -k'")
    done
    # -i: lxcbox's lxc-stop -k sometimes fails with "receiving: Connection
    # reset by peer" under load (the monitor exits before replying; the
    # container does stop). Counted as failed runs, not hidden.
    hf start-cycle -N -i "${cmd[@]}"
}

row_info() {
    local i
    for i in $(impls); do up $i sys; done
    hf info -N lxcbox "$BX/lxc-info -P $BXP -n sys -s" lxc "lxc-info -P $LXP -n sys -s"
    for i in $(impls); do down $i sys; done
}

row_ls() {
    local i n p
    for i in $(impls); do
        p=$W/ls-$i
        for n in $(seq -w 0 999); do
            mkdir -p "$p/c$n"
            printf 'lxc.rootfs.path = dir:%s/c%s/rootfs\nlxc.uts.name = c%s\n' "$p" "$n" "$n" >"$p/c$n/config"
        done
    done
    hf ls-1000 -N lxcbox "$BX/lxc-ls -P $W/ls-bx -f" lxc "lxc-ls -P $W/ls-lx -f"
}

row_freeze() {
    local i n
    for n in sys crowd; do
        for i in $(impls); do up $i $n; done
        sleep 1 # let crowd's shell fork its 100 sleeps
        local fz=("${SH_REF[@]}" lxcbox "sh -c '$BX/lxc-freeze -P $BXP -n $n && $BX/lxc-unfreeze -P $BXP -n $n'")
        [ $HAVE_LXC = 0 ] || fz+=(lxc "sh -c 'lxc-freeze -P $LXP -n $n && lxc-unfreeze -P $LXP -n $n'")
        hf "freeze-$([ $n = sys ] && echo idle || echo 100procs)" -N "${fz[@]}"
        for i in $(impls); do down $i $n; done
    done
}

row_memory() {
    local i m init peak tini="" js='{}'
    for i in $(impls); do
        up $i sys
        m=$(monitor_pid "$(lxcpath $i)" sys)
        js=$(jq --arg i $i --argjson r "$(kb $m VmRSS)" --argjson p "$(kb $m Pss)" --argjson a "$(kb $m RssAnon)" \
            '.[$i].monitor_rss_kb = $r | .[$i].monitor_pss_kb = $p | .[$i].monitor_anon_kb = $a' <<<"$js")
        down $i sys
        # lxc-init as PID 1 of an application container (the app sleeps).
        "$(tool $i lxc-execute)" -P "$(lxcpath $i)" -n bbexec -- /bin/sleep 1000000 </dev/null &
        BG_PIDS="${BG_PIDS:-} $!"
        "$(tool $i lxc-wait)" -P "$(lxcpath $i)" -n bbexec -s RUNNING -t 20
        sleep 0.3
        init=$("$(tool $i lxc-info)" -P "$(lxcpath $i)" -n bbexec -p -H)
        js=$(jq --arg i $i --argjson r "$(kb $init VmRSS)" --argjson p "$(kb $init Pss)" --argjson a "$(kb $init RssAnon)" \
            '.[$i].init_rss_kb = $r | .[$i].init_pss_kb = $p | .[$i].init_anon_kb = $a' <<<"$js")
        down $i bbexec
        # Peak RSS of lxc-execute (GNU time: largest process of the tree).
        peak=$(/usr/bin/time -f %M "$(tool $i lxc-execute)" -P "$(lxcpath $i)" -n bbexec -- /bin/true \
            2>&1 >/dev/null </dev/null | tail -1)
        js=$(jq --arg i $i --argjson k "$peak" '.[$i].execute_peak_rss_kb = $k' <<<"$js")
    done
    if tini=$(command -v tini-static); then
        "$tini" -s -- /bin/sleep 1000000 &
        local tp=$!
        sleep 0.3
        js=$(jq --argjson r "$(kb $tp VmRSS)" --argjson p "$(kb $tp Pss)" --argjson a "$(kb $tp RssAnon)" \
            '.tini_static.init_rss_kb = $r | .tini_static.init_pss_kb = $p | .tini_static.init_anon_kb = $a' <<<"$js")
        kill $tp; wait $tp 2>/dev/null || true
    fi
    echo "$js" >"$OUT/memory.json"
}

row_size() {
    local f lxc_files
    lxc_files=$(dpkg -L lxc liblxc1 2>/dev/null | while read -r f; do
        [ -f "$f" ] && [ ! -L "$f" ] && echo "$f"; done || true)
    jq -n --argjson b "$(stat -c %s "$BIN")" \
        --argjson tools "$(grep -E '/s?bin/|/libexec/|liblxc\.so' <<<"$lxc_files" | xargs -r stat -c %s | awk '{s+=$1} END {print s+0}')" \
        --argjson all "$(xargs -r stat -c %s <<<"$lxc_files" | awk '{s+=$1} END {print s+0}')" \
        --argjson lib "$(grep 'liblxc\.so' <<<"$lxc_files" | xargs -r stat -c %s | awk '{s+=$1} END {print s+0}')" \
        '{lxcbox_bytes: $b, lxc_tools_and_lib_bytes: $tools, liblxc_bytes: $lib, lxc_packages_all_files_bytes: $all}' \
        >"$OUT/size.json"
}

row_scale() {
    local i n p t0 t1 t1b t2 rss pss m js='{}'
    for i in $(impls); do
        p=$(lxcpath $i)
        for n in $(seq -w 0 99); do
            mkdir -p "$p/s$n"
            sed "s|^lxc.rootfs.path = .*|lxc.rootfs.path = dir:$p/sys/rootfs|" "$p/sys/config" >"$p/s$n/config"
        done
        t0=$(now_ms)
        for n in $(seq -w 0 99); do "$(tool $i lxc-start)" -P "$p" -n "s$n" -d </dev/null; done
        for n in $(seq -w 0 99); do "$(tool $i lxc-wait)" -P "$p" -n "s$n" -s RUNNING -t 30; done
        t1=$(now_ms)
        rss=0 pss=0
        for n in $(seq -w 0 99); do
            m=$(monitor_pid "$p" "s$n")
            rss=$((rss + $(kb $m VmRSS))) pss=$((pss + $(kb $m Pss)))
        done
        t1b=$(now_ms)
        for n in $(seq -w 0 99); do down $i "s$n"; done
        t2=$(now_ms)
        js=$(jq --arg i $i --argjson s $((t1 - t0)) --argjson k $((t2 - t1b)) --argjson r $rss --argjson q $pss \
            '.[$i] = {start_100_ms: $s, stop_100_ms: $k, monitors_rss_kb: $r, monitors_pss_kb: $q}' <<<"$js")
        rm -rf "$p"/s[0-9][0-9]
    done
    echo "$js" >"$OUT/scale.json"
}

row_veth() {
    ip link add "$BRIDGE" type bridge
    ip link set "$BRIDGE" up
    define veth "$NOCONS${SYSTEM_MOUNTS}lxc.net.0.type = veth\nlxc.net.0.link = $BRIDGE\nlxc.net.0.flags = up\n" rootfs
    local c=" -n veth -- /bin/true"
    hf veth -N lxcbox "$BX/lxc-execute -P $BXP$c" lxc "lxc-execute -P $LXP$c"
    ip link del "$BRIDGE"
}

# docs/console.md's method: 100 MiB of zeros written on the console pty,
# carried to a terminal made by script(1). lxcbox's side runs the hub and
# the proxy through the test-suite helpers (tests/console_bench.rs).
row_console() {
    local t mib=104857600 cmd
    t=$(cd "$REPO" && cargo test --release --test console_bench --no-run --message-format=json 2>/dev/null |
        jq -r 'select(.reason == "compiler-artifact" and .target.name == "console_bench") | .executable')
    define cons "lxc.mount.auto = proc:mixed sys:ro\nlxc.autodev = 1\n" rootfs
    cmd=(floor "script -qfec 'head -c $mib /dev/zero' /dev/null"
        lxcbox-hub "script -qfec '$t --ignored --exact bench_fg --test-threads=1 -q' /dev/null"
        lxcbox-proxy "script -qfec '$t --ignored --exact bench_console --test-threads=1 -q' /dev/null")
    [ $HAVE_LXC = 0 ] || cmd+=(lxc "script -qfec 'lxc-start -P $LXP -n cons -F -- /bin/head -c $mib /dev/zero' /dev/null")
    local keep=("${HF_OPTS[@]}")
    HF_OPTS=(--runs 3)
    hf console -N "${cmd[@]}"
    HF_OPTS=("${keep[@]}")
}

machine_info() {
    local layout
    layout=$(awk '$3 == "cgroup" {v1 = v1 " " $2} $3 == "cgroup2" {v2 = v2 " " $2}
        END {print (v1 ? "v1:" v1 : "") (v1 && v2 ? "; " : "") (v2 ? "v2:" v2 : "")}' /proc/mounts)
    jq -n --arg date "$(date -Iseconds)" --arg cores "$(nproc)" --arg kernel "$(uname -r)" \
        --arg cpu "$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)" \
        --arg mem "$(awk '/MemTotal/ {print $2 " kB"}' /proc/meminfo)" \
        --arg cg "$layout" --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" \
        --arg lxc "$( [ $HAVE_LXC = 1 ] && lxc-start --version || echo "absent: $LXC_WHY")" \
        --arg commit "$(git -C "$REPO" rev-parse --short HEAD)" \
        --arg hf "$(hyperfine --version)" \
        '{date: $date, cores: $cores, cpu: $cpu, memory: $mem, kernel: $kernel, cgroups: $cg,
          load_before: $load, lxc: $lxc, lxcbox_commit: $commit, hyperfine: $hf}'
}
