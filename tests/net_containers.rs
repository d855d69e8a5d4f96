//! Networking with real containers (lxc-start -d, shared root, own network
//! namespace): bridges, macvlan, phys, cleanup over many cycles, bad input,
//! the classic keys, lxc-info -i, lxc-ls -f, lxc-device, lxc-netstat.
//! Needs root. Links are named lxbn<pid><tag> and removed by Drop guards;
//! addresses are 10.24x.y.z/24 inside bridges this test made.

#[path = "common/env.rs"]
mod env;
mod net_support;
#[path = "common/rootfs.rs"]
mod rootfs;

use std::process::Command;

use env::{stderr, stdout, Env};
use lxcbox::net::raw::{self, Kind, Socket};
use net_support::{host_has, make_link, LinkGuard};

/// A unique link name for this test process: lxbn<pid><tag>.
fn name(tag: &str) -> String {
    format!("lxbn{}{tag}", std::process::id() % 100000)
}

/// Starts NAME daemonized with `/bin/sleep 1000`; panics with stderr on failure.
fn start(e: &Env, n: &str) -> i32 {
    let o = e.run("lxc-start", &["-n", n, "-d", "--", "/bin/sleep", "1000"]);
    assert!(o.status.success(), "lxc-start {n}: {}", stderr(&o));
    init_pid(e, n).expect("running container has an init pid")
}

fn init_pid(e: &Env, n: &str) -> Option<i32> {
    let o = e.run("lxc-info", &["-n", n, "-p", "-H"]);
    stdout(&o).trim().parse().ok()
}

fn stop(e: &Env, n: &str) {
    // Known races outside this area (reported to the integrator): the
    // monitor may exit after killing init before its answer is read
    // (ECONNRESET), or drop a fresh connection (EPIPE on send). Retry
    // exactly those once; the container must end up STOPPED either way.
    let stopped = || stdout(&e.run("lxc-info", &["-n", n, "-s", "-H"])).trim() == "STOPPED";
    for attempt in 0..5 {
        let o = e.run("lxc-stop", &["-n", n, "-k"]);
        let err = stderr(&o);
        if o.status.success() || stopped() {
            break;
        }
        assert!(
            attempt < 4
                && (err.contains("Connection reset by peer") || err.contains("Broken pipe")),
            "lxc-stop {n}: {err}"
        );
    }
    e.wait_until("STOPPED", stopped);
}

/// busybox ping -c1 -W2 from inside the network namespace of `pid`.
fn ping_from(pid: i32, to: &str) -> bool {
    let to = to.to_string();
    lxcbox::net::in_netns(pid, move || {
        Ok(Command::new("/bin/busybox")
            .args(["ping", "-c", "1", "-W", "2", &to])
            .output()?
            .status
            .success())
    })
    .unwrap()
}

/// Names of the host links enslaved to `bridge`.
fn ports_of(bridge: &str) -> Vec<String> {
    let mut s = Socket::open().unwrap();
    let Some(br) = raw::by_name(&mut s, bridge).unwrap() else {
        return Vec::new();
    };
    raw::list_links(&mut s)
        .unwrap()
        .into_iter()
        .filter(|l| l.master == Some(br.index))
        .map(|l| l.name)
        .collect()
}

/// A host veth pair (both ends down); the caller guards both names.
fn veth_pair(a: &str, b: &str) {
    let mut s = Socket::open().unwrap();
    raw::create(
        &mut s,
        &raw::NewLink {
            name: a.to_string(),
            kind: Kind::Veth {
                peer_name: b.to_string(),
                peer_ns: None,
                peer_mtu: None,
                peer_queues: (None, None),
            },
            mtu: None,
            master: None,
            netns: None,
            up: false,
        },
    )
    .unwrap_or_else(|e| panic!("creating veth {a}/{b}: {e}"));
}

fn veth_conf(bridge: &str, addr: &str) -> String {
    format!(
        "lxc.net.0.type = veth\nlxc.net.0.link = {bridge}\nlxc.net.0.flags = up\n\
         lxc.net.0.ipv4.address = {addr}\n"
    )
}

