//! Integration tests on the host's own cgroup layout (hybrid on the dev/CI
//! VMs; the assertions that need a specific controller check for it).
//! Root only. Every test uses a unique name and removes what it created
//! through a Drop guard, even when an assertion fails.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use lxcbox::cgroup::{CgroupSet, Layout, Mode};
use lxcbox::config::Config;
use rustix::process::Signal;

/// Removes the cgroup (after killing and reaping the test's children).
struct Guard {
    set: CgroupSet,
    children: Vec<Child>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.set.thaw();
        let _ = self.set.kill_all(Signal::KILL);
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = self.set.remove();
    }
}

fn uniq(tag: &str) -> String {
    format!("lxcbox-test-{}-{tag}", std::process::id())
}

fn make(tag: &str, cfg: &Config) -> Guard {
    let layout = Layout::discover().unwrap();
    let set = CgroupSet::create_payload(&layout, &uniq(tag), cfg, None).unwrap();
    Guard {
        set,
        children: Vec::new(),
    }
}

/// Start `/bin/sh -c SCRIPT` in the cgroup: the shell blocks on stdin until
/// it has been attached, so nothing it forks can start outside.
fn spawn(g: &mut Guard, script: &str) -> i32 {
    let mut c = Command::new("/bin/sh")
        .args(["-c", &format!("read _; {script}")])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = c.id() as i32;
    let mut stdin = c.stdin.take().unwrap();
    g.children.push(c);
    g.set.attach(pid).unwrap();
    stdin.write_all(b"go\n").unwrap();
    pid
}

