//! nf_tables over NETLINK_NETFILTER, built by hand like the rtnetlink code:
//! just what lxc-net needs — a table with a NAT postrouting chain and a
//! masquerade rule for one network (`ip saddr NET ip daddr != NET counter
//! masquerade`), deleting a table, and reading tables and rules back.
//!
//! Facts from the kernel's uapi (linux/netfilter/nf_tables.h, nfnetlink.h):
//! every message starts with a `struct nfgenmsg` (family, version, res_id);
//! changes go in a batch (NFNL_MSG_BATCH_BEGIN ... BATCH_END, res_id =
//! NFNL_SUBSYS_NFTABLES) that the kernel commits as one transaction; u32
//! attributes are big-endian (unlike rtnetlink's host order); when an
//! expression's module is not loaded yet the kernel loads it and replays
//! the batch itself.

use std::io;
use std::net::IpAddr;

use super::nl::{self, Msg, Socket};

const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFNL_MSG_BATCH_BEGIN: u16 = 16;
const NFNL_MSG_BATCH_END: u16 = 17;

const NFT_MSG_NEWTABLE: u16 = 0;
const NFT_MSG_GETTABLE: u16 = 1;
const NFT_MSG_DELTABLE: u16 = 2;
const NFT_MSG_NEWCHAIN: u16 = 3;
const NFT_MSG_NEWRULE: u16 = 6;
const NFT_MSG_GETRULE: u16 = 7;

const NLM_F_APPEND: u16 = 0x800;

const NFTA_TABLE_NAME: u16 = 1;
const NFTA_TABLE_FLAGS: u16 = 2;
const NFTA_TABLE_USE: u16 = 3;
const NFTA_CHAIN_TABLE: u16 = 1;
const NFTA_CHAIN_NAME: u16 = 3;
const NFTA_CHAIN_HOOK: u16 = 4;
const NFTA_CHAIN_POLICY: u16 = 5;
const NFTA_CHAIN_TYPE: u16 = 7;
const NFTA_HOOK_HOOKNUM: u16 = 1;
const NFTA_HOOK_PRIORITY: u16 = 2;
const NFTA_RULE_TABLE: u16 = 1;
const NFTA_RULE_CHAIN: u16 = 2;
const NFTA_RULE_EXPRESSIONS: u16 = 4;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_EXPR_NAME: u16 = 1;
const NFTA_EXPR_DATA: u16 = 2;
const NFTA_DATA_VALUE: u16 = 1;
const NFTA_PAYLOAD_DREG: u16 = 1;
const NFTA_PAYLOAD_BASE: u16 = 2;
const NFTA_PAYLOAD_OFFSET: u16 = 3;
const NFTA_PAYLOAD_LEN: u16 = 4;
const NFTA_BITWISE_SREG: u16 = 1;
const NFTA_BITWISE_DREG: u16 = 2;
const NFTA_BITWISE_LEN: u16 = 3;
const NFTA_BITWISE_MASK: u16 = 4;
const NFTA_BITWISE_XOR: u16 = 5;
const NFTA_CMP_SREG: u16 = 1;
const NFTA_CMP_OP: u16 = 2;
const NFTA_CMP_DATA: u16 = 3;
const NFTA_COUNTER_BYTES: u16 = 1;
const NFTA_COUNTER_PACKETS: u16 = 2;

const NFT_REG_1: u32 = 1;
const NFT_PAYLOAD_NETWORK_HEADER: u32 = 1;
const NFT_CMP_EQ: u32 = 0;
const NFT_CMP_NEQ: u32 = 1;
const NF_INET_POST_ROUTING: u32 = 4;
const NF_ACCEPT: u32 = 1;
/// `srcnat` priority, as `nft` names 100 for nat postrouting.
const NAT_PRIORITY: u32 = 100;

/// An nf_tables family (the `nfgen_family` of every message).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Ip,
    Ip6,
}

impl Family {
    fn nfproto(self) -> u8 {
        match self {
            Family::Ip => libc::NFPROTO_IPV4 as u8,
            Family::Ip6 => libc::NFPROTO_IPV6 as u8,
        }
    }

