//! The typed container configuration. One `Config` per container, filled by
//! the parser (both key generations), read by the runtime, written back by
//! the writer in modern keys.
//!
//! Values that the kernel or a later stage interprets (mount entries,
//! addresses, cgroup values) are kept as validated strings; the consumer
//! parses them into its own types.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::namespace::{Namespace, NsSet};

/// The whole configuration of one container.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Config {
    // --- general
    pub arch: Option<String>,
    /// lxc.uts.name (legacy lxc.utsname): setting it unshares UTS.
    pub uts_name: Option<String>,
    pub ephemeral: bool,
    pub keyring_session: Option<bool>,
    pub sched_core: bool,
    pub time_offset_boot: Option<String>,
    pub time_offset_monotonic: Option<String>,

    // --- init
    /// lxc.init.cmd (legacy lxc.init_cmd), a shell-like word list.
    pub init_cmd: Option<String>,
    pub init_cwd: Option<String>,
    pub init_uid: Option<u32>,
    pub init_gid: Option<u32>,
    pub init_groups: Vec<u32>,
    pub execute_cmd: Option<String>,

    // --- signals (numbers; parsed from names like SIGPWR or SIGRTMIN+3)
    pub signal_halt: Option<i32>,
    pub signal_reboot: Option<i32>,
    pub signal_stop: Option<i32>,

    // --- rootfs
    pub rootfs: Rootfs,

    // --- mounts
    /// lxc.mount.fstab (legacy lxc.mount), relative to the container dir or absolute.
    pub mount_fstab: Option<String>,
    /// lxc.mount.entry lines, verbatim fstab format.
    pub mount_entries: Vec<String>,
    pub mount_auto: MountAuto,
    /// lxc.autodev; `None` = not set (LXC's default is on for system containers).
    pub autodev: Option<bool>,
    /// lxc.autodev.tmpfs.size in MB.
    pub autodev_tmpfs_size: Option<u64>,

    // --- network
    /// lxc.net.N.* (and the legacy lxc.network.*), ordered by N.
    pub net: Vec<NetDev>,

    // --- cgroups
    /// lxc.cgroup.<controller>.<file> = value (v1), in file order.
    pub cgroup_v1: Vec<(String, String)>,
    /// lxc.cgroup2.<file> = value, in file order.
    pub cgroup_v2: Vec<(String, String)>,
    pub cgroup_dir: Option<String>,
    pub cgroup_dir_monitor: Option<String>,
    pub cgroup_dir_monitor_pivot: Option<String>,
    pub cgroup_dir_container: Option<String>,
    pub cgroup_dir_container_inner: Option<String>,
    /// lxc.cgroup.relative: `None` (unset) and `Some(true)` create the
    /// cgroups below the monitor's; `Some(false)` below PID 1's, as LXC.
    pub cgroup_relative: Option<bool>,

    // --- user namespace
    pub idmap: Vec<IdMap>,

    // --- tty / pty / console
    /// lxc.tty.max (legacy lxc.tty).
    pub tty_max: u32,
    /// lxc.tty.dir (legacy lxc.devttydir).
    pub tty_dir: Option<String>,
    /// lxc.pty.max (legacy lxc.pts).
    pub pty_max: Option<u32>,
    pub console: Console,

    // --- capabilities (names without the CAP_ prefix, lower case, or "none"/"all")
    pub cap_drop: Vec<String>,
    pub cap_keep: Vec<String>,

    // --- namespaces (what a start makes of them: start::namespaces)
    /// lxc.namespace.clone: exactly these (instead of the defaults).
    pub namespace_clone: NsSet,
    /// lxc.namespace.keep: the defaults except these.
    pub namespace_keep: NsSet,
    /// lxc.namespace.share.<ns> = container name, pid or /proc path.
    pub namespace_share: BTreeMap<Namespace, String>,

    // --- limits, sysctl, /proc
    /// lxc.prlimit.<resource> (legacy lxc.limit.*): value "N", "N:M", "unlimited".
    pub prlimit: Vec<(String, String)>,
    /// lxc.sysctl.<key> = value.
    pub sysctl: Vec<(String, String)>,
    /// lxc.proc.<file> = value.
    pub proc: Vec<(String, String)>,

    // --- LSM / seccomp
    pub apparmor_profile: Option<String>,
    pub apparmor_allow_incomplete: bool,
    pub apparmor_allow_nesting: bool,
    pub apparmor_raw: Vec<String>,
    pub selinux_context: Option<String>,
    pub selinux_context_keyring: Option<String>,
    pub seccomp_profile: Option<String>,
    pub seccomp_allow_nesting: bool,
    pub seccomp_notify_proxy: Option<String>,
    pub seccomp_notify_cookie: Option<String>,
    pub no_new_privs: bool,

    // --- hooks
    pub hooks: Vec<Hook>,
    pub hook_version: u32,

    // --- environment ("KEY=VALUE", or "KEY" to pass the caller's value through)
    pub environment: Vec<String>,
    pub environment_runtime: Vec<String>,
    pub environment_hooks: Vec<String>,

    // --- autostart
    pub start_auto: bool,
    pub start_delay: u32,
    pub start_order: i32,
    /// lxc.group, may repeat.
    pub groups: Vec<String>,

    // --- logging
    pub log_level: Option<String>,
    pub log_file: Option<String>,
    pub log_syslog: Option<String>,

    // --- monitor
    pub monitor_unshare: bool,
    pub monitor_signal_pdeath: Option<i32>,

    /// Obsolete legacy keys that were set (lxc.pivotdir, lxc.kmsg): never
    /// written back, only warned about at start.
    #[serde(skip)]
    pub obsolete_keys: ObsoleteKeys,
}