#[test]
fn two_containers_on_a_bridge_ping_each_other_only() {
    let e = Env::new("nbr");
    let br = name("b");
    let _bg = make_link(&br, Kind::Bridge, None);
    // An address on the host outside the bridge: must stay unreachable.
    let other = name("o");
    let _og = make_link(&other, Kind::Bridge, Some(("10.241.9.1", 24)));
    e.define("a", &veth_conf(&br, "10.241.1.2/24"));
    e.define("b", &veth_conf(&br, "10.241.1.3/24"));
    let pa = start(&e, "a");
    let pb = start(&e, "b");
    assert_eq!(ports_of(&br).len(), 2, "two veth ends on the bridge");
    assert!(ping_from(pa, "10.241.1.3"), "a reaches b");
    assert!(ping_from(pb, "10.241.1.2"), "b reaches a");
    assert!(!ping_from(pa, "10.241.9.1"), "nothing outside the bridge");

    // lxc-info -i and lxc-ls -f show the live address.
    let o = e.run("lxc-info", &["-n", "a", "-i"]);
    assert_eq!(stdout(&o), "IP:             10.241.1.2\n", "{}", stderr(&o));
    let o = e.run("lxc-info", &["-n", "a"]);
    let out = stdout(&o);
    assert!(out.contains("IP:             10.241.1.2\n"), "{out}");
    assert!(out.contains("Link:           veth"), "{out}");
    let o = e.run("lxc-ls", &["-f", "-F", "NAME,STATE,IPV4,INTERFACE"]);
    let out = stdout(&o);
    let row = out.lines().find(|l| l.starts_with("b ")).expect(&out);
    let cols: Vec<&str> = row.split_whitespace().collect();
    // INTERFACE: every device of the namespace, sorted, as LXC's.
    assert_eq!(cols, ["b", "RUNNING", "10.241.1.3", "eth0,", "lo"], "{out}");
    // An address added inside shows up (live, not from the config).
    lxcbox::net::in_netns(pb, || {
        let mut s = Socket::open()?;
        let l = raw::by_name(&mut s, "eth0")?.unwrap();
        raw::add_addr(&mut s, l.index, "10.241.1.33".parse()?, 24, None)?;
        Ok(())
    })
    .unwrap();
    let o = e.run("lxc-ls", &["-f", "-F", "NAME,IPV4"]);
    assert!(
        stdout(&o).contains("10.241.1.3, 10.241.1.33"),
        "{}",
        stdout(&o)
    );

    stop(&e, "a");
    stop(&e, "b");
    assert!(ports_of(&br).is_empty(), "veth ends removed at stop");
}

#[test]
fn classic_keys_work_like_modern_ones() {
    let e = Env::new("nclassic");
    let br = name("c");
    let _bg = make_link(&br, Kind::Bridge, Some(("10.242.1.1", 24)));
    e.define(
        "old",
        &format!(
            "lxc.network.type = veth\nlxc.network.link = {br}\nlxc.network.flags = up\n\
             lxc.network.name = net7\nlxc.network.ipv4 = 10.242.1.5/24\n"
        ),
    );
    let p = start(&e, "old");
    assert!(
        ping_from(p, "10.242.1.1"),
        "classic container reaches the bridge"
    );
    let links = lxcbox::net::links_of_pid(p).unwrap();
    assert!(links.contains(&"net7".to_string()), "{links:?}");
    let o = e.run("lxc-info", &["-n", "old", "-i"]);
    assert_eq!(stdout(&o), "IP:             10.242.1.5\n");
    stop(&e, "old");
    assert!(ports_of(&br).is_empty());
}

#[test]
fn macvlan_pair_on_a_bridge_link_reach_each_other() {
    let e = Env::new("nmv");
    let br = name("m");
    let _bg = make_link(&br, Kind::Bridge, None);
    for (n, a) in [("m1", "10.243.1.2/24"), ("m2", "10.243.1.3/24")] {
        e.define(
            n,
            &format!(
                "lxc.net.0.type = macvlan\nlxc.net.0.macvlan.mode = bridge\n\
                 lxc.net.0.link = {br}\nlxc.net.0.flags = up\nlxc.net.0.ipv4.address = {a}\n"
            ),
        );
    }
    let p1 = start(&e, "m1");
    let p2 = start(&e, "m2");
    assert!(ping_from(p1, "10.243.1.3"));
    assert!(ping_from(p2, "10.243.1.2"));
    stop(&e, "m1");
    stop(&e, "m2");
}