    pub fn of(a: &IpAddr) -> Family {
        if a.is_ipv4() {
            Family::Ip
        } else {
            Family::Ip6
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Family::Ip => "ip",
            Family::Ip6 => "ip6",
        }
    }
}

fn msg(ty: u16, flags: u16, family: u8, res_id: u16) -> Msg {
    let mut m = if ty == NFNL_MSG_BATCH_BEGIN || ty == NFNL_MSG_BATCH_END {
        Msg::raw(ty, flags)
    } else {
        Msg::new((NFNL_SUBSYS_NFTABLES << 8) | ty, flags)
    };
    // struct nfgenmsg: family, version (NFNETLINK_V0), res_id (big-endian).
    let r = res_id.to_be_bytes();
    m.header(&[family, 0, r[0], r[1]]);
    m
}

fn be32(m: &mut Msg, ty: u16, v: u32) {
    m.attr(ty, &v.to_be_bytes());
}

/// Wraps `body` in BATCH_BEGIN / BATCH_END and sends it.
fn commit(s: &mut Socket, mut body: Vec<Msg>) -> io::Result<()> {
    let mut all = Vec::with_capacity(body.len() + 2);
    let sub = NFNL_SUBSYS_NFTABLES;
    all.push(msg(NFNL_MSG_BATCH_BEGIN, 0, libc::AF_UNSPEC as u8, sub));
    all.append(&mut body);
    all.push(msg(NFNL_MSG_BATCH_END, 0, libc::AF_UNSPEC as u8, sub));
    s.batch(&mut all)
}

/// One expression of a rule: its name and its attributes.
fn expr(m: &mut Msg, name: &str, data: impl FnOnce(&mut Msg)) {
    m.begin(NFTA_LIST_ELEM).attr_str(NFTA_EXPR_NAME, name);
    m.begin(NFTA_EXPR_DATA);
    data(m);
    m.end().end();
}

fn data_value(m: &mut Msg, ty: u16, bytes: &[u8]) {
    m.begin(ty).attr(NFTA_DATA_VALUE, bytes).end();
}

/// `ip saddr|daddr [!=] NET`: load the address, mask it, compare it.
fn match_net(m: &mut Msg, offset: u32, net: IpAddr, prefix: u8, op: u32) {
    let addr = match net {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    };
    let len = addr.len() as u32;
    expr(m, "payload", |m| {
        be32(m, NFTA_PAYLOAD_DREG, NFT_REG_1);
        be32(m, NFTA_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER);
        be32(m, NFTA_PAYLOAD_OFFSET, offset);
        be32(m, NFTA_PAYLOAD_LEN, len);
    });
    let mask = prefix_mask(addr.len(), prefix);
    let masked: Vec<u8> = addr.iter().zip(&mask).map(|(a, b)| a & b).collect();
    if mask.iter().any(|b| *b != 0xff) {
        expr(m, "bitwise", |m| {
            be32(m, NFTA_BITWISE_SREG, NFT_REG_1);
            be32(m, NFTA_BITWISE_DREG, NFT_REG_1);
            be32(m, NFTA_BITWISE_LEN, len);
            data_value(m, NFTA_BITWISE_MASK, &mask);
            data_value(m, NFTA_BITWISE_XOR, &vec![0u8; addr.len()]);
        });
    }
    expr(m, "cmp", |m| {
        be32(m, NFTA_CMP_SREG, NFT_REG_1);
        be32(m, NFTA_CMP_OP, op);
        data_value(m, NFTA_CMP_DATA, &masked);
    });
}

/// The network mask of `prefix` bits over `len` bytes.
pub fn prefix_mask(len: usize, prefix: u8) -> Vec<u8> {
    (0..len)
        .map(|i| {
            let bits = (prefix as usize).saturating_sub(i * 8).min(8);
            (0xffu16 << (8 - bits)) as u8
        })
        .collect()
}

