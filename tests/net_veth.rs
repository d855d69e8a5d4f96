//! veth on a test bridge: two namespaces ping each other, auto gateway,
//! info functions, teardown, and 50 setup/teardown cycles. Needs root.

mod net_support;

use std::net::IpAddr;

use lxcbox::config::{NetDev, NetType, PortVlan};
use lxcbox::net::{self, raw};
use net_support::*;

fn veth(index: u32, bridge: &str, addr: &str) -> NetDev {
    NetDev {
        index,
        kind: NetType::Veth,
        link: Some(bridge.to_string()),
        up: true,
        ipv4_addresses: vec![addr.to_string()],
        ..NetDev::default()
    }
}

fn start(ns: &NsThread, devs: &[NetDev], name: &str) -> net::HostNet {
    let hn = net::setup_host(devs, name, ns.pid()).expect("setup_host");
    let (d, h) = (devs.to_vec(), hn.clone());
    ns.run(move || net::setup_container(&d, &h))
        .expect("setup_container");
    hn
}

#[test]
fn two_containers_on_a_bridge_ping_each_other() {
    let br = name("br");
    let _bg = make_link(&br, raw::Kind::Bridge, Some(("10.231.7.1", 24)));
    let (a, b) = (NsThread::new(), NsThread::new());
    let mut da = veth(0, &br, "10.231.7.2/24");
    da.ipv4_gateway = Some("auto".into());
    da.hwaddr = Some("02:aa:bb:xx:xx:xx".into());
    let mut db = veth(0, &br, "10.231.7.3/24");
    db.name = Some("net0".into());
    db.mtu = Some(1400);
    let ha = start(&a, std::slice::from_ref(&da), "ct-a");
    let hb = start(&b, std::slice::from_ref(&db), "ct-b");

    // Host side: veth ends exist, are attached to the bridge, named vethXXXXXX.
    let mut s = raw::Socket::open().unwrap();
    let bridx = raw::by_name(&mut s, &br).unwrap().unwrap().index;
    for h in [&ha, &hb] {
        let names = h.host_ifnames();
        assert_eq!(names.len(), 1);
        assert!(
            names[0].starts_with("veth") && names[0].len() == 10,
            "{names:?}"
        );
        let l = raw::by_name(&mut s, &names[0]).unwrap().unwrap();
        assert_eq!(l.master, Some(bridx));
    }
    // Container side: eth0 / net0 with lo, the temp name gone; mtu and hwaddr applied.
    let mut la = a.links();
    la.sort();
    assert_eq!(la, vec!["eth0", "lo"]);
    let mut lb = b.links();
    lb.sort();
    assert_eq!(lb, vec!["lo", "net0"]);
    let mtu = b.run(|| {
        let mut s = raw::Socket::open().unwrap();
        raw::by_name(&mut s, "net0").unwrap().unwrap().mtu
    });
    assert_eq!(mtu, 1400);
    let mac = a.run(|| {
        let mut s = raw::Socket::open().unwrap();
        raw::by_name(&mut s, "eth0").unwrap().unwrap().mac
    });
    assert_eq!(&mac[..3], &[0x02, 0xaa, 0xbb]);

    assert!(a.ping("10.231.7.3"), "a cannot reach b");
    assert!(b.ping("10.231.7.2"), "b cannot reach a");
    assert!(a.ping("127.0.0.1"), "loopback is not up");
    // The auto gateway is the bridge's address: a default route exists.
    let routes = a.run(|| std::fs::read_to_string("/proc/thread-self/net/route").unwrap());
    assert!(
        routes
            .lines()
            .any(|l| l.starts_with("eth0\t00000000\t0107E70A")),
        "{routes}"
    );

    let addrs = net::addresses_of_pid(a.pid()).unwrap();
    assert_eq!(
        addrs,
        vec![("eth0".to_string(), "10.231.7.2".parse::<IpAddr>().unwrap())]
    );
    assert_eq!(net::host_veths_of_pid(a.pid()).unwrap(), ha.host_ifnames());
    assert_eq!(net::host_veths_of_pid(b.pid()).unwrap(), hb.host_ifnames());
    let (tx, rx) = net::link_stats(&ha.host_ifnames()[0]).unwrap();
    assert!(tx > 0 && rx > 0, "tx {tx} rx {rx}");

    // HostNet survives a JSON round trip (the monitor keeps it).
    let json = serde_json::to_string(&ha).unwrap();
    let back: net::HostNet = serde_json::from_str(&json).unwrap();
    assert_eq!(back, ha);

    ha.teardown().unwrap();
    hb.teardown().unwrap();
    for h in [&ha, &hb] {
        assert!(!host_has(&h.host_ifnames()[0]));
    }
    assert_eq!(a.links(), vec!["lo"]);
}

