//! macvlan, ipvlan, phys, vlan, empty, scripts. Needs root.

mod net_support;

use lxcbox::config::{NetDev, NetType};
use lxcbox::net::{self, raw};
use net_support::*;

fn start(ns: &NsThread, devs: &[NetDev], name: &str) -> net::HostNet {
    let hn = net::setup_host(devs, name, ns.pid()).expect("setup_host");
    let (d, h) = (devs.to_vec(), hn.clone());
    ns.run(move || net::setup_container(&d, &h))
        .expect("setup_container");
    hn
}

fn over(kind: NetType, link: &str, addr: &str) -> NetDev {
    NetDev {
        index: 0,
        kind,
        link: Some(link.to_string()),
        up: true,
        ipv4_addresses: vec![addr.to_string()],
        ..NetDev::default()
    }
}

#[test]
fn macvlan_pair_on_a_bridge_reach_each_other() {
    let lower = name("mv");
    let _g = make_link(&lower, raw::Kind::Bridge, None);
    let (a, b) = (NsThread::new(), NsThread::new());
    let mut da = over(NetType::Macvlan, &lower, "10.234.1.2/24");
    da.macvlan_mode = Some("bridge".into());
    let db = NetDev {
        ipv4_addresses: vec!["10.234.1.3/24".into()],
        ..da.clone()
    };
    let ha = start(&a, &[da], "mv-a");
    let hb = start(&b, &[db], "mv-b");
    assert!(ha.host_ifnames().is_empty());
    assert_eq!(a.links().len(), 2);
    assert!(a.links().contains(&"eth0".to_string()));
    assert!(a.ping("10.234.1.3"));
    ha.teardown().unwrap();
    hb.teardown().unwrap();
}

#[test]
fn ipvlan_devices_get_their_addresses() {
    let lower = name("iv");
    let _g = make_link(&lower, raw::Kind::Bridge, None);
    let a = NsThread::new();
    let mut d = over(NetType::Ipvlan, &lower, "10.235.1.2/24");
    d.name = Some("ipv0".into());
    d.ipv4_gateway = Some("dev".into());
    // This CI kernel has no ipvlan: then the error must be clear and clean.
    let h = match net::setup_host(std::slice::from_ref(&d), "iv", a.pid()) {
        Ok(h) => h,
        Err(e) => {
            assert_eq!(
                e.to_string(),
                "lxc.net.0.type: the kernel does not support ipvlan devices"
            );
            assert_eq!(a.links(), vec!["lo"]);
            return;
        }
    };
    let h2 = h.clone();
    a.run(move || net::setup_container(&[d], &h2)).unwrap();
    let addrs = net::addresses_of_pid(a.pid()).unwrap();
    assert_eq!(addrs, vec![("ipv0".into(), "10.235.1.2".parse().unwrap())]);
    let routes = a.run(|| std::fs::read_to_string("/proc/thread-self/net/route").unwrap());
    assert!(
        routes
            .lines()
            .any(|l| l.starts_with("ipv0\t00000000\t00000000")),
        "{routes}"
    );
    h.teardown().unwrap();
}

#[test]
fn phys_moves_in_and_back_out() {
    let (p, q) = (name("pa"), name("pb"));
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
    let _gq = LinkGuard(q.clone());
    let mut s = raw::Socket::open().unwrap();
    let orig = raw::by_name(&mut s, &p).unwrap().unwrap();
    let a = NsThread::new();
    let mut d = over(NetType::Phys, &p, "10.236.1.2/24");
    d.name = Some("phys0".into());
    d.mtu = Some(1280);
    d.hwaddr = Some("02:00:00:00:00:xx".into());
    let h = start(&a, &[d], "phys");
    assert!(!host_has(&p));
    assert!(a.links().contains(&"phys0".to_string()));
    h.teardown().unwrap();
    let back = raw::by_name(&mut s, &p).unwrap().expect("back on the host");
    assert_eq!(back.index, orig.index);
    assert_eq!(back.mtu, orig.mtu);
    assert_eq!(back.mac, orig.mac);
    assert_eq!(back.flags & 1, orig.flags & 1, "up state restored");
    assert_eq!(a.links(), vec!["lo"]);
}