/// Creates table `table` (failing with EEXIST if it exists) holding a nat
/// postrouting chain with `ip saddr NET ip daddr != NET counter masquerade`,
/// in one transaction: either all of it exists afterwards or none.
pub fn add_masquerade(
    s: &mut Socket,
    family: Family,
    table: &str,
    net: IpAddr,
    prefix: u8,
) -> io::Result<()> {
    let fam = family.nfproto();
    let mut t = msg(NFT_MSG_NEWTABLE, nl::NLM_F_CREATE | nl::NLM_F_EXCL, fam, 0);
    t.attr_str(NFTA_TABLE_NAME, table);
    be32(&mut t, NFTA_TABLE_FLAGS, 0);

    let mut c = msg(NFT_MSG_NEWCHAIN, nl::NLM_F_CREATE, fam, 0);
    c.attr_str(NFTA_CHAIN_TABLE, table)
        .attr_str(NFTA_CHAIN_NAME, "postrouting");
    c.begin(NFTA_CHAIN_HOOK);
    be32(&mut c, NFTA_HOOK_HOOKNUM, NF_INET_POST_ROUTING);
    be32(&mut c, NFTA_HOOK_PRIORITY, NAT_PRIORITY);
    c.end();
    be32(&mut c, NFTA_CHAIN_POLICY, NF_ACCEPT);
    c.attr_str(NFTA_CHAIN_TYPE, "nat");

    let mut r = msg(NFT_MSG_NEWRULE, nl::NLM_F_CREATE | NLM_F_APPEND, fam, 0);
    r.attr_str(NFTA_RULE_TABLE, table)
        .attr_str(NFTA_RULE_CHAIN, "postrouting");
    r.begin(NFTA_RULE_EXPRESSIONS);
    // Source and destination offsets in the IPv4 / IPv6 header.
    let (src, dst) = match family {
        Family::Ip => (12, 16),
        Family::Ip6 => (8, 24),
    };
    match_net(&mut r, src, net, prefix, NFT_CMP_EQ);
    match_net(&mut r, dst, net, prefix, NFT_CMP_NEQ);
    expr(&mut r, "counter", |m| {
        m.attr(NFTA_COUNTER_BYTES, &0u64.to_be_bytes())
            .attr(NFTA_COUNTER_PACKETS, &0u64.to_be_bytes());
    });
    expr(&mut r, "masq", |_| {});
    r.end();
    commit(s, vec![t, c, r])
}

/// Deletes table `table` with everything in it; a table that is already
/// gone is not an error.
pub fn delete_table(s: &mut Socket, family: Family, table: &str) -> io::Result<()> {
    let mut m = msg(NFT_MSG_DELTABLE, 0, family.nfproto(), 0);
    m.attr_str(NFTA_TABLE_NAME, table);
    match commit(s, vec![m]) {
        Err(e) if nl::errno(&e) == Some(libc::ENOENT) => Ok(()),
        r => r,
    }
}

/// A table as the kernel lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Table {
    pub family: Family,
    pub name: String,
    /// Number of chains in it.
    pub chains: u32,
}

/// The tables of `family`.
pub fn tables(s: &mut Socket, family: Family) -> io::Result<Vec<Table>> {
    let mut m = msg(NFT_MSG_GETTABLE, nl::NLM_F_DUMP, family.nfproto(), 0);
    let mut out = Vec::new();
    for r in s.transact(&mut m)? {
        let mut t = Table {
            family,
            name: String::new(),
            chains: 0,
        };
        for (ty, d) in nl::attrs(r.body.get(4..).unwrap_or_default()) {
            match ty {
                NFTA_TABLE_NAME => t.name = nl::attr_string(d),
                NFTA_TABLE_USE => t.chains = be_u32(d).unwrap_or(0),
                _ => {}
            }
        }
        out.push(t);
    }
    Ok(out)
}

fn be_u32(d: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(d.get(..4)?.try_into().ok()?))
}

fn be_u64(d: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(d.get(..8)?.try_into().ok()?))
}

/// One expression of a rule read back: its name and, for `cmp`, the
/// operator and value; for `counter`, the packets seen.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Expr {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cmp: Option<(String, Vec<u8>)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packets: Option<u64>,
}

/// A rule read back: chain and expressions.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rule {
    pub chain: String,
    pub exprs: Vec<Expr>,
}