#[test]
fn phys_moves_a_veth_end_in_and_back_out_on_stop() {
    let e = Env::new("nphys");
    let (outer, inner) = (name("p0"), name("p1"));
    veth_pair(&outer, &inner);
    let _g = (LinkGuard(outer.clone()), LinkGuard(inner.clone()));
    e.define(
        "ph",
        &format!(
            "lxc.net.0.type = phys\nlxc.net.0.link = {inner}\nlxc.net.0.name = eth3\n\
             lxc.net.0.flags = up\nlxc.net.0.ipv4.address = 10.244.1.2/24\n"
        ),
    );
    let p = start(&e, "ph");
    assert!(!host_has(&inner), "moved into the container");
    assert!(lxcbox::net::links_of_pid(p)
        .unwrap()
        .contains(&"eth3".to_string()));
    stop(&e, "ph");
    assert!(host_has(&inner), "back on the host under its own name");
    assert!(host_has(&outer), "its peer survived");

    // Again, but init dies on its own: the veth end still comes back.
    let p = start(&e, "ph");
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(p).unwrap(),
        rustix::process::Signal::KILL,
    )
    .unwrap();
    e.wait_until("the monitor to exit", || e.monitors().is_empty());
    assert!(host_has(&inner), "back after init was killed");
}

#[test]
fn fifty_start_stop_cycles_leave_no_host_interface() {
    let e = Env::new("ncycle");
    let br = name("y");
    let _bg = make_link(&br, Kind::Bridge, None);
    let pair = name("v");
    e.define(
        "cy",
        &format!(
            "{}lxc.net.0.veth.pair = {pair}\n",
            veth_conf(&br, "10.245.1.2/24")
        ),
    );
    for i in 0..50 {
        start(&e, "cy");
        assert!(host_has(&pair), "cycle {i}: host end exists while running");
        stop(&e, "cy");
        assert!(!host_has(&pair), "cycle {i}: host end left behind");
    }
    assert!(ports_of(&br).is_empty());
    e.wait_until("the last monitor to exit", || e.monitors().is_empty());
}

/// No monitor, no cgroup, no host link named `pair` after a failed start.
fn nothing_left(e: &Env, n: &str, pair: &str) {
    // lxc-start -d reports the failure as soon as the daemonized monitor
    // sends it; the monitor then finishes its undo and exits.
    e.wait_until("the failed monitor to exit", || e.monitors().is_empty());
    assert!(!host_has(pair), "{pair} left on the host");
    for ctrl in ["pids", "freezer", "unified", "memory"] {
        let d = format!("/sys/fs/cgroup/{ctrl}/lxc.payload.{n}");
        assert!(!std::path::Path::new(&d).exists(), "{d} left behind");
    }
}