#[test]
fn vlan_fails_clearly_without_8021q() {
    let lower = name("vl");
    let _g = make_link(&lower, raw::Kind::Bridge, None);
    let a = NsThread::new();
    let mut d = over(NetType::Vlan, &lower, "10.237.1.2/24");
    d.vlan_id = Some(42);
    match net::setup_host(&[d], "vlan", a.pid()) {
        // A kernel with 802.1Q support creates it; the device must then work.
        Ok(h) => {
            assert!(a.links().contains(&"lxcnet0".to_string()));
            h.teardown().unwrap();
        }
        Err(e) => {
            let m = e.to_string();
            assert!(m.starts_with("lxc.net.0.type: "), "{m}");
            assert!(m.contains("802.1Q"), "{m}");
            assert_eq!(a.links(), vec!["lo"]);
        }
    }
}

#[test]
fn empty_brings_up_loopback_only() {
    let a = NsThread::new();
    let d = NetDev {
        index: 0,
        kind: NetType::Empty,
        ..NetDev::default()
    };
    let h = start(&a, &[d], "empty");
    assert!(h.devs.iter().all(|d| d.host_ifname.is_none()));
    assert_eq!(a.links(), vec!["lo"]);
    assert!(a.ping("127.0.0.1"));
    assert!(net::addresses_of_pid(a.pid()).unwrap().is_empty());
}

#[test]
fn scripts_get_lxc_arguments_and_environment() {
    let dir = std::env::temp_dir().join(format!("lxbt-script-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    struct Rm(std::path::PathBuf);
    impl Drop for Rm {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let _rm = Rm(dir.clone());
    let script = dir.join("s.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$* $LXC_HOOK_TYPE $LXC_NET_TYPE $LXC_NET_PEER\" >> {}/log\n",
            dir.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let a = NsThread::new();
    let d = NetDev {
        index: 0,
        kind: NetType::Veth,
        veth_pair: Some(name("sc")),
        script_up: Some(script.display().to_string()),
        script_down: Some(script.display().to_string()),
        ..NetDev::default()
    };
    let h = start(&a, &[d], "ct1");
    h.teardown().unwrap();
    let log = std::fs::read_to_string(dir.join("log")).unwrap();
    let p = name("sc");
    assert_eq!(
        log,
        format!("ct1 net up veth {p} up veth {p}\nct1 net down veth {p} down veth {p}\n")
    );
    assert!(!host_has(&p));

    // A failing script.up undoes the device and names the key.
    let d = NetDev {
        index: 2,
        kind: NetType::Veth,
        veth_pair: Some(name("sf")),
        script_up: Some("false".into()),
        ..NetDev::default()
    };
    let e = net::setup_host(&[d], "ct1", a.pid())
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("lxc.net.2.script.up: "), "{e}");
    assert!(!host_has(&name("sf")));
    assert_eq!(a.links(), vec!["lo"]);
}

/// A real process as init (not a thread): when it dies without any
/// teardown (the monitor was killed), the kernel removes the host veth end.
#[test]
fn host_veth_goes_away_with_the_init_process() {
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let ns = NsThread::new();
    let child = ns.run(|| {
        std::process::Command::new("/bin/busybox")
            .args(["sleep", "60"])
            .spawn()
            .unwrap()
    });
    drop(ns); // from now on only the child holds the namespace
    let mut init = Kill(child);
    let pid = init.0.id() as i32;
    let d = NetDev {
        index: 0,
        kind: NetType::Veth,
        up: true,
        ipv4_addresses: vec!["10.243.0.2/24".into()],
        ..NetDev::default()
    };
    let h = net::setup_host(std::slice::from_ref(&d), "proc", pid).unwrap();
    let h2 = h.clone();
    net::in_netns(pid, move || net::setup_container(&[d], &h2)).unwrap();
    assert_eq!(
        net::addresses_of_pid(pid).unwrap(),
        vec![("eth0".into(), "10.243.0.2".parse().unwrap())]
    );
    let host = h.host_ifnames()[0].clone();
    assert!(host_has(&host));
    let _ = init.0.kill();
    let _ = init.0.wait();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while host_has(&host) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(!host_has(&host), "{host} outlived its namespace");
    h.teardown().unwrap(); // late teardown is harmless
}