#[test]
fn fifty_cycles_leave_nothing_behind() {
    let br = name("cy");
    let _bg = make_link(&br, raw::Kind::Bridge, None);
    let mut made = Vec::new();
    for i in 0..50 {
        let ns = NsThread::new();
        let mut d = veth(0, &br, "10.232.1.2/24");
        if i % 2 == 0 {
            d.veth_pair = Some(name("cp"));
        }
        let d2 = NetDev {
            index: 1,
            kind: NetType::Veth,
            ..NetDev::default()
        };
        let hn = start(&ns, &[d, d2], "cycle");
        made.extend(hn.host_ifnames());
        hn.teardown().unwrap();
        drop(ns);
    }
    assert_eq!(made.len(), 100);
    let after = host_links();
    let left: Vec<_> = made.iter().filter(|n| after.contains(n)).collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    // Nothing is still attached to the test bridge (other tests and other
    // programs may add host links meanwhile, so counts are not compared).
    let mut s = raw::Socket::open().unwrap();
    let bridx = raw::by_name(&mut s, &br).unwrap().unwrap().index;
    let ports: Vec<_> = raw::list_links(&mut s)
        .unwrap()
        .into_iter()
        .filter(|l| l.master == Some(bridx))
        .map(|l| l.name)
        .collect();
    assert!(ports.is_empty(), "still on the bridge: {ports:?}");
}

#[test]
fn teardown_after_the_namespace_died_is_clean() {
    let br = name("nd");
    let _bg = make_link(&br, raw::Kind::Bridge, None);
    let ns = NsThread::new();
    let hn = start(&ns, &[veth(0, &br, "10.233.1.2/24")], "dead");
    let host = hn.host_ifnames()[0].clone();
    drop(ns); // the namespace dies: the kernel destroys the pair
    hn.teardown().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while host_has(&host) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(!host_has(&host));
}

#[test]
fn ipv6_router_mode_routes_and_l2proxy() {
    let br = name("v6");
    let _bg = make_link(&br, raw::Kind::Bridge, Some(("fd23:7::1", 64)));
    let a = NsThread::new();
    let d = NetDev {
        ipv6_addresses: vec!["fd23:7::2/64".into()],
        ipv6_gateway: Some("auto".into()),
        veth_ipv4_routes: vec!["10.240.9.0/24".into()],
        l2proxy: true,
        ..veth(0, &br, "10.240.8.2/24")
    };
    // l2proxy insists on forwarding being enabled on the link. A new link
    // inherits conf/default, which the host (or lxc-net in another test) may
    // have turned on: start from forwarding off, whatever the host says.
    for f in [
        format!("/proc/sys/net/ipv4/conf/{br}/forwarding"),
        format!("/proc/sys/net/ipv6/conf/{br}/forwarding"),
        format!("/proc/sys/net/ipv6/conf/{br}/proxy_ndp"),
    ] {
        std::fs::write(&f, "0").unwrap();
    }
    let e = net::setup_host(std::slice::from_ref(&d), "v6", a.pid()).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("lxc.net.0.l2proxy: needs net.ipv4.conf.{br}.forwarding=1")
    );
    assert_eq!(a.links(), vec!["lo"]);
    for f in [
        format!("/proc/sys/net/ipv4/conf/{br}/forwarding"),
        format!("/proc/sys/net/ipv6/conf/{br}/forwarding"),
        format!("/proc/sys/net/ipv6/conf/{br}/proxy_ndp"),
    ] {
        std::fs::write(&f, "1").unwrap();
    }
    let h = start(&a, std::slice::from_ref(&d), "v6");
    assert_eq!(h.devs[0].proxies.len(), 2);
    assert_eq!(h.devs[0].gateway6, Some("fd23:7::1".parse().unwrap()));
    let addrs = net::addresses_of_pid(a.pid()).unwrap();
    assert_eq!(
        addrs,
        vec![
            ("eth0".to_string(), "10.240.8.2".parse::<IpAddr>().unwrap()),
            ("eth0".to_string(), "fd23:7::2".parse::<IpAddr>().unwrap()),
        ]
    );
    let r6 = a.run(|| std::fs::read_to_string("/proc/thread-self/net/ipv6_route").unwrap());
    // default route (::/0) via fd23:7::1 on eth0
    assert!(
        r6.lines()
            .any(|l| l.starts_with("00000000000000000000000000000000 00")
                && l.contains("fd230007000000000000000000000001")
                && l.ends_with("eth0")),
        "{r6}"
    );
    // veth.ipv4.route: the host routes 10.240.9.0/24 to the container.
    let host = h.host_ifnames()[0].clone();
    let r4 = std::fs::read_to_string("/proc/net/route").unwrap();
    assert!(
        r4.lines()
            .any(|l| l.starts_with(&format!("{host}\t0009F00A"))),
        "{r4}"
    );
    h.teardown().unwrap();
    assert!(!host_has(&host));
}