/// The obsolete keys a file set. They mean nothing, so two configs that
/// differ only in them are equal (a converted config drops them).
#[derive(Debug, Clone, Default)]
pub struct ObsoleteKeys(pub Vec<String>);

impl PartialEq for ObsoleteKeys {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// lxc.rootfs.*
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Rootfs {
    /// The path without its `type:` prefix.
    pub path: Option<String>,
    /// The `type:` prefix of lxc.rootfs.path (`dir`, `overlay`, ...), or legacy lxc.rootfs.backend.
    pub backend: Option<String>,
    /// lxc.rootfs.mount: where the rootfs is mounted before pivot_root.
    pub mount: Option<String>,
    /// lxc.rootfs.options, comma separated mount options (e.g. "ro").
    pub options: Option<String>,
    /// lxc.rootfs.managed (default true).
    pub managed: Option<bool>,
}

/// How one lxc.mount.auto family (proc, sys, cgroup) is mounted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AutoMode {
    Ro,
    Mixed,
    Rw,
}

/// lxc.mount.auto = cgroup[...] / cgroup-full[...]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CgroupAuto {
    /// cgroup-full: the whole hierarchy, not only the container's own cgroup.
    pub full: bool,
    /// `None`: no mode given (rw with CAP_SYS_ADMIN kept, mixed otherwise).
    pub mode: Option<AutoMode>,
    /// `:force`: mount even when the container could mount cgroups itself.
    pub force: bool,
}

/// lxc.mount.auto, all tokens.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MountAuto {
    /// proc (= proc:mixed), proc:mixed, proc:rw.
    pub proc: Option<AutoMode>,
    /// sys (= sys:mixed), sys:ro, sys:mixed, sys:rw.
    pub sys: Option<AutoMode>,
    pub cgroup: Option<CgroupAuto>,
    /// cgroup2[:ro][:force]: a cgroup2 filesystem on /sys/fs/cgroup (Rw or
    /// Ro); always mounted (LXC's table gives every cgroup2 token force).
    /// The same family as `cgroup`: one replaces the other.
    pub cgroup2: Option<AutoMode>,
    /// shmounts:HOSTPATH[:CONTAINERPATH].
    pub shmounts: Option<(String, Option<String>)>,
}

/// lxc.net.N.veth.vlan.id: a VLAN id, or LXC's `none` (the port leaves the
/// bridge's default VLAN and gets no untagged one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PortVlan {
    None,
    Id(u16),
}

