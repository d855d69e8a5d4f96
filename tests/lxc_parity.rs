//! lxcbox beside LXC 5.0.2 (installed here): the same config lines, the
//! same commands, compared output for output. One test per difference the
//! drop-in issue found; where lxcbox deliberately differs the test says so.

#[path = "common/env.rs"]
mod env;
mod net_support;
#[path = "common/rootfs.rs"]
mod rootfs;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use env::{stderr, stdout, Env};

/// Run LXC's own tool on `e`'s lxcpath.
fn lxc(e: &Env, tool: &str, args: &[&str]) -> Output {
    Command::new(tool)
        .args(["-P", &e.lxcpath()])
        .args(args)
        .output()
        .unwrap_or_else(|err| panic!("running LXC's {tool} (tests/setup.sh installs lxc): {err}"))
}

/// A container started by LXC 5.0.2 in `e`, killed on drop.
struct LxcRunning<'a> {
    e: &'a Env,
    name: String,
}

impl<'a> LxcRunning<'a> {
    fn start(e: &'a Env, name: &str, cmd: &str) -> LxcRunning<'a> {
        let o = lxc(
            e,
            "lxc-start",
            &["-n", name, "-d", "--", "/bin/sh", "-c", cmd],
        );
        assert!(o.status.success(), "LXC lxc-start: {}", stderr(&o));
        let o = lxc(e, "lxc-wait", &["-n", name, "-s", "RUNNING", "-t", "20"]);
        assert!(o.status.success(), "LXC lxc-wait: {}", stderr(&o));
        LxcRunning {
            e,
            name: name.to_string(),
        }
    }
}

impl Drop for LxcRunning<'_> {
    fn drop(&mut self) {
        let _ = lxc(self.e, "lxc-stop", &["-n", &self.name, "-k"]);
    }
}

/// Start an lxcbox container (daemonised) and wait for RUNNING.
fn box_start(e: &Env, name: &str, cmd: &str) {
    let o = e.run("lxc-start", &["-n", name, "--", "/bin/sh", "-c", cmd]);
    assert!(o.status.success(), "lxc-start: {}", stderr(&o));
    let o = e.run("lxc-wait", &["-n", name, "-s", "RUNNING", "-t", "20"]);
    assert!(o.status.success(), "lxc-wait: {}", stderr(&o));
}

/// The same busybox container defined in both lxcpaths.
fn both(ours: &Env, theirs: &Env, name: &str, extra: &str) {
    ours.busybox(name, extra);
    theirs.busybox(name, extra);
}

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn lxc_5_config_lines_mean_what_they_mean_in_lxc() {
    let (ours, theirs) = (Env::new("pcfg"), Env::new("pcfgl"));
    let extra = "lxc.mount.auto = proc sys cgroup2:ro\n\
                 lxc.net.0.type = veth\n\
                 lxc.net.0.name = eth0\n\
                 lxc.net.0.flags = down\n\
                 lxc.net.0.veth.n_rxqueues = 4\n\
                 lxc.net.0.veth.n_txqueues = 2\n";
    both(&ours, &theirs, "q", extra);
    let script =
        "ls /sys/class/net/eth0/queues | tr '\\n' ' '; echo; cat /sys/class/net/eth0/flags; \
                  grep ' /sys/fs/cgroup ' /proc/self/mountinfo | cut -d' ' -f5,6,9";
    let a = ours.run(
        "lxc-execute",
        &["-n", "q", "-l", "WARN", "--", "/bin/sh", "-c", script],
    );
    let b = lxc(
        &theirs,
        "lxc-execute",
        &["-n", "q", "--", "/bin/sh", "-c", script],
    );
    assert!(a.status.success(), "{}", stderr(&a));
    assert!(b.status.success(), "LXC: {}", stderr(&b));
    // 4 rx and 2 tx queues in the container, the interface up although the
    // value says "down" (any value means up), cgroup2 mounted read-only.
    let expected = "rx-0 rx-1 rx-2 rx-3 tx-0 tx-1 \n0x1003\n";
    assert!(stdout(&a).starts_with(expected), "{}", stdout(&a));
    assert!(stdout(&b).starts_with(expected), "LXC: {}", stdout(&b));
    for out in [stdout(&a), stdout(&b)] {
        let m = out.lines().nth(2).unwrap_or_default().to_string();
        assert!(
            m.starts_with("/sys/fs/cgroup ro,") && m.ends_with(" cgroup2"),
            "{out}"
        );
    }
    // The warning lxcbox adds where LXC silently ignores the value (on
    // stderr from -l WARN on, as LXC shows warnings).
    assert!(stderr(&a).contains("flags = down: LXC brings the interface up for any value"));

    // The rest of the forms both accept.
    for (i, line) in [
        "lxc.mount.auto = cgroup2",
        "lxc.mount.auto = cgroup2:force",
        "lxc.mount.auto = cgroup2:ro:force",
        "lxc.net.0.type = veth\nlxc.net.0.veth.vlan.id = none",
        "lxc.net.0.type = veth\nlxc.net.0.flags = 1",
    ]
    .iter()
    .enumerate()
    {
        let n = format!("k{i}");
        ours.define(&n, &format!("{line}\n"));
        theirs.define(&n, &format!("{line}\n"));
        let key = line
            .lines()
            .last()
            .unwrap()
            .split('=')
            .next()
            .unwrap()
            .trim();
        let a = ours.run("lxc-info", &["-n", &n, "-c", key]);
        let b = lxc(&theirs, "lxc-info", &["-n", &n, "-c", key]);
        assert!(a.status.success(), "{line}: {}", stderr(&a));
        assert!(b.status.success(), "LXC {line}: {}", stderr(&b));
    }
    // Deliberate difference: LXC's getter prints vlan.id none as -1.
    let a = ours.run("lxc-info", &["-n", "k3", "-c", "lxc.net.0.veth.vlan.id"]);
    assert_eq!(stdout(&a), "lxc.net.0.veth.vlan.id = none\n");
}