/// Wait until `pid` runs `comm`.
fn wait_comm(pid: i32, comm: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        != comm
    {
        assert!(
            std::time::Instant::now() < deadline,
            "{pid} never ran {comm}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn create_suffix_and_remove() {
    let layout = Layout::discover().unwrap();
    let cfg = Config::default();
    let a = make("suffix", &cfg);
    assert_eq!(a.set.relative, format!("lxc.payload.{}", uniq("suffix")));
    assert_eq!(a.set.dirs.len(), layout.container_hierarchies().count());
    for p in a.set.paths() {
        assert!(p.is_dir(), "{} missing", p.display());
    }
    // The name is taken: LXC's numbered suffix.
    let b = make("suffix", &cfg);
    assert_eq!(a.set.relative.clone() + "-1", b.set.relative);
    // Monitor cgroup is separate.
    let m = CgroupSet::create_monitor(&layout, &uniq("suffix"), &cfg).unwrap();
    let m = Guard {
        set: m,
        children: Vec::new(),
    };
    assert_eq!(m.set.relative, format!("lxc.monitor.{}", uniq("suffix")));
    // Serializable for the monitor → tools hand-off.
    let json = serde_json::to_string(&a.set).unwrap();
    let back: CgroupSet = serde_json::from_str(&json).unwrap();
    assert_eq!(back, a.set);
    let paths = b.set.paths();
    b.set.remove().unwrap();
    for p in &paths {
        assert!(!p.exists(), "{} left behind", p.display());
    }
}

#[test]
fn lxc_cgroup_dir_and_parents_removed() {
    let layout = Layout::discover().unwrap();
    let cfg = Config {
        cgroup_dir: Some(format!("{}/inner", uniq("dir"))),
        ..Config::default()
    };
    let g = Guard {
        set: CgroupSet::create_payload(&layout, "c1", &cfg, None).unwrap(),
        children: Vec::new(),
    };
    assert_eq!(
        g.set.relative,
        format!("{}/inner/lxc.payload.c1", uniq("dir"))
    );
    let top: Vec<_> = layout
        .container_hierarchies()
        .map(|h| h.base_dir().join(uniq("dir")))
        .collect();
    assert!(top.iter().all(|p| p.is_dir()));
    g.set.remove().unwrap();
    for p in &top {
        assert!(!p.exists(), "{} left behind", p.display());
    }
}

#[test]
fn global_pattern_names_the_cgroup() {
    let layout = Layout::discover().unwrap();
    let pat = format!("{}/%n", uniq("pattern"));
    let g = Guard {
        set: CgroupSet::create_payload(&layout, "c2", &Config::default(), Some(&pat)).unwrap(),
        children: Vec::new(),
    };
    assert_eq!(g.set.relative, format!("{}/c2", uniq("pattern")));
    let top = layout
        .container_hierarchies()
        .next()
        .unwrap()
        .base_dir()
        .join(uniq("pattern"));
    assert!(top.is_dir());
    drop(g);
    assert!(!top.exists(), "{} left behind", top.display());
}

#[test]
fn config_limits_land_in_the_right_files() {
    let layout = Layout::discover().unwrap();
    if layout.mode() == Mode::Unified {
        return; // covered by cgroup_v2.rs
    }
    let mut cfg = Config::default();
    let mut v1 = vec![];
    if let Some(h) = layout.controller("memory") {
        // memsw exists only with swap accounting; listed first to show that
        // it is applied after memory.limit_in_bytes whatever the order.
        if h.base_dir().join("memory.memsw.limit_in_bytes").exists() {
            v1.push(("memory.memsw.limit_in_bytes", "629145600"));
        }
        v1.push(("memory.limit_in_bytes", "314572800"));
    }
    if layout.controller("cpu").is_some() {
        v1.push(("cpu.shares", "512"));
    }
    if layout.controller("pids").is_some() {
        v1.push(("pids.max", "50"));
    }
    if layout.controller("devices").is_some() {
        v1.push(("devices.deny", "a"));
        v1.push(("devices.allow", "b 8:* rwm"));
    }
    cfg.cgroup_v1 = v1
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    if layout.unified().is_some() {
        cfg.cgroup_v2 = vec![("cgroup.max.descendants".into(), "7".into())];
    }
    let g = make("limits", &cfg);
    g.set.apply_config(&cfg).unwrap();
    // Device rules come later in a start (once the container is set up).
    g.set.apply_device_rules(&cfg).unwrap();
    for (k, v) in &v1 {
        if k.starts_with("devices.") {
            continue;
        }
        assert_eq!(g.set.get(k).unwrap(), *v, "{k}");
    }
    if layout.controller("devices").is_some() {
        assert_eq!(g.set.get("devices.list").unwrap(), "b 8:* rwm");
    }
    if layout.unified().is_some() {
        let p = g.set.unified().unwrap().path.join("cgroup.max.descendants");
        assert_eq!(std::fs::read_to_string(p).unwrap().trim(), "7");
    }

    // Errors name the key and the file.
    let bad = Config {
        cgroup_v1: vec![("memory.no_such_file".into(), "1".into())],
        ..Config::default()
    };
    let e = format!("{:#}", g.set.apply_config(&bad).unwrap_err());
    assert!(e.contains("lxc.cgroup.memory.no_such_file"), "{e}");
    assert!(e.contains("/memory.no_such_file"), "{e}");
    // cgroup2 device rules are not files: a bad one names its key.
    let bad = Config {
        cgroup_v2: vec![("devices.allow".into(), "q 1:1 r".into())],
        ..Config::default()
    };
    let e = format!("{:#}", g.set.apply_device_rules(&bad).unwrap_err());
    assert!(e.contains("lxc.cgroup2.devices.allow = q 1:1 r"), "{e}");
}

#[test]
fn get_set_round_trip() {
    let layout = Layout::discover().unwrap();
    let g = make("getset", &Config::default());
    if layout.controller("cpu").is_some() {
        g.set.set("cpu.shares", "512").unwrap();
        assert_eq!(g.set.get("cpu.shares").unwrap(), "512");
        let (k, v) = lxcbox::cgroup::top::priority_get(&g.set).unwrap();
        assert_eq!((k, v), ("cpu.shares", 512));
        lxcbox::cgroup::top::priority_set(&g.set, 2048).unwrap();
        assert_eq!(g.set.get("cpu.shares").unwrap(), "2048");
        assert!(lxcbox::cgroup::top::priority_set(&g.set, 1).is_err());
    }
    if layout.controller("memory").is_some() {
        g.set.set("memory.limit_in_bytes", "314572800").unwrap();
        assert_eq!(g.set.get("memory.limit_in_bytes").unwrap(), "314572800");
    }
    if layout.controller("cpuset").is_some() {
        let cpus = g.set.get("cpuset.cpus").unwrap();
        assert!(!cpus.is_empty(), "cpuset.cpus must be initialised");
        g.set.set("cpuset.cpus", "0").unwrap();
        assert_eq!(g.set.get("cpuset.cpus").unwrap(), "0");
    }
    let e = g.set.get("memory.nope_nope").unwrap_err().to_string();
    assert!(e.contains("memory.nope_nope: no such cgroup file"), "{e}");
    assert!(g.set.set("../escape", "1").is_err());
    let e = format!("{:#}", g.set.set("pids.max", "not-a-number").unwrap_err());
    assert!(e.contains("pids.max"), "{e}");
}

#[test]
fn attach_pids_stats_kill() {
    let mut g = make("attach", &Config::default());
    let pid = spawn(&mut g, "exec sleep 30");
    wait_comm(pid, "sleep");
    assert_eq!(g.set.pids().unwrap(), vec![pid]);
    let layout = Layout::discover().unwrap();
    let found = CgroupSet::from_pid(&layout, pid).unwrap();
    assert_eq!(found.paths(), g.set.paths());
    assert_eq!(found.relative, g.set.relative);
    let st = g.set.stats().unwrap();
    assert!(st.has_cpu && st.has_mem, "{st:?}");
    assert!(st.mem_used > 0, "{st:?}");
    let lines = lxcbox::cgroup::top::info_lines(&st, true);
    assert!(lines[0].starts_with("CPU use:        "), "{lines:?}");
    g.set.kill_all(Signal::KILL).unwrap();
    let status = g.children[0].wait().unwrap();
    assert!(!status.success());
    g.set.remove().unwrap();
    assert!(g.set.paths().iter().all(|p| !p.exists()));
}

#[test]
fn freeze_hundred_busy_processes() {
    let mut g = make("freeze", &Config::default());
    let script = "i=0; while [ $i -lt 100 ]; do (while :; do :; done) & i=$((i+1)); done; wait";
    spawn(&mut g, script);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while g.set.pids().unwrap().len() < 101 {
        assert!(
            std::time::Instant::now() < deadline,
            "children did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    g.set.freeze(Duration::from_secs(20)).unwrap();
    assert!(g.set.is_frozen().unwrap());
    // Freezing again is harmless.
    g.set.freeze(Duration::from_secs(5)).unwrap();
    let before = g.set.stats().unwrap().cpu_ns;
    std::thread::sleep(Duration::from_millis(300));
    let after = g.set.stats().unwrap().cpu_ns;
    assert_eq!(before, after, "frozen cgroup used CPU");
    g.set.thaw().unwrap();
    assert!(!g.set.is_frozen().unwrap());
    g.set.thaw().unwrap(); // harmless
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        g.set.stats().unwrap().cpu_ns > after,
        "thawed cgroup did not run"
    );
    g.set.kill_all(Signal::KILL).unwrap();
    let _ = g.children[0].wait();
    g.set.remove().unwrap();
}

#[test]
fn hundred_cycles_leave_nothing() {
    let layout = Layout::discover().unwrap();
    let name = uniq("cycles");
    let (mut create, mut remove) = (Duration::ZERO, Duration::ZERO);
    for i in 0..100 {
        let t0 = std::time::Instant::now();
        let mut g = Guard {
            set: CgroupSet::create_payload(&layout, &name, &Config::default(), None).unwrap(),
            children: Vec::new(),
        };
        create += t0.elapsed();
        assert_eq!(g.set.relative, format!("lxc.payload.{name}"), "cycle {i}");
        spawn(&mut g, "exec sleep 30");
        g.set.kill_all(Signal::KILL).unwrap();
        // A zombie still pins its cgroup: reap (as the monitor does), then
        // remove() retries while the task finishes exiting.
        let _ = g.children[0].wait();
        let t1 = std::time::Instant::now();
        g.set.remove().unwrap();
        remove += t1.elapsed();
    }
    eprintln!(
        "per cycle: create {:?}, remove {:?}",
        create / 100,
        remove / 100
    );
    for h in layout.container_hierarchies() {
        let p = h.base_dir().join(format!("lxc.payload.{name}"));
        assert!(!p.exists(), "{} left behind", p.display());
    }
}

#[test]
fn legacy_layout_kill_through_freezer() {
    // The host's layout without its unified mount behaves like pure v1:
    // pids come from v1, kill_all freezes around its signal pass.
    let mut layout = Layout::discover().unwrap();
    layout.hierarchies.retain(|h| !h.v2);
    if layout.controller("freezer").is_none() {
        return;
    }
    assert_eq!(layout.mode(), Mode::Legacy);
    let mut g = Guard {
        set: CgroupSet::create_payload(&layout, &uniq("legacy"), &Config::default(), None).unwrap(),
        children: Vec::new(),
    };
    assert!(g.set.unified().is_none());
    spawn(&mut g, "for i in 1 2 3 4 5; do sleep 30 & done; wait");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while g.set.pids().unwrap().len() < 6 {
        assert!(
            std::time::Instant::now() < deadline,
            "children did not start"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    g.set.kill_all(Signal::TERM).unwrap();
    assert!(
        !g.set.is_frozen().unwrap(),
        "kill_all left the cgroup frozen"
    );
    let _ = g.children[0].wait();
    // The orphaned sleeps are reaped by init; wait until they are gone.
    while !g.set.pids().unwrap().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "processes survived SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    g.set.remove().unwrap();
    assert!(g.set.paths().iter().all(|p| !p.exists()));
}

#[test]
fn v2_key_without_delegated_controller_is_explained() {
    let layout = Layout::discover().unwrap();
    let Some(u) = layout.unified() else { return };
    if u.has("memory") {
        return;
    }
    let g = make("nodeleg", &Config::default());
    let cfg = Config {
        cgroup_v2: vec![("memory.max".into(), "100000000".into())],
        ..Config::default()
    };
    let e = format!("{:#}", g.set.apply_config(&cfg).unwrap_err());
    assert!(
        e.contains("lxc.cgroup2.memory.max") && e.contains("memory controller is not enabled"),
        "{e}"
    );
}

#[test]
fn container_inner_dir() {
    let layout = Layout::discover().unwrap();
    let cfg = Config {
        cgroup_dir_container: Some(uniq("outer")),
        cgroup_dir_monitor: Some(uniq("mon")),
        cgroup_dir_container_inner: Some("ns".into()),
        ..Config::default()
    };
    let mut g = Guard {
        set: CgroupSet::create_payload(&layout, "ignored", &cfg, None).unwrap(),
        children: Vec::new(),
    };
    assert_eq!(g.set.relative, uniq("outer"));
    assert_eq!(g.set.inner.as_deref(), Some("ns"));
    // A fixed name is never suffixed: a second one fails cleanly.
    let e = CgroupSet::create_payload(&layout, "x", &cfg, None).unwrap_err();
    assert!(format!("{e:#}").contains("already exists"), "{e:#}");
    let pid = spawn(&mut g, "exec sleep 30");
    for d in g.set.process_dirs() {
        assert!(d.ends_with("ns"));
        let procs = std::fs::read_to_string(d.join("cgroup.procs")).unwrap();
        assert_eq!(procs.trim(), pid.to_string());
    }
    assert_eq!(g.set.pids().unwrap(), vec![pid]);
    g.set.freeze(Duration::from_secs(10)).unwrap();
    assert!(g.set.is_frozen().unwrap());
    g.set.thaw().unwrap();
    g.set.kill_all(Signal::KILL).unwrap();
    let _ = g.children[0].wait();
    g.set.remove().unwrap();
    assert!(g.set.paths().iter().all(|p| !p.exists()));
}
