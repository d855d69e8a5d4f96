//! lxc-net with real links, as root: a busybox container gets an address
//! from the DHCP range with udhcpc, lxc-info -i shows it, and it reaches a
//! second network namespace through the host's NAT, seen there as the
//! host's address; a 500-request burst bounded by LXC_DHCP_MAX and
//! malformed datagrams; bad configuration and clashes refused with nothing
//! made; stop leaves no bridge, table, process or record.
//! Links are named lxbt<pid><tag>; networks 10.25x.<pid%250>.0/24.

#[path = "common/env.rs"]
mod env;
mod net_support;
#[path = "common/rootfs.rs"]
mod rootfs;

use std::net::{Ipv4Addr, SocketAddrV4, TcpListener};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use env::{stderr, stdout, Env};
use lxcbox::dhcp::packet::{self, MessageType, Packet};
use lxcbox::net::nft::{self, Family};
use lxcbox::net::raw::{self, Change, Kind, Netns, NewLink, Socket};
use net_support::{host_has, make_link, name, LinkGuard, NsThread};

/// lxc-net changes host-wide state (ip_forward): one test at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn octet() -> u32 {
    std::process::id() % 250
}

/// A network config for `bridge` on 10.<second>.<pid>.0/24.
fn conf_text(bridge: &str, second: u32, range: (u32, u32), max: u32, leases: &Path) -> String {
    let o = octet();
    format!(
        "USE_LXC_BRIDGE=\"true\"\nLXC_BRIDGE=\"{bridge}\"\nLXC_ADDR=\"10.{second}.{o}.1\"\n\
         LXC_NETMASK=\"255.255.255.0\"\nLXC_NETWORK=\"10.{second}.{o}.0/24\"\n\
         LXC_DHCP_RANGE=\"10.{second}.{o}.{},10.{second}.{o}.{}\"\nLXC_DHCP_MAX=\"{max}\"\n\
         LXCBOX_DHCP_LEASEFILE=\"{}\"\n",
        range.0,
        range.1,
        leases.display()
    )
}

/// A written config; on drop, `lxc-net stop` and removal of any leftover.
struct Net<'a> {
    e: &'a Env,
    file: PathBuf,
    bridge: String,
}

impl<'a> Net<'a> {
    fn new(e: &'a Env, bridge: &str, text: &str) -> Net<'a> {
        let file = e.root.join(format!("{bridge}.conf"));
        std::fs::write(&file, text).unwrap();
        Net {
            e,
            file,
            bridge: bridge.to_string(),
        }
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        let f = self.file.to_string_lossy().into_owned();
        let mut a = vec!["-f", f.as_str()];
        a.extend_from_slice(args);
        self.e.cmd("lxc-net").args(&a).output().unwrap()
    }

    fn status(&self) -> serde_json::Value {
        let o = self.run(&["--json", "status"]);
        serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", stderr(&o)))
    }
}

impl Drop for Net<'_> {
    fn drop(&mut self) {
        let _ = self.run(&["stop"]);
        let _ = LinkGuard(self.bridge.clone());
        if let Ok(mut s) = Socket::open_netfilter() {
            let t = lxcbox::lxcnet::table_name(&self.bridge);
            let _ = nft::delete_table(&mut s, Family::Ip, &t);
        }
    }
}

fn table_exists(bridge: &str) -> bool {
    let t = lxcbox::lxcnet::table_name(bridge);
    let mut s = Socket::open_netfilter().unwrap();
    nft::tables(&mut s, Family::Ip)
        .unwrap()
        .iter()
        .any(|x| x.name == t)
}

fn ip_forward() -> String {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward")
        .unwrap()
        .trim()
        .to_string()
}

fn up(s: &mut Socket, n: &str) -> i32 {
    let l = raw::by_name(s, n).unwrap().unwrap();
    raw::change(
        s,
        l.index,
        &Change {
            up: Some(true),
            ..Change::default()
        },
    )
    .unwrap();
    l.index
}

/// A veth pair: `host` on the host (optionally enslaved to `master`), the
/// peer `inner` in the namespace of `ns`, both up.
fn veth_into(host: &str, inner: &str, ns: &NsThread, master: Option<&str>) -> LinkGuard {
    let mut s = Socket::open().unwrap();
    let master = master.map(|m| raw::by_name(&mut s, m).unwrap().unwrap().index);
    raw::create(
        &mut s,
        &NewLink {
            name: host.to_string(),
            kind: Kind::Veth {
                peer_name: inner.to_string(),
                peer_ns: Some(Netns::Pid(ns.pid())),
                peer_mtu: None,
                peer_queues: (None, None),
            },
            mtu: None,
            master,
            netns: None,
            up: true,
        },
    )
    .unwrap();
    let g = LinkGuard(host.to_string());
    up(&mut s, host);
    let inner = inner.to_string();
    ns.run(move || {
        let mut s = Socket::open().unwrap();
        up(&mut s, &inner);
        up(&mut s, "lo");
    });
    g
}

