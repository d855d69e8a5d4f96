//! Bad input fails with lxc.net.N.KEY named and leaves nothing behind;
//! lxc-device moves; lxc-netstat. Needs root.

mod net_support;

use lxcbox::config::{NetDev, NetType};
use lxcbox::net::{self, raw};
use net_support::*;

fn veth(index: u32) -> NetDev {
    NetDev {
        index,
        kind: NetType::Veth,
        up: true,
        ..NetDev::default()
    }
}

/// Runs setup_host, expects `msg`, and checks that neither the namespace
/// nor the host kept anything (the first, good device included).
fn fails_cleanly(devs: Vec<NetDev>, msg: &str) {
    let a = NsThread::new();
    // Unique per call: these tests run in parallel threads of one process.
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let good = name(&format!("k{n}"));
    let mut all = vec![NetDev {
        veth_pair: Some(good.clone()),
        ..veth(0)
    }];
    all.extend(devs);
    let e = net::setup_host(&all, "bad", a.pid()).unwrap_err();
    assert_eq!(e.to_string(), msg);
    assert!(!host_has(&good), "{good} left on the host");
    assert_eq!(a.links(), vec!["lo"]);
}

#[test]
fn missing_bridge() {
    fails_cleanly(
        vec![NetDev {
            link: Some("nobr0".into()),
            ..veth(1)
        }],
        "lxc.net.1.link: bridge \"nobr0\" not found",
    );
}

#[test]
fn link_that_is_not_a_bridge() {
    let (p, q) = (name("np"), name("nq"));
    let _g = make_link(
        &p,
        raw::Kind::Veth {
            peer_name: q,
            peer_ns: None,
            peer_mtu: None,
            peer_queues: (None, None),
        },
        None,
    );
    fails_cleanly(
        vec![NetDev {
            link: Some(p.clone()),
            ..veth(1)
        }],
        &format!("lxc.net.1.link: \"{p}\" is not a bridge"),
    );
}

#[test]
fn duplicate_host_name() {
    let br = name("du");
    let _g = make_link(&br, raw::Kind::Bridge, None);
    fails_cleanly(
        vec![NetDev {
            veth_pair: Some(br.clone()),
            ..veth(1)
        }],
        &format!("lxc.net.1.veth.pair: interface \"{br}\" already exists"),
    );
}

#[test]
fn duplicate_container_name_and_invalid_address() {
    fails_cleanly(
        vec![
            NetDev {
                name: Some("eth0".into()),
                ..veth(1)
            },
            NetDev {
                name: Some("eth0".into()),
                ..veth(2)
            },
        ],
        "lxc.net.2.name: duplicate interface name \"eth0\"",
    );
    fails_cleanly(
        vec![NetDev {
            ipv4_addresses: vec!["10.238.0.256/24".into()],
            ..veth(1)
        }],
        "lxc.net.1.ipv4.address: invalid address \"10.238.0.256/24\"",
    );
    fails_cleanly(
        vec![NetDev {
            kind: NetType::Phys,
            link: Some("nophys0".into()),
            ..veth(1)
        }],
        "lxc.net.1.link: interface \"nophys0\" not found",
    );
}

#[test]
fn container_side_errors_name_the_key() {
    let a = NsThread::new();
    // The same address twice on one device: the kernel says EEXIST.
    let d = NetDev {
        ipv4_addresses: vec!["10.239.0.2/24".into(), "10.239.0.2/24".into()],
        ..veth(0)
    };
    let h = net::setup_host(std::slice::from_ref(&d), "ct", a.pid()).unwrap();
    let h2 = h.clone();
    let e = a.run(move || net::setup_container(&[d], &h2)).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("lxc.net.0.ipv4.address: adding 10.239.0.2/24: "),
        "{e}"
    );
    h.teardown().unwrap();
    // A gateway without flags = up.
    let d = NetDev {
        up: false,
        ipv4_addresses: vec!["10.239.1.2/24".into()],
        ipv4_gateway: Some("10.239.1.1".into()),
        ..veth(0)
    };
    let b = NsThread::new();
    let h = net::setup_host(std::slice::from_ref(&d), "ct", b.pid()).unwrap();
    let h2 = h.clone();
    let e = b.run(move || net::setup_container(&[d], &h2)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "lxc.net.0.ipv4.gateway: needs the interface up (lxc.net.N.flags = up)"
    );
    h.teardown().unwrap();
}

#[test]
fn device_moves_into_a_container_and_back() {
    let (p, q) = (name("da"), name("db"));
    let _g = make_link(
        &p,
        raw::Kind::Veth {
            peer_name: q.clone(),
            peer_ns: None,
            peer_mtu: None,
            peer_queues: (None, None),
        },
        None,
    );
    let _gq = LinkGuard(q);
    let a = NsThread::new();
    net::move_into(a.pid(), &p, Some("moved0")).unwrap();
    assert!(!host_has(&p));
    assert!(a.links().contains(&"moved0".to_string()));
    let back = name("dc");
    let _gb = LinkGuard(back.clone());
    net::move_out(a.pid(), "moved0", Some(&back)).unwrap();
    assert!(host_has(&back));
    assert_eq!(a.links(), vec!["lo"]);
    let e = net::move_out(a.pid(), "nosuch0", None).unwrap_err();
    assert_eq!(
        e.to_string(),
        "interface \"nosuch0\" not found in the container"
    );
    let e = net::move_into(a.pid(), "nosuch0", None).unwrap_err();
    assert_eq!(e.to_string(), "interface \"nosuch0\" not found on the host");
}

#[test]
fn netstat_shows_the_container_sockets() {
    let a = NsThread::new();
    a.run(net::loopback_up).unwrap();
    // A listener created inside the namespace (sockets belong to the
    // namespace of the thread that makes them).
    let (l, port) = a.run(|| {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        (l, port)
    });
    let out = net::netstat(a.pid()).unwrap();
    let want = format!("127.0.0.1:{port}");
    assert!(
        out.lines()
            .any(|x| x.starts_with("tcp ") && x.contains(&want) && x.contains("LISTEN")),
        "{out}"
    );
    assert!(out.contains("Active UNIX domain sockets"));
    // The host's own listeners are not there.
    let host = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hp = format!("127.0.0.1:{} ", host.local_addr().unwrap().port());
    assert!(!out.contains(&hp), "{out}");
    drop(l);
}

#[test]
fn failure_after_a_macvlan_removes_it_from_the_container() {
    let br = name("ma");
    let _g = make_link(&br, raw::Kind::Bridge, None);
    let a = NsThread::new();
    let d = NetDev {
        index: 0,
        kind: NetType::Macvlan,
        link: Some(br.clone()),
        up: true,
        // The bridge has no address: "auto" cannot be resolved, after the
        // macvlan was already made inside the namespace.
        ipv4_gateway: Some("auto".into()),
        ..NetDev::default()
    };
    let e = net::setup_host(&[d], "ma", a.pid()).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("lxc.net.0.ipv4.gateway: \"auto\": \"{br}\" has no address to use")
    );
    assert_eq!(a.links(), vec!["lo"]);
}
