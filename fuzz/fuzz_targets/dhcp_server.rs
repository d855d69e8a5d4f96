//! Feed arbitrary datagrams to the DHCP server's parser and pool, as a
//! container on the bridge could. Properties: no panic; a message that
//! parses survives encode -> parse unchanged (its options as parsed);
//! the pool never holds more leases than LXC_DHCP_MAX (statics aside) and
//! never gives one address to two clients.
#![no_main]

use std::net::Ipv4Addr;

use libfuzzer_sys::fuzz_target;
use lxcbox::dhcp::packet::Packet;
use lxcbox::dhcp::{Pool, Settings, DEFAULT_LEASE};

fuzz_target!(|data: &[u8]| {
    let mut pool = Pool::new(
        Settings {
            server: Ipv4Addr::new(10, 0, 3, 1),
            prefix: 24,
            range: (Ipv4Addr::new(10, 0, 3, 2), Ipv4Addr::new(10, 0, 3, 9)),
            max: 4,
            lease_time: DEFAULT_LEASE,
            dns: vec![Ipv4Addr::new(10, 0, 3, 1)],
            domain: Some("lxc".into()),
            statics: vec![],
        },
        vec![],
    );
    // Several datagrams per input, split on a marker, all at one pool.
    for (i, chunk) in data.split(|b| *b == 0xfe).enumerate() {
        let Ok(p) = Packet::parse(chunk) else { continue };
        let again = Packet::parse(&p.encode()).expect("an encoded message parses");
        assert_eq!(again.xid, p.xid);
        assert_eq!(again.chaddr, p.chaddr);
        let _ = pool.handle(&p, i as u64);
        let live: Vec<_> = pool.leases.iter().collect();
        assert!(live.len() <= 4, "more leases than max");
        let mut addrs: Vec<_> = live.iter().map(|l| l.addr).collect();
        addrs.sort();
        addrs.dedup();
        assert_eq!(addrs.len(), live.len(), "an address leased twice");
    }
});