const DHCP_SCRIPT: &str = "#!/bin/sh\n\
case \"$1\" in\n\
bound|renew) ip addr add $ip/$mask dev $interface; ip route add default via $router ;;\n\
esac\n";

#[test]
fn container_gets_a_lease_and_reaches_a_second_netns_through_nat() {
    let _l = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let e = Env::new("lnet");
    let br = name("n");
    let o = octet();
    let leases = e.root.join("leases");
    let net = Net::new(&e, &br, &conf_text(&br, 252, (50, 60), 5, &leases));
    let forward_before = ip_forward();

    // The "outside": a namespace behind a veth of the host.
    let ns2 = NsThread::new();
    let outer = name("o");
    let _og = veth_into(&outer, "eth9", &ns2, None);
    let mut s = Socket::open().unwrap();
    let idx = raw::by_name(&mut s, &outer).unwrap().unwrap().index;
    raw::add_addr(
        &mut s,
        idx,
        format!("10.253.{o}.1").parse().unwrap(),
        24,
        None,
    )
    .unwrap();
    let listener = ns2.run(move || {
        let mut s = Socket::open().unwrap();
        let i = raw::by_name(&mut s, "eth9").unwrap().unwrap().index;
        raw::add_addr(
            &mut s,
            i,
            format!("10.253.{o}.2").parse().unwrap(),
            24,
            None,
        )
        .unwrap();
        TcpListener::bind(format!("10.253.{o}.2:5555")).unwrap()
    });
    listener.set_nonblocking(true).unwrap();

    let out = net.run(&["start"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(ip_forward(), "1");
    assert!(table_exists(&br));
    let st = net.status();
    assert_eq!(st["state"], "running", "{st}");

    // A busybox container that asks for an address and then keeps
    // connecting to the outside namespace.
    let c = format!("ln-{}", std::process::id());
    let r = e.busybox(
        &c,
        &format!(
            "lxc.net.0.type = veth\nlxc.net.0.link = {br}\nlxc.net.0.flags = up\n\
             lxc.net.0.hwaddr = 00:16:3e:7a:{:02x}:01\nlxc.init.cmd = /bin/sh /bin/dhcp-init\n\
             lxc.console.logfile = {}\n",
            o,
            e.root.join("console.log").display()
        ),
    );
    for a in ["udhcpc", "ip", "nc"] {
        std::os::unix::fs::symlink("busybox", r.join("bin").join(a)).unwrap();
    }
    std::fs::write(r.join("bin/udhcpc.script"), DHCP_SCRIPT).unwrap();
    std::fs::set_permissions(
        r.join("bin/udhcpc.script"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    std::fs::write(
        r.join("bin/dhcp-init"),
        format!(
            "udhcpc -i eth0 -s /bin/udhcpc.script -x hostname:c1 -t 20 -T 1 -A 1 -n || exit 1\n\
             while :; do echo hi | nc 10.253.{o}.2 5555; sleep 0.2; done\n"
        ),
    )
    .unwrap();
    let so = e.run("lxc-start", &["-n", &c, "-d"]);
    assert!(so.status.success(), "{}", stderr(&so));

    let mut ip = String::new();
    let end = Instant::now() + Duration::from_secs(20);
    while ip.is_empty() {
        assert!(
            Instant::now() < end,
            "no DHCP address in the container; console: {}",
            std::fs::read_to_string(e.root.join("console.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
        ip = stdout(&e.run("lxc-info", &["-n", &c, "-i", "-H"]))
            .trim()
            .to_string();
    }
    let a: Ipv4Addr = ip.parse().unwrap_or_else(|_| panic!("lxc-info -i: {ip:?}"));
    assert_eq!(a.octets()[..3], [10, 252, o as u8], "{a}");
    assert!((50..=60).contains(&a.octets()[3]), "{a} outside the range");
    let lf = std::fs::read_to_string(&leases).unwrap();
    assert!(
        lf.contains(&format!(" 00:16:3e:7a:{o:02x}:01 {a} c1 ")),
        "leases file: {lf}"
    );

    // NAT: the outside sees the host's address, not the container's.
    let end = Instant::now() + Duration::from_secs(20);
    let peer = loop {
        match listener.accept() {
            Ok((_, p)) => break p,
            Err(_) if Instant::now() < end => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => panic!("no connection from the container: {e}"),
        }
    };
    assert_eq!(
        peer.ip().to_string(),
        format!("10.253.{o}.1"),
        "masqueraded"
    );
    let st = net.status();
    assert!(st["nat"][0]["packets"].as_u64().unwrap() > 0, "{st}");
    assert_eq!(st["nat"][0]["network"], format!("10.252.{o}.0/24"));
    assert_eq!(st["dhcp"]["leases"], 1);

    // A client that takes a lease without configuring it (script /bin/true):
    // lxc-info -i finds its address in the leases file.
    let c2 = format!("ln2-{}", std::process::id());
    e.busybox(
        &c2,
        &format!(
            "lxc.net.0.type = veth\nlxc.net.0.link = {br}\nlxc.net.0.flags = up\n\
             lxc.net.0.hwaddr = 00:16:3e:7a:{o:02x}:02\n\
             lxc.init.cmd = /bin/sh -c \"udhcpc -i eth0 -s /bin/true -t 20 -T 1 -A 1 -n; sleep 1000\"\n"
        ),
    );
    std::os::unix::fs::symlink(
        "busybox",
        e.root.join("lxc").join(&c2).join("rootfs/bin/udhcpc"),
    )
    .unwrap();
    let so = e.run("lxc-start", &["-n", &c2, "-d"]);
    assert!(so.status.success(), "{}", stderr(&so));
    let mut ip2 = String::new();
    e.wait_until("the leased address of c2", || {
        ip2 = stdout(&e.run("lxc-info", &["-n", &c2, "-i", "-H"]))
            .trim()
            .to_string();
        !ip2.is_empty()
    });
    let a2: Ipv4Addr = ip2
        .parse()
        .unwrap_or_else(|_| panic!("lxc-info -i: {ip2:?}"));
    assert!(a2 != a && (50..=60).contains(&a2.octets()[3]), "{a2}");
    let so = e.run("lxc-stop", &["-n", &c2, "-k"]);
    assert!(so.status.success(), "{}", stderr(&so));

    // Stop with the container still attached: the bridge stays (as LXC),
    // without its address; start takes it over again.
    let out = net.run(&["stop"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("still has ports"), "{}", stderr(&out));
    assert!(host_has(&br));
    assert!(!table_exists(&br));
    let out = net.run(&["start"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let so = e.run("lxc-stop", &["-n", &c, "-k"]);
    assert!(so.status.success(), "{}", stderr(&so));
    let out = net.run(&["stop"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!host_has(&br), "bridge left behind");
    assert!(!table_exists(&br), "nft table left behind");
    if let Ok(o) = std::process::Command::new("nft")
        .args(["list", "tables"])
        .output()
    {
        assert!(!stdout(&o).contains(&br), "{}", stdout(&o));
    }
    assert_eq!(ip_forward(), forward_before, "ip_forward restored");
    assert!(
        !e.rundir()
            .join("lxc-net")
            .join(format!("{br}.json"))
            .exists(),
        "record left behind"
    );
    assert_eq!(net.status()["state"], "stopped");
    let out = net.run(&["stop"]);
    assert_eq!(
        (out.status.code(), stdout(&out)),
        (Some(1), "lxc-net isn't running\n".into())
    );
}

/// A DHCP client socket on `dev` inside the namespace (port 68, broadcast).
fn client_socket(dev: &str) -> std::os::fd::OwnedFd {
    use rustix::net::*;
    let fd = socket(AddressFamily::INET, SocketType::DGRAM, None).unwrap();
    sockopt::set_socket_reuseaddr(&fd, true).unwrap();
    sockopt::set_socket_broadcast(&fd, true).unwrap();
    lxcbox::sys::net::bind_to_device(fd.as_fd(), dev).unwrap();
    bind(&fd, &SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68)).unwrap();
    fd
}

fn request(ty: MessageType, n: u32, opts: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let mut chaddr = [0u8; 16];
    chaddr[..6].copy_from_slice(&[0x02, 0xb0, 0, (n >> 16) as u8, (n >> 8) as u8, n as u8]);
    let mut p = Packet {
        op: packet::BOOTREQUEST,
        htype: 1,
        hlen: 6,
        hops: 0,
        xid: n,
        secs: 0,
        flags: packet::FLAG_BROADCAST,
        ciaddr: Ipv4Addr::UNSPECIFIED,
        yiaddr: Ipv4Addr::UNSPECIFIED,
        siaddr: Ipv4Addr::UNSPECIFIED,
        giaddr: Ipv4Addr::UNSPECIFIED,
        chaddr,
        options: vec![],
    };
    p.push(packet::OPT_MESSAGE_TYPE, &[ty as u8]);
    for (c, d) in opts {
        p.push(*c, d);
    }
    p.encode()
}

fn send_bcast(fd: &std::os::fd::OwnedFd, b: &[u8]) {
    let to = rustix::net::SocketAddrAny::from(SocketAddrV4::new(Ipv4Addr::BROADCAST, 67));
    rustix::net::sendto(fd, b, rustix::net::SendFlags::empty(), &to).unwrap();
}

/// Replies of `ty` received within `d`, keyed by xid.
fn collect(fd: &std::os::fd::OwnedFd, ty: MessageType, d: Duration) -> Vec<Packet> {
    let end = Instant::now() + d;
    let mut out = Vec::new();
    let mut buf = [0u8; 1500];
    while Instant::now() < end {
        let mut p = [rustix::event::PollFd::new(fd, rustix::event::PollFlags::IN)];
        let t = rustix::time::Timespec {
            tv_sec: 0,
            tv_nsec: 200_000_000,
        };
        if rustix::event::poll(&mut p, Some(&t)).unwrap() == 0 {
            continue;
        }
        let n = rustix::net::recv(fd, &mut buf[..], rustix::net::RecvFlags::empty())
            .unwrap()
            .0;
        if let Ok(p) = Packet::parse(&buf[..n]) {
            if p.message_type() == Some(ty) && p.op == packet::BOOTREPLY {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn burst_of_500_requests_is_bounded_and_garbage_is_survived() {
    let _l = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let e = Env::new("lburst");
    let br = name("d");
    let leases = e.root.join("leases");
    let net = Net::new(&e, &br, &conf_text(&br, 254, (10, 100), 20, &leases));
    let out = net.run(&["start"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let ns = NsThread::new();
    let _vg = veth_into(&name("p"), "eth0", &ns, Some(&br));

    let (offers, acks, again, full) = ns.run(|| {
        let fd = client_socket("eth0");
        // The first frames through a veth just added to the bridge can be
        // lost (the port is still coming up): client 0 retries, as a real
        // client does, until the server answers; then the burst.
        let mut offers = Vec::new();
        for _ in 0..25 {
            send_bcast(&fd, &request(MessageType::Discover, 0, &[]));
            offers = collect(&fd, MessageType::Offer, Duration::from_millis(200));
            if !offers.is_empty() {
                break;
            }
        }
        assert!(!offers.is_empty(), "client 0 gets an offer");
        // A retry may have been answered too: one offer per client.
        offers.truncate(1);
        // Then garbage: truncated, no cookie, an option running past the end.
        let good = request(MessageType::Discover, 999_999, &[]);
        for bad in [
            &good[..100],
            &[0u8; 300][..],
            &[&good[..240], &[12u8, 200, 1][..]].concat()[..],
        ] {
            send_bcast(&fd, bad);
        }
        for n in 1..500 {
            send_bcast(&fd, &request(MessageType::Discover, n, &[]));
        }
        offers.extend(
            collect(&fd, MessageType::Offer, Duration::from_secs(3))
                .into_iter()
                .filter(|o| o.xid != 0),
        );
        for o in &offers {
            let sid = o.option(packet::OPT_SERVER_ID).unwrap();
            let req = request(
                MessageType::Request,
                o.xid,
                &[
                    (packet::OPT_REQUESTED_IP, o.yiaddr.octets().to_vec()),
                    (packet::OPT_SERVER_ID, sid),
                ],
            );
            send_bcast(&fd, &req);
        }
        let acks = collect(&fd, MessageType::Ack, Duration::from_secs(3));
        // The pool is full: a new client gets nothing, a known one an offer.
        send_bcast(&fd, &request(MessageType::Discover, 100_000, &[]));
        let full = collect(&fd, MessageType::Offer, Duration::from_millis(800));
        let known = acks.first().map(|a| a.xid).unwrap_or(0);
        send_bcast(&fd, &request(MessageType::Discover, known, &[]));
        let again = collect(&fd, MessageType::Offer, Duration::from_secs(2));
        (offers, acks, again, full)
    });
    assert_eq!(offers.len(), 20, "offers bounded by LXC_DHCP_MAX");
    let mut addrs: Vec<Ipv4Addr> = acks.iter().map(|a| a.yiaddr).collect();
    addrs.sort();
    addrs.dedup();
    assert_eq!((acks.len(), addrs.len()), (20, 20), "20 distinct leases");
    let o = octet() as u8;
    for a in &addrs {
        let x = a.octets();
        assert!(x[..3] == [10, 254, o] && (10..=100).contains(&x[3]), "{a}");
    }
    assert!(full.is_empty(), "a 21st client got an offer");
    assert_eq!(again.len(), 1, "a known client is still served");
    assert_eq!(again[0].yiaddr, acks[0].yiaddr, "and keeps its address");
    let st = net.status();
    assert_eq!(st["state"], "running", "{st}");
    assert_eq!(st["dhcp"]["leases"], 20);
    assert_eq!(
        std::fs::read_to_string(&leases).unwrap().lines().count(),
        20
    );
}

#[test]
fn bad_config_and_clashes_are_refused_with_nothing_made() {
    let _l = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let e = Env::new("lbad");
    let o = octet();
    let leases = e.root.join("leases");
    let br = name("x");
    let check_nothing = |what: &str| {
        assert!(!host_has(&br), "{what}: bridge made");
        assert!(!table_exists(&br), "{what}: table made");
    };

    let net = Net::new(
        &e,
        &br,
        &format!(
            "{}LXC_NETMASK=\"255.255.0\"\n",
            conf_text(&br, 250, (2, 9), 5, &leases)
        ),
    );
    let out = net.run(&["start"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "{}:9: LXC_NETMASK=\"255.255.0\": not an IPv4 address",
            net.file.display()
        )),
        "{err}"
    );
    check_nothing("bad netmask");

    let net = Net::new(
        &e,
        &br,
        &format!("{}echo hello\n", conf_text(&br, 250, (2, 9), 5, &leases)),
    );
    let err = stderr(&net.run(&["start"]));
    assert!(
        err.contains(":9: not a VAR=value assignment: echo hello"),
        "{err}"
    );
    check_nothing("command line");

    let text = conf_text(&br, 250, (2, 9), 5, &leases).replace(
        &format!("10.250.{o}.9\""),
        // The /24 above the bridge's (octets stay below 250, so this is at
        // most 250; a wrap to 0 would make the range backwards instead).
        &format!("10.250.{}.9\"", o + 1),
    );
    let net = Net::new(&e, &br, &text);
    let err = stderr(&net.run(&["start"]));
    assert!(
        err.contains("LXC_DHCP_RANGE") && err.contains("outside the bridge's network"),
        "{err}"
    );
    check_nothing("range outside");

    // The bridge name is taken by someone else's bridge: left alone.
    let _other = make_link(&br, Kind::Bridge, None);
    let net = Net::new(&e, &br, &conf_text(&br, 250, (2, 9), 5, &leases));
    let out = net.run(&["start"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("already exists and was not made by lxc-net"),
        "{}",
        stderr(&out)
    );
    assert!(host_has(&br), "someone else's bridge was removed");
    assert!(!table_exists(&br));
    // ... or served by LXC's own lxc-net (its dnsmasq).
    let mut fake = std::process::Command::new("/bin/sh");
    std::os::unix::process::CommandExt::arg0(&mut fake, "/usr/sbin/dnsmasq");
    let mut fake = fake
        .args(["-c", "sleep 30; true", "x", &format!("--interface={br}")])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let err = stderr(&net.run(&["start"]));
    let _ = fake.kill();
    let _ = fake.wait();
    assert!(err.contains("managed by LXC's own lxc-net"), "{err}");
    drop(_other);

    // The address is already on the host.
    let holder = name("h");
    let _h = make_link(&holder, Kind::Bridge, Some((&format!("10.250.{o}.1"), 24)));
    let out = net.run(&["start"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!("LXC_ADDR 10.250.{o}.1 is already on {holder}")),
        "{}",
        stderr(&out)
    );
    check_nothing("address taken");

    // USE_LXC_BRIDGE=false: nothing to do, as LXC.
    let net = Net::new(
        &e,
        &br,
        &conf_text(&br, 250, (2, 9), 5, &leases).replace("\"true\"", "\"false\""),
    );
    let out = net.run(&["start"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    check_nothing("disabled");
    let out = net.run(&["bogus"]);
    assert_eq!(out.status.code(), Some(2));
}