#[test]
fn bad_input_fails_naming_the_key_and_leaves_nothing() {
    let e = Env::new("nbad");
    let br = name("e");
    let _bg = make_link(&br, Kind::Bridge, None);
    let pair = name("q");
    // Unique container names: the cgroup check looks at the host's tree.
    let cn = format!("lxbn{}bad", std::process::id());
    let cases = [
        (
            format!(
                "lxc.net.0.type = veth\nlxc.net.0.link = {}\n",
                name("nosuch")
            ),
            "lxc.net.0.link",
        ),
        (
            format!(
                "lxc.net.0.type = veth\nlxc.net.0.link = {br}\nlxc.net.0.veth.pair = {pair}\n\
                 lxc.net.0.name = eth0\nlxc.net.1.type = veth\nlxc.net.1.link = {br}\n\
                 lxc.net.1.name = eth0\n"
            ),
            "lxc.net.1.name",
        ),
        (
            format!(
                "lxc.net.0.type = veth\nlxc.net.0.link = {br}\nlxc.net.0.veth.pair = {pair}\n\
                 lxc.net.1.type = veth\nlxc.net.1.link = {br}\n\
                 lxc.net.1.ipv4.address = 10.246.1.300/24\n"
            ),
            "lxc.net.1.ipv4.address",
        ),
        (
            format!(
                "lxc.net.0.type = veth\nlxc.net.0.link = {br}\nlxc.net.0.veth.pair = {pair}\n\
                 lxc.net.1.type = veth\nlxc.net.1.link = {br}\nlxc.net.1.veth.pair = {br}\n"
            ),
            "lxc.net.1",
        ),
    ];
    for (conf, key) in cases {
        e.define(&cn, &conf);
        let o = e.run("lxc-start", &["-n", &cn, "-d", "--", "/bin/sleep", "1000"]);
        assert!(!o.status.success(), "{conf}");
        let err = stderr(&o);
        assert!(err.contains(key), "expected {key} in: {err}");
        nothing_left(&e, &cn, &pair);
        assert!(ports_of(&br).is_empty(), "{conf}: ports left on the bridge");
    }
}

#[test]
fn lxc_device_moves_an_interface_in_and_out() {
    let e = Env::new("ndev");
    e.define("d", "lxc.net.0.type = empty\n");
    let p = start(&e, "d");
    let (dev, peer) = (name("d"), name("dp"));
    veth_pair(&peer, &dev);
    let _g = (LinkGuard(peer.clone()), LinkGuard(dev.clone()));
    let o = e.run("lxc-device", &["-n", "d", "add", &dev, "eth5"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!host_has(&dev));
    assert!(lxcbox::net::links_of_pid(p)
        .unwrap()
        .contains(&"eth5".to_string()));
    let o = e.run("lxc-ls", &["-f", "-F", "NAME,INTERFACE"]);
    assert!(stdout(&o).contains("d    eth5"), "{}", stdout(&o));
    let o = e.run("lxc-device", &["-n", "d", "del", "eth5", &dev]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(host_has(&dev), "back on the host under its old name");
    // Errors: unknown interface, bad action, stopped container.
    let o = e.run("lxc-device", &["-n", "d", "add", &name("zz")]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("not found on the host"),
        "{}",
        stderr(&o)
    );
    let o = e.run("lxc-device", &["-n", "d", "move", &dev]);
    assert!(stderr(&o).contains("invalid action"), "{}", stderr(&o));
    stop(&e, "d");
    let o = e.run("lxc-device", &["-n", "d", "add", &dev]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("d not running"), "{}", stderr(&o));
}

#[test]
fn lxc_netstat_shows_the_container_sockets_only() {
    let e = Env::new("nnst");
    e.define("s", "lxc.net.0.type = empty\n");
    // The container's init listens on TCP port 7341 in its own namespace.
    let o = e.run(
        "lxc-start",
        &[
            "-n",
            "s",
            "-d",
            "--",
            "/bin/busybox",
            "nc",
            "-l",
            "-p",
            "7341",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    e.wait_until("the listener", || {
        let o = e.run("lxc-netstat", &["-n", "s", "-t", "-l"]);
        stdout(&o).contains(":7341 ")
    });
    // Built-in (no options): the listener, under the netstat headings.
    let out = stdout(&e.run("lxc-netstat", &["-n", "s"]));
    assert!(out.starts_with("Active Internet connections"), "{out}");
    assert!(out.contains(":7341 ") && out.contains("LISTEN"), "{out}");
    // The host's namespace does not have it (ours is a private one).
    let host = std::fs::read_to_string("/proc/self/net/tcp").unwrap();
    assert!(
        !host.contains(":1CAD "),
        "port 7341 must not be on the host"
    );
    // Passthrough to the host tool with options (second -n = numeric).
    if lxcbox::net::host_netstat_tool().is_some() {
        let o = e.run("lxc-netstat", &["-n", "s", "-tln"]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(stdout(&o).contains("7341"), "{}", stdout(&o));
    }
    stop(&e, "s");
    let o = e.run("lxc-netstat", &["-n", "s"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("not running"));
}