#[test]
fn bridge_port_vlans_separate_containers() {
    let br = name("vf");
    let _bg = make_link(&br, raw::Kind::Bridge, None);
    let (a, b, c) = (NsThread::new(), NsThread::new(), NsThread::new());
    let mk = |addr: &str, vid: u16| NetDev {
        veth_vlan_id: Some(PortVlan::Id(vid)),
        veth_vlan_tagged: vec![300],
        ..veth(0, &br, addr)
    };
    let e = net::setup_host(&[mk("10.241.1.2/24", 10)], "vf", a.pid()).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("lxc.net.0.veth.vlan.id: bridge \"{br}\" does not have vlan_filtering enabled")
    );
    assert_eq!(a.links(), vec!["lo"]);
    let mut s = raw::Socket::open().unwrap();
    let bridx = raw::by_name(&mut s, &br).unwrap().unwrap().index;
    match raw::set_vlan_filtering(&mut s, bridx, true) {
        // This CI kernel lacks CONFIG_BRIDGE_VLAN_FILTERING: only the error
        // path above can be checked there.
        Err(e) if e.kind() == std::io::ErrorKind::Unsupported => return,
        r => r.unwrap(),
    }
    assert!(raw::by_name(&mut s, &br).unwrap().unwrap().vlan_filtering);
    let ha = start(&a, &[mk("10.241.1.2/24", 10)], "a");
    let hb = start(&b, &[mk("10.241.1.3/24", 10)], "b");
    let hc = start(&c, &[mk("10.241.1.4/24", 20)], "c");
    let mut v = raw::vlans_of(&mut s, ha.devs[0].host_ifindex).unwrap();
    v.sort();
    assert_eq!(v, vec![(10, raw::VLAN_PVID | raw::VLAN_UNTAGGED), (300, 0)]);
    assert!(a.ping("10.241.1.3"), "same VLAN must pass");
    assert!(!a.ping("10.241.1.4"), "another VLAN must not pass");
    // veth.vlan.id = none: the port leaves the default VLAN 1 and has no
    // untagged VLAN at all, only the tagged ones.
    let d = NsThread::new();
    let none = NetDev {
        veth_vlan_id: Some(PortVlan::None),
        ..mk("10.241.1.5/24", 10)
    };
    let hd = start(&d, &[none], "d");
    assert_eq!(
        raw::vlans_of(&mut s, hd.devs[0].host_ifindex).unwrap(),
        vec![(300, 0)]
    );
    assert!(!d.ping("10.241.1.3"), "no untagged VLAN: nothing passes");
    for h in [ha, hb, hc, hd] {
        h.teardown().unwrap();
    }
}

#[test]
fn router_mode_routes_the_container_addresses_to_the_host_end() {
    let a = NsThread::new();
    let d = NetDev {
        index: 0,
        kind: NetType::Veth,
        up: true,
        veth_mode: Some("router".into()),
        ipv4_addresses: vec!["10.242.0.2/24".into()],
        ipv4_gateway: Some("10.242.0.1".into()),
        ..NetDev::default()
    };
    let h = start(&a, &[d], "rt");
    let host = h.host_ifnames()[0].clone();
    let r4 = std::fs::read_to_string("/proc/net/route").unwrap();
    // 10.242.0.2/32 (0200F20A, mask FFFFFFFF) via the host end
    assert!(
        r4.lines()
            .any(|l| l.starts_with(&format!("{host}\t0200F20A")) && l.contains("FFFFFFFF")),
        "{r4}"
    );
    assert_eq!(
        h.devs[0].proxies,
        vec![(h.devs[0].host_ifindex, "10.242.0.1".parse().unwrap())]
    );
    h.teardown().unwrap();
    assert!(!host_has(&host));
}