#[test]
fn lxc_ls_fancy_format_is_case_blind_and_needs_f() {
    let (ours, theirs) = (Env::new("plsf"), Env::new("plsfl"));
    for e in [&ours, &theirs] {
        e.define("a1", "lxc.uts.name = a1\nlxc.group = web\n");
        e.define("b2", "lxc.start.auto = 1\n");
    }
    for args in [
        &["-F", "name,State"][..],
        &["-f", "-F", "name,State,GROUPS,autostart"],
        &["-f", "-F", "NAME,bogus"],
        &["-1", "-F", "x"],
    ] {
        let a = ours.run("lxc-ls", args);
        let b = lxc(&theirs, "lxc-ls", args);
        assert_eq!(stdout(&a), stdout(&b), "{args:?}");
        assert_eq!(stderr(&a), stderr(&b), "{args:?}");
        assert_eq!(a.status.code(), b.status.code(), "{args:?}");
    }
}

#[test]
fn running_containers_side_by_side() {
    let (ours, theirs) = (Env::new("prun"), Env::new("prunl"));
    let lower = net_support::name("ml");
    let peer = net_support::name("mp");
    let _lower = net_support::make_link(
        &lower,
        lxcbox::net::raw::Kind::Veth {
            peer_name: peer.clone(),
            peer_ns: None,
            peer_mtu: None,
            peer_queues: (None, None),
        },
        None,
    );
    let extra = format!(
        "lxc.net.0.type = veth\nlxc.net.0.name = eth0\nlxc.net.0.flags = up\n\
         lxc.net.1.type = macvlan\nlxc.net.1.link = {lower}\nlxc.net.1.macvlan.mode = bridge\n\
         lxc.net.1.name = mv0\n"
    );
    both(&ours, &theirs, "r", &extra);
    box_start(&ours, "r", "sleep 1000");
    let _l = LxcRunning::start(&theirs, "r", "sleep 1000");

    // lxc-ls -f INTERFACE: every device of the namespace, lo included.
    let a = ours.run("lxc-ls", &["-f", "-F", "NAME,INTERFACE"]);
    let b = lxc(&theirs, "lxc-ls", &["-f", "-F", "NAME,INTERFACE"]);
    assert_eq!(
        stdout(&b),
        "NAME INTERFACE     \nr    eth0, lo, mv0 \n",
        "LXC"
    );
    assert_eq!(stdout(&a), stdout(&b));

    // lxc-info: a Link: block per device, the macvlan's being its lower
    // device on the host.
    let links = |o: &Output| -> Vec<String> {
        stdout(o)
            .lines()
            .filter(|l| l.starts_with("Link:"))
            .map(|l| l.split_whitespace().last().unwrap().to_string())
            .collect()
    };
    let a = ours.run("lxc-info", &["-n", "r", "-S"]);
    let b = lxc(&theirs, "lxc-info", &["-n", "r", "-S"]);
    let (la, lb) = (links(&a), links(&b));
    assert_eq!(la.len(), 2, "{}", stdout(&a));
    assert_eq!(lb.len(), 2, "LXC: {}", stdout(&b));
    assert!(la[0].starts_with("veth") && lb[0].starts_with("veth"));
    assert_eq!(la[1], lower);
    assert_eq!(lb[1], lower);
    for o in [&a, &b] {
        for l in [" TX bytes:", " RX bytes:", " Total bytes:"] {
            assert_eq!(stdout(o).matches(l).count(), 2, "{l}: {}", stdout(o));
        }
    }

    // lxc-cgroup reads: the file as read, plus LXC's newline.
    let key = if Path::new("/sys/fs/cgroup/memory").is_dir() {
        "memory.limit_in_bytes"
    } else {
        "pids.max"
    };
    let a = ours.run("lxc-cgroup", &["-n", "r", key]);
    let b = lxc(&theirs, "lxc-cgroup", &["-n", "r", key]);
    assert!(stdout(&b).ends_with("\n\n"), "LXC {key}: {:?}", stdout(&b));
    assert_eq!(stdout(&a), stdout(&b));

    // lxc-top -b: time_ms is the wall clock in ms since the epoch.
    let now_ms = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64
    };
    let t0 = now_ms();
    let a = ours.run("lxc-top", &["-b", "-d", "1", "--iterations", "1"]);
    // LXC's lxc-top wants a terminal on stdin even with -b, and prints no
    // more containers than its rows minus 3: script(1) lends it one with
    // 50 rows; timeout(1) ends it.
    let b = Command::new("timeout")
        .args(["3", "script", "-qc"])
        .arg(format!(
            "stty rows 50; lxc-top -P {} -b -d 1",
            theirs.lxcpath()
        ))
        .arg("/dev/null")
        .output()
        .unwrap();
    let t1 = now_ms();
    for (who, out) in [("lxcbox", stdout(&a)), ("LXC", stdout(&b))] {
        let line = out
            .lines()
            .find(|l| l.contains(",r,"))
            .unwrap_or_else(|| panic!("{who}: {out}"));
        let ms: u64 = line.split(',').next().unwrap().parse().unwrap();
        assert!(
            (t0.saturating_sub(2000)..=t1 + 2000).contains(&ms),
            "{who}: {ms} not in {t0}..{t1}"
        );
    }
}

