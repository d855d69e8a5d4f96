use super::packet::*;
use super::*;

fn settings(max: u32) -> Settings {
    Settings {
        server: Ipv4Addr::new(10, 0, 3, 1),
        prefix: 24,
        range: (Ipv4Addr::new(10, 0, 3, 2), Ipv4Addr::new(10, 0, 3, 254)),
        max,
        lease_time: DEFAULT_LEASE,
        dns: vec![],
        domain: Some("lxc".into()),
        statics: vec![],
    }
}

fn req(ty: MessageType, mac: [u8; 6], opts: &[(u8, &[u8])]) -> Packet {
    let mut chaddr = [0u8; 16];
    chaddr[..6].copy_from_slice(&mac);
    let mut p = Packet {
        op: BOOTREQUEST,
        htype: 1,
        hlen: 6,
        hops: 0,
        xid: 7,
        secs: 0,
        flags: 0,
        ciaddr: Ipv4Addr::UNSPECIFIED,
        yiaddr: Ipv4Addr::UNSPECIFIED,
        siaddr: Ipv4Addr::UNSPECIFIED,
        giaddr: Ipv4Addr::UNSPECIFIED,
        chaddr,
        options: vec![],
    };
    p.push(OPT_MESSAGE_TYPE, &[ty as u8]);
    for (c, d) in opts {
        p.push(*c, d);
    }
    p
}

fn mac(n: u16) -> [u8; 6] {
    let b = n.to_be_bytes();
    [0, 0x16, 0x3e, 0, b[0], b[1]]
}

/// DISCOVER then REQUEST of the offered address; the ACK's address.
fn lease(p: &mut Pool, m: [u8; 6], now: u64) -> Option<Ipv4Addr> {
    let (offer, _) = p.handle(
        &req(MessageType::Discover, m, &[(OPT_HOSTNAME, b"c1")]),
        now,
    );
    let (offer, dest) = offer?;
    assert_eq!(dest, Dest::Broadcast);
    assert_eq!(offer.message_type(), Some(MessageType::Offer));
    let a = offer.yiaddr;
    let sid = p.set.server.octets();
    let r = req(
        MessageType::Request,
        m,
        &[(OPT_REQUESTED_IP, &a.octets()), (OPT_SERVER_ID, &sid)],
    );
    let (ack, changed) = p.handle(&r, now);
    let (ack, _) = ack?;
    assert!(changed);
    (ack.message_type() == Some(MessageType::Ack)).then_some(ack.yiaddr)
}

#[test]
fn discover_request_ack_with_options() {
    let mut p = Pool::new(settings(10), vec![]);
    let a = lease(&mut p, mac(1), 1000).unwrap();
    assert!(p.in_range(a) && a != p.set.server);
    let l = &p.leases[0];
    assert!(l.bound);
    assert_eq!(l.expiry, 1000 + DEFAULT_LEASE as u64);
    assert_eq!(l.hostname.as_deref(), Some("c1"));
    // The same client gets the same address again.
    assert_eq!(lease(&mut p, mac(1), 2000), Some(a));
    let (ack, _) = p.handle(&req(MessageType::Discover, mac(1), &[]), 2000);
    let ack = ack.unwrap().0;
    assert_eq!(ack.option(OPT_ROUTER).unwrap(), vec![10, 0, 3, 1]);
    assert_eq!(ack.option(OPT_SUBNET_MASK).unwrap(), vec![255, 255, 255, 0]);
    assert_eq!(ack.option(OPT_DOMAIN).unwrap(), b"lxc".to_vec());
    assert_eq!(ack.option_ip(OPT_SERVER_ID), Some(p.set.server));
}

