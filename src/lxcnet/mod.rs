//! lxc-net: the container bridge with NAT and DHCP, as LXC's lxc-net
//! script sets it up, without ip, nft or dnsmasq. See docs/lxc-net.md.

pub mod conf;
pub mod state;