#[test]
fn unfreeze_of_a_stopped_container_and_create_without_template() {
    let (ours, theirs) = (Env::new("pfrz"), Env::new("pfrzl"));
    for e in [&ours, &theirs] {
        e.define("s", "lxc.uts.name = s\n");
    }
    for (args, code) in [(&["-n", "s"][..], 0), (&["-n", "nonexistent"], 1)] {
        let a = ours.run("lxc-unfreeze", args);
        let b = lxc(&theirs, "lxc-unfreeze", args);
        assert_eq!(b.status.code(), Some(code), "LXC {args:?}");
        assert_eq!(a.status.code(), Some(code), "{args:?}: {}", stderr(&a));
    }
    let a = ours.run("lxc-freeze", &["-n", "s"]);
    let b = lxc(&theirs, "lxc-freeze", &["-n", "s"]);
    assert_eq!((a.status.code(), b.status.code()), (Some(1), Some(1)));

    let a = ours.run("lxc-create", &["-n", "t"]);
    let b = lxc(&theirs, "lxc-create", &["-n", "t"]);
    assert_eq!((a.status.code(), b.status.code()), (Some(1), Some(1)));
    for o in [&a, &b] {
        assert!(
            stderr(o).contains("A template must be specified"),
            "{}",
            stderr(o)
        );
        assert!(stderr(o).contains("Use \"none\" if you really want a container without a rootfs"));
    }
    assert!(!ours.root.join("lxc/t").exists() && !theirs.root.join("lxc/t").exists());
}

