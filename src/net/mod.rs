//! Container networking over rtnetlink (no `ip` binary): veth, macvlan,
//! ipvlan, vlan, phys, empty and none, with addresses, routes, gateways,
//! l2proxy and the up/down scripts. See docs/network.md.
//!
//! Two halves: [`setup_host`] runs in the host namespace (the monitor) once
//! the container's init exists; [`setup_container`] runs inside the new
//! namespace before exec. [`HostNet`] records what the host half did so the
//! monitor can [`HostNet::teardown`] it.

mod addr;
mod bridge;
mod container;
mod device;
mod host;
mod host_opts;
mod info;
mod link;
mod netstat;
pub mod nft;
mod nl;
mod ns;
mod passthrough;
mod script;
pub mod spec;
mod teardown;

pub use container::{loopback_up, setup_container};
pub use device::{move_into, move_out};
pub use host::{setup_host, setup_host_at, tmp_name, HostDev, HostNet, NsHold};
pub use info::{addresses_of_pid, host_veths_of_pid, link_stats, links_of_pid, unaddressed_macs};
pub use netstat::{netstat, netstat_with, NetstatOpts, Show};
pub use ns::{in_netns, in_netns_fd, same_netns};
pub use passthrough::{exec_in_netns, host_netstat_tool};

/// Low-level helpers for tests and tools that need to make their own links
/// (test bridges, dummies): a thin, safe surface over the netlink code.
pub mod raw {
    pub use super::addr::broadcast;
    pub use super::addr::{add as add_addr, del as del_addr, list as list_addrs, Addr};
    pub use super::bridge::{vlans_of, VLAN_PVID, VLAN_UNTAGGED};
    pub use super::link::{
        by_index, by_name, change, create, delete, list as list_links, nsid_of, set_vlan_filtering,
    };
    pub use super::link::{Change, Kind, Link, Netns, NewLink};
    pub use super::nl::{errno, Socket};
}