fn parse_expr(d: &[u8]) -> Expr {
    let mut e = Expr {
        name: String::new(),
        cmp: None,
        packets: None,
    };
    let mut data: &[u8] = &[];
    for (ty, v) in nl::attrs(d) {
        match ty {
            NFTA_EXPR_NAME => e.name = nl::attr_string(v),
            NFTA_EXPR_DATA => data = v,
            _ => {}
        }
    }
    match e.name.as_str() {
        "cmp" => {
            let mut op = None;
            let mut val = Vec::new();
            for (ty, v) in nl::attrs(data) {
                match ty {
                    NFTA_CMP_OP => op = be_u32(v),
                    NFTA_CMP_DATA => {
                        if let Some((_, x)) = nl::attrs(v).find(|(t, _)| *t == NFTA_DATA_VALUE) {
                            val = x.to_vec();
                        }
                    }
                    _ => {}
                }
            }
            let op = match op {
                Some(NFT_CMP_EQ) => "==",
                Some(NFT_CMP_NEQ) => "!=",
                _ => "?",
            };
            e.cmp = Some((op.to_string(), val));
        }
        "counter" => {
            e.packets = nl::attrs(data)
                .find(|(t, _)| *t == NFTA_COUNTER_PACKETS)
                .and_then(|(_, v)| be_u64(v));
        }
        _ => {}
    }
    e
}

/// The rules of table `table`.
pub fn rules(s: &mut Socket, family: Family, table: &str) -> io::Result<Vec<Rule>> {
    let mut m = msg(NFT_MSG_GETRULE, nl::NLM_F_DUMP, family.nfproto(), 0);
    m.attr_str(NFTA_RULE_TABLE, table);
    let mut out = Vec::new();
    for r in s.transact(&mut m)? {
        let mut rule = Rule {
            chain: String::new(),
            exprs: Vec::new(),
        };
        let mut in_table = false;
        for (ty, d) in nl::attrs(r.body.get(4..).unwrap_or_default()) {
            match ty {
                NFTA_RULE_TABLE => in_table = nl::attr_string(d) == table,
                NFTA_RULE_CHAIN => rule.chain = nl::attr_string(d),
                NFTA_RULE_EXPRESSIONS => {
                    rule.exprs = nl::attrs(d)
                        .filter(|(t, _)| *t == NFTA_LIST_ELEM)
                        .map(|(_, e)| parse_expr(e))
                        .collect();
                }
                _ => {}
            }
        }
        // Older kernels ignore the table filter of a dump.
        if in_table {
            out.push(rule);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(prefix_mask(4, 24), [255, 255, 255, 0]);
        assert_eq!(prefix_mask(4, 20), [255, 255, 240, 0]);
        assert_eq!(prefix_mask(4, 0), [0, 0, 0, 0]);
        assert_eq!(prefix_mask(4, 32), [255; 4]);
        assert_eq!(prefix_mask(16, 64)[7..9], [255, 0]);
    }

    #[test]
    fn rule_expressions_round_trip() {
        // Build the rule's expression list and read it back with the parser.
        let mut m = Msg::new(0, 0);
        m.begin(NFTA_RULE_EXPRESSIONS);
        match_net(&mut m, 12, "10.0.3.0".parse().unwrap(), 24, NFT_CMP_EQ);
        match_net(&mut m, 16, "10.0.3.0".parse().unwrap(), 24, NFT_CMP_NEQ);
        expr(&mut m, "masq", |_| {});
        m.end();
        let b = m.finish_for_test();
        let (_, list) = nl::attrs(&b[16..]).next().unwrap();
        let exprs: Vec<Expr> = nl::attrs(list).map(|(_, e)| parse_expr(e)).collect();
        let names: Vec<&str> = exprs.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            names,
            ["payload", "bitwise", "cmp", "payload", "bitwise", "cmp", "masq"]
        );
        assert_eq!(exprs[2].cmp, Some(("==".into(), vec![10, 0, 3, 0])));
        assert_eq!(exprs[5].cmp, Some(("!=".into(), vec![10, 0, 3, 0])));
    }
}
