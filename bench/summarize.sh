#!/bin/bash
# summarize.sh DIR: the Markdown tables of a bench/run.sh result directory
# (hyperfine JSON + memory/size/scale JSON), targets beside each figure.
set -euo pipefail
D=$1

# ROW|abs_ms|ratio_to_lxc|ratio_to_floor: the issue's targets for lxcbox.
TARGETS='exec-shared||0.4|2
exec-busybox||0.4|2
exec-busybox-cold||0.4|2
start-cycle||0.4|
info|1||
ls-1000|20||
freeze-idle|2||
freeze-100procs||0.5|
veth||0.5|
console|||
env40k||1|'

echo "Machine: $(jq -r '"\(.cores) cores (\(.cpu)), \(.memory), kernel \(.kernel), cgroups \(.cgroups); \(.lxc); lxcbox \(.lxcbox_commit); \(.date); load \(.load_before) before, \(.load_after // "?") after"' "$D/machine.json")"
echo
echo "Ratios and absolute targets use net times: rows with an \"sh\" line ran each command under \`sh -c\`, and that line's mean is subtracted first."
echo
echo "| row | command | mean ms | σ ms | min–max ms | lxcbox/LXC | lxcbox/floor | target | met |"
echo "|---|---|---|---|---|---|---|---|---|"
while IFS='|' read -r row abs rl rf; do
    f=$D/$row.json
    [ -f "$f" ] || continue
    jq -r --arg row "$row" --arg abs "$abs" --arg rl "$rl" --arg rf "$rf" '
      def ms: . * 1000 * 100 | round / 100;
      def r2: . * 100 | round / 100;
      (.results | map({(.command): .mean}) | add) as $m
      # Rows run under `sh -c` carry an "sh" reference: compare net times.
      | ($m.sh // 0) as $sh
      | .results[]
      | ($m.lxcbox // null | if . then . - $sh else . end) as $b
      | (if .command == "lxcbox" and $m.lxc then ($b / ($m.lxc - $sh) | r2) else null end) as $vl
      | (if .command == "lxcbox" and $m.floor then ($b / $m.floor | r2) else null end) as $vf
      | ([ (if $abs != "" then "≤ \($abs) ms" else empty end),
           (if $rl != "" then "≤ \($rl)x LXC" else empty end),
           (if $rf != "" then "≤ \($rf)x floor" else empty end) ] | join(", ")) as $t
      | ([ (if $abs != "" then ($b * 1000 <= ($abs | tonumber)) else empty end),
           (if $rl != "" and $vl != null then ($vl <= ($rl | tonumber)) else empty end),
           (if $rf != "" and $vf != null then ($vf <= ($rf | tonumber)) else empty end) ]) as $ok
      | ([.exit_codes[]? | select(. != 0)] | length) as $fail
      | "| \($row) | \(.command)\(if $fail > 0 then " (\($fail) of \(.exit_codes | length) runs failed)" else "" end) | \(.mean | ms) | \(.stddev // 0 | ms) | \(.min | ms)–\(.max | ms) | \($vl // "") | \($vf // "") | \(if .command == "lxcbox" then $t else "" end) | \(if .command != "lxcbox" or ($ok | length) == 0 then "" elif ($ok | all) then "met" else "**not met**" end) |"
    ' "$f"
done <<<"$TARGETS"

if [ -f "$D/memory.json" ]; then
    echo
    echo "| memory (kB) | lxcbox RSS / PSS / anon | LXC RSS / PSS / anon | target | met |"
    echo "|---|---|---|---|---|"
    jq -r '
      def cell($o; $k): if $o then "\($o[$k + "_rss_kb"]) / \($o[$k + "_pss_kb"]) / \($o[$k + "_anon_kb"])" else "–" end;
      "| monitor per running container | \(cell(.bx; "monitor")) | \(cell(.lx; "monitor")) | ≤ 1024 RSS | \(if .bx.monitor_rss_kb <= 1024 then "met" else "**not met**" end) |",
      "| lxc-init as PID 1 | \(cell(.bx; "init")) | \(cell(.lx; "init")) (tini-static: \(cell(.tini_static; "init"))) | ≤ tini-static | \(if .tini_static == null then "" elif .bx.init_rss_kb <= .tini_static.init_rss_kb then "met" else "**not met**" end) |",
      "| lxc-execute peak RSS (GNU time %M) | \(.bx.execute_peak_rss_kb) | \(.lx.execute_peak_rss_kb // "–") | < 4096 | \(if .bx.execute_peak_rss_kb < 4096 then "met" else "**not met**" end) |"
    ' "$D/memory.json"
fi
if [ -f "$D/size.json" ]; then
    echo
    jq -r '"Size: lxcbox \(.lxcbox_bytes) bytes (stripped static); LXC tools + liblxc \(.lxc_tools_and_lib_bytes) bytes (liblxc alone \(.liblxc_bytes); every file of the lxc and liblxc1 packages \(.lxc_packages_all_files_bytes))."' "$D/size.json"
fi
if [ -f "$D/scale.json" ]; then
    echo
    echo "| 100 containers | start all (ms) | stop all (ms) | monitors RSS total (kB) | monitors PSS total (kB) |"
    echo "|---|---|---|---|---|"
    jq -r 'to_entries[] | "| \(if .key == "bx" then "lxcbox" else "LXC" end) | \(.value.start_100_ms) | \(.value.stop_100_ms) | \(.value.monitors_rss_kb) | \(.value.monitors_pss_kb) |"' "$D/scale.json"
fi