#[test]
fn create_template_none_writes_what_lxc_writes() {
    let (ours, theirs) = (Env::new("pnone"), Env::new("pnonel"));
    let rfs = ours.root.join("rfs");
    std::fs::create_dir_all(&rfs).unwrap();
    let base = ours.root.join("base.conf");
    std::fs::write(
        &base,
        format!(
            "# a comment\nlxc.uts.name = x\n\n  lxc.net.0.type = empty   \n\
             lxc.rootfs.path = {}\nlxc.mount.auto=proc\n",
            rfs.display()
        ),
    )
    .unwrap();
    let plain = ours.root.join("plain.conf");
    std::fs::write(&plain, "lxc.net.0.type = empty\nlxc.start.auto = 1\n").unwrap();
    for (name, b) in [("withroot", &base), ("plain", &plain)] {
        let f = b.to_str().unwrap();
        let a = ours.run("lxc-create", &["-n", name, "-t", "none", "-f", f]);
        let l = lxc(&theirs, "lxc-create", &["-n", name, "-t", "none", "-f", f]);
        assert!(a.status.success(), "{}", stderr(&a));
        assert!(l.status.success(), "LXC: {}", stderr(&l));
        let read = |e: &Env| {
            std::fs::read_to_string(e.root.join("lxc").join(name).join("config")).unwrap()
        };
        assert_eq!(read(&ours), read(&theirs), "{name}");
        let list = |e: &Env| -> Vec<String> {
            let mut v: Vec<String> = std::fs::read_dir(e.root.join("lxc").join(name))
                .unwrap()
                .map(|d| d.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        assert_eq!(list(&ours), ["config"], "{name}: no rootfs directory");
        assert_eq!(list(&ours), list(&theirs), "{name}");
    }
}

#[test]
fn stop_takes_the_halt_signal_from_the_config_on_disk() {
    let (ours, theirs) = (Env::new("phalt"), Env::new("phaltl"));
    both(&ours, &theirs, "h", "lxc.signal.halt = SIGTERM\n");
    let cmd =
        "trap 'echo USR1 > /tmp/got; exit 0' USR1; trap 'echo TERM > /tmp/got; exit 0' TERM; \
               while :; do sleep 1; done";
    box_start(&ours, "h", cmd);
    let _l = LxcRunning::start(&theirs, "h", cmd);
    // Edited after the start: LXC reads it when it stops the container.
    for e in [&ours, &theirs] {
        let cfg = e.root.join("lxc/h/config");
        let text = std::fs::read_to_string(&cfg).unwrap();
        std::fs::write(&cfg, text.replace("SIGTERM", "SIGUSR1")).unwrap();
    }
    let a = ours.run("lxc-stop", &["-n", "h", "-t", "10"]);
    let b = lxc(&theirs, "lxc-stop", &["-n", "h", "-t", "10"]);
    assert!(a.status.success(), "{}", stderr(&a));
    assert!(b.status.success(), "LXC: {}", stderr(&b));
    for e in [&ours, &theirs] {
        let got = std::fs::read_to_string(e.root.join("lxc/h/rootfs/tmp/got")).unwrap();
        assert_eq!(got, "USR1\n");
    }
}

#[test]
fn update_config_writes_the_dir_prefix() {
    let e = Env::new("pupd");
    for legacy in [
        "lxc.rootfs = /srv/r\nlxc.utsname = a\n",
        "lxc.rootfs.backend = dir\nlxc.rootfs = /srv/r\n",
        "lxc.rootfs = /srv/r\nlxc.rootfs.backend = btrfs\n",
    ] {
        let (a, b) = (e.root.join("a.conf"), e.root.join("b.conf"));
        std::fs::write(&a, legacy).unwrap();
        std::fs::write(&b, legacy).unwrap();
        let o = e.run("lxc-update-config", &["-c", a.to_str().unwrap()]);
        assert!(o.status.success(), "{}", stderr(&o));
        let l = Command::new("lxc-update-config")
            .args(["-c", b.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(l.status.success());
        assert_eq!(
            std::fs::read_to_string(&a).unwrap(),
            std::fs::read_to_string(&b).unwrap(),
            "{legacy}"
        );
    }
    // Deliberate difference: LXC's script makes an already prefixed value
    // `dir:dir:/srv/r`; lxcbox leaves it alone.
    let a = e.root.join("c.conf");
    std::fs::write(&a, "lxc.rootfs = dir:/srv/r\n").unwrap();
    e.run("lxc-update-config", &["-c", a.to_str().unwrap()]);
    assert_eq!(
        std::fs::read_to_string(&a).unwrap(),
        "lxc.rootfs.path = dir:/srv/r\n"
    );
}

#[test]
fn classic_ps_and_priority_forms() {
    let e = Env::new("pps");
    e.busybox("c", "");
    box_start(&e, "c", "sleep 1000");
    let init = env::init_pid(&e, "c");
    // lxc-ps -n NAME -- -ef: ps -ef's columns, with CONTAINER in front.
    let o = e.run("lxc-ps", &["-n", "c", "--", "-ef"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let mut lines = out.lines();
    assert_eq!(
        lines.next().unwrap().split_whitespace().collect::<Vec<_>>(),
        [
            "CONTAINER",
            "UID",
            "PID",
            "PPID",
            "C",
            "STIME",
            "TTY",
            "TIME",
            "CMD"
        ]
    );
    let row = lines
        .find(|l| l.split_whitespace().nth(2) == Some(&init.to_string()))
        .unwrap_or_else(|| panic!("{out}"));
    let f: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(f[0], "c");
    assert_eq!(f[1], "root");
    assert!(row.ends_with("sleep 1000"), "{row}");
    // The same columns ps itself prints for that process (minus C, TIME).
    if let Ok(ps) = Command::new("ps")
        .args(["-f", "-p", &init.to_string()])
        .output()
    {
        let ps = stdout(&ps);
        let theirs: Vec<&str> = ps.lines().nth(1).unwrap().split_whitespace().collect();
        assert_eq!(
            (f[1], f[2], f[3], f[6]),
            (theirs[0], theirs[1], theirs[2], theirs[5])
        );
    }
    let o = e.run("lxc-ps", &["-n", "c", "--", "--forest"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("not understood by the built-in ps"),
        "{}",
        stderr(&o)
    );

    // lxc-priority -n NAME -p N: the classic way to set the CPU share.
    let o = e.run("lxc-priority", &["-n", "c", "-p", "512"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let key = stdout(&o).split_whitespace().next().unwrap().to_string();
    let got = e.run("lxc-cgroup", &["-n", "c", &key]);
    let want = if key == "cpu.shares" { "512" } else { "20" };
    assert_eq!(stdout(&got).trim(), want, "{key}");
    let o = e.run("lxc-priority", &["-n", "c"]);
    assert!(stdout(&o).contains(want), "{}", stdout(&o));
}

#[test]
fn ls_nesting_lists_containers_inside_containers() {
    let (ours, theirs) = (Env::new("pnest"), Env::new("pnestl"));
    // A stopped container holding two containers (one with one of its own)
    // in the same lxcpath inside its rootfs: LXC follows the rootfs.
    for e in [&ours, &theirs] {
        let r = e.busybox("a", "");
        let inner = r.join(e.lxcpath().trim_start_matches('/'));
        std::fs::create_dir_all(inner.join("n1")).unwrap();
        std::fs::write(inner.join("n1/config"), "lxc.group = g1\n").unwrap();
        let deep = inner
            .join("n2/rootfs")
            .join(e.lxcpath().trim_start_matches('/'));
        std::fs::create_dir_all(deep.join("d")).unwrap();
        let n2root = Path::new(&e.lxcpath()).join("n2/rootfs");
        std::fs::write(
            inner.join("n2/config"),
            format!("lxc.rootfs.path = dir:{}\n", n2root.display()),
        )
        .unwrap();
        std::fs::write(deep.join("d/config"), "lxc.start.auto = 1\n").unwrap();
        e.define("b", "lxc.uts.name = b\n");
    }
    for args in [
        &["--nesting", "-1"][..],
        &["--nesting"],
        &["--nesting=1", "-1"],
        &["--nesting=0", "-1"],
        &["--nesting", "-f"],
        &["--nesting", "-f", "-F", "NAME,STATE,AUTOSTART,GROUPS"],
        &["--nesting", "-1", "n"],
    ] {
        let a = ours.run("lxc-ls", args);
        let b = lxc(&theirs, "lxc-ls", args);
        assert_eq!(stdout(&a), stdout(&b), "{args:?}");
    }
    let a = ours.run("lxc-ls", &["--nesting", "-1"]);
    assert_eq!(stdout(&a), "a\na/n1\na/n2\na/n2/d\nb\n");

    // Running: the nested containers are read through /proc/INIT/root.
    box_start(&ours, "a", "sleep 1000");
    wait_for("a running", || env::state(&ours, "a") == "RUNNING");
    let a = ours.run("lxc-ls", &["--nesting", "-f", "-F", "NAME,STATE,GROUPS"]);
    assert_eq!(
        stdout(&a),
        "NAME STATE   GROUPS \na    RUNNING -      \n\\n1  STOPPED g1     \n\\n2  STOPPED -      \n \\d  STOPPED -      \nb    STOPPED -      \n"
    );
}