impl std::fmt::Display for PortVlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PortVlan::None => f.write_str("none"),
            PortVlan::Id(id) => write!(f, "{id}"),
        }
    }
}

/// Network device types of lxc.net.N.type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum NetType {
    /// Type not (yet) given.
    #[default]
    Unset,
    Empty,
    Veth,
    Macvlan,
    Ipvlan,
    Vlan,
    Phys,
    None,
}

impl NetType {
    /// The lowercase name used in lxc.net.N.type, scripts and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            NetType::Unset => "unset",
            NetType::Empty => "empty",
            NetType::Veth => "veth",
            NetType::Macvlan => "macvlan",
            NetType::Ipvlan => "ipvlan",
            NetType::Vlan => "vlan",
            NetType::Phys => "phys",
            NetType::None => "none",
        }
    }
}

/// One lxc.net.N block.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NetDev {
    /// N in lxc.net.N.
    pub index: u32,
    pub kind: NetType,
    pub link: Option<String>,
    /// flags = up
    pub up: bool,
    pub name: Option<String>,
    /// As configured; `x` digits are randomised at start.
    pub hwaddr: Option<String>,
    pub mtu: Option<u32>,
    pub l2proxy: bool,
    /// veth host-side name.
    pub veth_pair: Option<String>,
    /// veth.mode: bridge (default) or router.
    pub veth_mode: Option<String>,
    /// veth.vlan.id: the untagged VLAN of the host end's bridge port.
    pub veth_vlan_id: Option<PortVlan>,
    pub veth_vlan_tagged: Vec<u16>,
    /// veth.n_rxqueues / veth.n_txqueues: queues of the container's end
    /// (the host end gets them swapped, as LXC creates the pair).
    pub veth_n_rxqueues: Option<u32>,
    pub veth_n_txqueues: Option<u32>,
    pub veth_ipv4_routes: Vec<String>,
    pub veth_ipv6_routes: Vec<String>,
    pub macvlan_mode: Option<String>,
    pub ipvlan_mode: Option<String>,
    pub ipvlan_isolation: Option<String>,
    pub vlan_id: Option<u16>,
    /// "ADDR/PREFIX [BROADCAST]" strings.
    pub ipv4_addresses: Vec<String>,
    /// An address, or "auto" (the bridge's address), or "dev".
    pub ipv4_gateway: Option<String>,
    pub ipv6_addresses: Vec<String>,
    pub ipv6_gateway: Option<String>,
    pub script_up: Option<String>,
    pub script_down: Option<String>,
}

/// One lxc.idmap line: `u|g NSID HOSTID RANGE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct IdMap {
    /// 'u' or 'g'.
    pub kind: char,
    pub ns_id: u32,
    pub host_id: u32,
    pub range: u32,
}

/// lxc.console.*
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Console {
    /// lxc.console.path (legacy lxc.console): "none", a file or a device.
    pub path: Option<String>,
    pub logfile: Option<String>,
    pub rotate: bool,
    /// lxc.console.size in bytes ("auto" stored as None with `size_auto`).
    pub size: Option<u64>,
    /// lxc.console.buffer.size in bytes.
    pub buffer_size: Option<u64>,
}

/// The hook types of lxc.hook.<type>.
pub const HOOK_TYPES: &[&str] = &[
    "pre-start",
    "pre-mount",
    "mount",
    "autodev",
    "start-host",
    "start",
    "stop",
    "post-stop",
    "clone",
    "destroy",
];

/// One lxc.hook.<type> line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hook {
    /// One of [`HOOK_TYPES`].
    pub kind: String,
    pub command: String,
}

impl Config {
    /// The hooks of one type, in config order.
    pub fn hooks_of<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.hooks
            .iter()
            .filter(move |h| h.kind == kind)
            .map(|h| h.command.as_str())
    }

    /// True when any lxc.net.N.type other than `none` asks for a network namespace.
    pub fn wants_netns(&self) -> bool {
        self.net
            .iter()
            .any(|n| !matches!(n.kind, NetType::None | NetType::Unset))
    }
}
