//! nf_tables over netlink: the masquerade table lxc-net makes, read back
//! over netlink and as the host's `nft` shows it; one transaction (a clash
//! leaves nothing behind); delete. Tables are named after the test's pid.

use lxcbox::net::nft::{self, Family};
use lxcbox::net::raw::Socket;

fn table(tag: &str) -> String {
    format!("lxbt{}{tag}", std::process::id())
}

struct Guard(Family, String);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Ok(mut s) = Socket::open_netfilter() {
            let _ = nft::delete_table(&mut s, self.0, &self.1);
        }
    }
}

fn nft_list(family: &str, t: &str) -> Option<String> {
    let o = std::process::Command::new("nft")
        .args(["list", "table", family, t])
        .output()
        .ok()?;
    o.status
        .success()
        .then(|| String::from_utf8_lossy(&o.stdout).into_owned())
}

#[test]
fn masquerade_table_reads_back_and_deletes() {
    let t = table("m");
    let _g = Guard(Family::Ip, t.clone());
    let mut s = Socket::open_netfilter().unwrap();
    nft::add_masquerade(&mut s, Family::Ip, &t, "10.251.7.0".parse().unwrap(), 24).unwrap();
    let tabs = nft::tables(&mut s, Family::Ip).unwrap();
    let mine = tabs.iter().find(|x| x.name == t).expect("table listed");
    assert_eq!(mine.chains, 1);
    let rules = nft::rules(&mut s, Family::Ip, &t).unwrap();
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].chain, "postrouting");
    let names: Vec<&str> = rules[0].exprs.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        ["payload", "bitwise", "cmp", "payload", "bitwise", "cmp", "counter", "masq"]
    );
    assert_eq!(
        rules[0].exprs[2].cmp,
        Some(("==".into(), vec![10, 251, 7, 0]))
    );
    assert_eq!(
        rules[0].exprs[5].cmp,
        Some(("!=".into(), vec![10, 251, 7, 0]))
    );
    let text = nft_list("ip", &t).expect("nft list table");
    {
        assert!(
            text.contains("type nat hook postrouting priority srcnat; policy accept;"),
            "{text}"
        );
        assert!(
            text.contains("ip saddr 10.251.7.0/24 ip daddr != 10.251.7.0/24 counter packets 0 bytes 0 masquerade"),
            "{text}"
        );
    }
    // A second add clashes with the table and leaves the first intact.
    let e =
        nft::add_masquerade(&mut s, Family::Ip, &t, "10.251.8.0".parse().unwrap(), 24).unwrap_err();
    assert_eq!(lxcbox_errno(&e), Some(libc::EEXIST), "{e}");
    assert_eq!(nft::rules(&mut s, Family::Ip, &t).unwrap().len(), 1);
    nft::delete_table(&mut s, Family::Ip, &t).unwrap();
    assert!(!nft::tables(&mut s, Family::Ip)
        .unwrap()
        .iter()
        .any(|x| x.name == t));
    nft::delete_table(&mut s, Family::Ip, &t).unwrap();
}

#[test]
fn ipv6_masquerade_table() {
    let t = table("6");
    let _g = Guard(Family::Ip6, t.clone());
    let mut s = Socket::open_netfilter().unwrap();
    nft::add_masquerade(&mut s, Family::Ip6, &t, "fd42:7::".parse().unwrap(), 64).unwrap();
    let text = nft_list("ip6", &t).expect("nft list table");
    {
        assert!(
            text.contains("ip6 saddr fd42:7::/64 ip6 daddr != fd42:7::/64 counter packets 0 bytes 0 masquerade"),
            "{text}"
        );
    }
    nft::delete_table(&mut s, Family::Ip6, &t).unwrap();
}

fn lxcbox_errno(e: &std::io::Error) -> Option<i32> {
    e.raw_os_error().or_else(|| {
        let s = e.to_string();
        s.contains("File exists").then_some(libc::EEXIST)
    })
}