#[test]
fn requests_for_taken_or_foreign_addresses_are_nakked() {
    let mut p = Pool::new(settings(10), vec![]);
    let a = lease(&mut p, mac(1), 0).unwrap();
    let r = req(
        MessageType::Request,
        mac(2),
        &[(OPT_REQUESTED_IP, &a.octets())],
    );
    let (nak, _) = p.handle(&r, 0);
    let (nak, dest) = nak.unwrap();
    assert_eq!(
        (nak.message_type(), dest),
        (Some(MessageType::Nak), Dest::Broadcast)
    );
    let r = req(
        MessageType::Request,
        mac(2),
        &[(OPT_REQUESTED_IP, &[192, 168, 9, 9])],
    );
    assert_eq!(
        p.handle(&r, 0).0.unwrap().0.message_type(),
        Some(MessageType::Nak)
    );
    // Another server's offer was taken: silence, our offer dropped.
    p.handle(&req(MessageType::Discover, mac(3), &[]), 0);
    let r = req(
        MessageType::Request,
        mac(3),
        &[(OPT_SERVER_ID, &[10, 0, 3, 99])],
    );
    assert!(p.handle(&r, 0).0.is_none());
    assert!(!p.leases.iter().any(|l| l.mac == mac(3)));
}

#[test]
fn renewal_unicast_release_and_expiry() {
    let mut p = Pool::new(settings(10), vec![]);
    let a = lease(&mut p, mac(1), 0).unwrap();
    let mut r = req(MessageType::Request, mac(1), &[]);
    r.ciaddr = a;
    let (ack, _) = p.handle(&r, 100);
    let (ack, dest) = ack.unwrap();
    assert_eq!((ack.yiaddr, dest), (a, Dest::Unicast(a)));
    let mut rel = req(MessageType::Release, mac(1), &[]);
    rel.ciaddr = a;
    assert!(p.handle(&rel, 100).1);
    assert!(p.leases.is_empty());
    lease(&mut p, mac(1), 0).unwrap();
    assert!(!p.expire(10));
    assert!(p.expire(DEFAULT_LEASE as u64 + 1));
    assert!(p.leases.is_empty());
}

#[test]
fn burst_is_bounded_by_max() {
    let mut p = Pool::new(settings(20), vec![]);
    let mut got = std::collections::HashSet::new();
    for n in 0..500 {
        if let Some(a) = lease(&mut p, mac(n), 0) {
            assert!(got.insert(a), "{a} handed out twice");
        }
    }
    assert_eq!(got.len(), 20);
    assert_eq!(p.leases.len(), 20);
    // A known client still renews when the pool is full.
    let known = p.leases[0].mac;
    assert!(lease(&mut p, known, 0).is_some());
}

#[test]
fn static_leases_by_mac_and_name() {
    let mut s = settings(10);
    s.statics = vec![
        StaticLease {
            mac: Some(mac(7)),
            name: None,
            addr: Ipv4Addr::new(10, 0, 3, 200),
            lease: Some(0),
            at: "f:1".into(),
        },
        StaticLease {
            mac: None,
            name: Some("c1".into()),
            addr: Ipv4Addr::new(10, 0, 3, 201),
            lease: None,
            at: "f:2".into(),
        },
    ];
    let mut p = Pool::new(s, vec![]);
    assert_eq!(lease(&mut p, mac(7), 0), Some(Ipv4Addr::new(10, 0, 3, 200)));
    assert_eq!(p.leases[0].expiry, 0, "infinite");
    // mac(8) sends hostname c1 (see lease()).
    assert_eq!(lease(&mut p, mac(8), 0), Some(Ipv4Addr::new(10, 0, 3, 201)));
    // Nobody else gets 10.0.3.200, even when asking for it.
    let r = req(
        MessageType::Discover,
        mac(9),
        &[(OPT_REQUESTED_IP, &[10, 0, 3, 200])],
    );
    assert_ne!(
        p.handle(&r, 0).0.unwrap().0.yiaddr,
        Ipv4Addr::new(10, 0, 3, 200)
    );
}

#[test]
fn replies_only_to_client_requests() {
    let mut p = Pool::new(settings(10), vec![]);
    let mut r = req(MessageType::Discover, mac(1), &[]);
    r.op = BOOTREPLY;
    assert!(p.handle(&r, 0).0.is_none());
    let r = req(MessageType::Offer, mac(1), &[]);
    assert!(p.handle(&r, 0).0.is_none());
    let mut r = req(MessageType::Discover, mac(1), &[]);
    r.hlen = 20;
    assert!(p.handle(&r, 0).0.is_none());
}
