//! Bridge port VLANs for veth.vlan.id / veth.vlan.tagged.id (the bridge
//! must have vlan_filtering on), set with RTM_SETLINK / RTM_DELLINK in the
//! AF_BRIDGE family, as `bridge vlan add/del` does.

use std::io;

use super::nl::{self, Msg, Socket};

const AF_BRIDGE: u8 = libc::AF_BRIDGE as u8;
const IFLA_AF_SPEC: u16 = 26;
const IFLA_EXT_MASK: u16 = 29;
const IFLA_BRIDGE_VLAN_INFO: u16 = 2;
const RTEXT_FILTER_BRVLAN: u32 = 1 << 1;
pub const VLAN_PVID: u16 = 0x2;
pub const VLAN_UNTAGGED: u16 = 0x4;

fn msg(ty: u16, index: i32, vid: u16, flags: u16) -> Msg {
    let mut h = [0u8; 16];
    h[0] = AF_BRIDGE;
    h[4..8].copy_from_slice(&index.to_ne_bytes());
    let mut info = [0u8; 4];
    info[0..2].copy_from_slice(&flags.to_ne_bytes());
    info[2..4].copy_from_slice(&vid.to_ne_bytes());
    let mut m = Msg::new(ty, 0);
    m.header(&h)
        .begin(IFLA_AF_SPEC)
        .attr(IFLA_BRIDGE_VLAN_INFO, &info)
        .end();
    m
}

/// Adds VLAN `vid` to bridge port `index` (`flags`: PVID, UNTAGGED).
pub fn vlan_add(s: &mut Socket, index: i32, vid: u16, flags: u16) -> io::Result<()> {
    s.exec(&mut msg(nl::RTM_SETLINK, index, vid, flags))
}

/// Removes VLAN `vid` from bridge port `index`.
pub fn vlan_del(s: &mut Socket, index: i32, vid: u16) -> io::Result<()> {
    s.exec(&mut msg(nl::RTM_DELLINK, index, vid, 0))
}

/// The VLANs of bridge port `index`: (vid, flags).
pub fn vlans_of(s: &mut Socket, index: i32) -> io::Result<Vec<(u16, u16)>> {
    let mut h = [0u8; 16];
    h[0] = AF_BRIDGE;
    let mut m = Msg::new(nl::RTM_GETLINK, nl::NLM_F_DUMP);
    m.header(&h).attr_u32(IFLA_EXT_MASK, RTEXT_FILTER_BRVLAN);
    let mut out = Vec::new();
    for r in s.transact(&mut m)? {
        let Some(hdr) = r.body.get(..16) else {
            continue;
        };
        if i32::from_ne_bytes([hdr[4], hdr[5], hdr[6], hdr[7]]) != index {
            continue;
        }
        for (ty, data) in nl::attrs(&r.body[16..]) {
            if ty != IFLA_AF_SPEC {
                continue;
            }
            for (t, d) in nl::attrs(data) {
                if t == IFLA_BRIDGE_VLAN_INFO && d.len() >= 4 {
                    let flags = u16::from_ne_bytes([d[0], d[1]]);
                    let vid = u16::from_ne_bytes([d[2], d[3]]);
                    out.push((vid, flags));
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vlan_info_is_flags_then_vid_in_af_spec() {
        let b = msg(nl::RTM_SETLINK, 9, 10, VLAN_PVID | VLAN_UNTAGGED).finish_for_test();
        assert_eq!(b[16], AF_BRIDGE);
        assert_eq!(i32::from_ne_bytes(b[20..24].try_into().unwrap()), 9);
        let (ty, spec) = nl::attrs(&b[32..]).next().unwrap();
        assert_eq!(ty, IFLA_AF_SPEC);
        let (t, info) = nl::attrs(spec).next().unwrap();
        assert_eq!(t, IFLA_BRIDGE_VLAN_INFO);
        assert_eq!(info, &[6, 0, 10, 0][..]);
    }
}
