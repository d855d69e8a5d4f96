//! THE namespace model: one enum for the eight Linux namespace types and a
//! small set type. The config parser, the launch plan, the mount and
//! network layers, hooks and lxc-attach all speak in these terms; nothing
//! else maps names to clone flags or /proc files.
//!
//! The declaration order is the join order (LXC's `ns_info`): the user
//! namespace first, because once inside it we hold the capabilities over
//! the namespaces it owns that setns(2) on them requires
//! (mntns_install checks CAP_SYS_ADMIN in the mount namespace's owner).

use std::fmt;

use serde::{Deserialize, Serialize};

/// One namespace type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Namespace {
    User,
    Mnt,
    Pid,
    Uts,
    Ipc,
    Net,
    Cgroup,
    Time,
}

impl Namespace {
    /// Every namespace, in join order.
    pub const ALL: [Namespace; 8] = [
        Namespace::User,
        Namespace::Mnt,
        Namespace::Pid,
        Namespace::Uts,
        Namespace::Ipc,
        Namespace::Net,
        Namespace::Cgroup,
        Namespace::Time,
    ];

    /// The short name of `lxc.namespace.*` and of /proc/PID/ns/NAME.
    pub fn name(self) -> &'static str {
        match self {
            Namespace::User => "user",
            Namespace::Mnt => "mnt",
            Namespace::Pid => "pid",
            Namespace::Uts => "uts",
            Namespace::Ipc => "ipc",
            Namespace::Net => "net",
            Namespace::Cgroup => "cgroup",
            Namespace::Time => "time",
        }
    }

    /// Other spellings: lxc-attach -s / lxc-unshare -s names (MOUNT,
    /// UTSNAME, NETWORK) and "mount".
    pub fn aliases(self) -> &'static [&'static str] {
        match self {
            Namespace::Mnt => &["mount"],
            Namespace::Uts => &["utsname"],
            Namespace::Net => &["network"],
            _ => &[],
        }
    }

    /// The CLONE_NEW* flag.
    pub fn flag(self) -> i32 {
        match self {
            Namespace::User => libc::CLONE_NEWUSER,
            Namespace::Mnt => libc::CLONE_NEWNS,
            Namespace::Pid => libc::CLONE_NEWPID,
            Namespace::Uts => libc::CLONE_NEWUTS,
            Namespace::Ipc => libc::CLONE_NEWIPC,
            Namespace::Net => libc::CLONE_NEWNET,
            Namespace::Cgroup => libc::CLONE_NEWCGROUP,
            Namespace::Time => libc::CLONE_NEWTIME,
        }
    }

    /// /proc/PID/ns/<file> naming this namespace of a process.
    pub fn proc_path(self, pid: i32) -> String {
        format!("/proc/{pid}/ns/{}", self.name())
    }

    /// The environment variable LXC gives hooks for a preserved namespace
    /// (LXC_NET_NS, ...).
    pub fn env_name(self) -> &'static str {
        match self {
            Namespace::User => "LXC_USER_NS",
            Namespace::Mnt => "LXC_MNT_NS",
            Namespace::Pid => "LXC_PID_NS",
            Namespace::Uts => "LXC_UTS_NS",
            Namespace::Ipc => "LXC_IPC_NS",
            Namespace::Net => "LXC_NET_NS",
            Namespace::Cgroup => "LXC_CGROUP_NS",
            Namespace::Time => "LXC_TIME_NS",
        }
    }

    /// The config spelling: exactly the short name (LXC's
    /// lxc_namespace_2_ns_idx), case-insensitively for clone/keep as
    /// LXC's lxc_namespace_2_cloneflag.
    pub fn from_config(s: &str) -> Option<Namespace> {
        Namespace::ALL
            .into_iter()
            .find(|n| n.name().eq_ignore_ascii_case(s))
    }

    /// Any spelling (short name or alias), case-insensitively: lxc-attach
    /// and lxc-unshare accept both LXC's tool names and the short ones.
    pub fn parse(s: &str) -> Option<Namespace> {
        Namespace::ALL.into_iter().find(|n| {
            n.name().eq_ignore_ascii_case(s)
                || n.aliases().iter().any(|a| a.eq_ignore_ascii_case(s))
        })
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of namespaces; iterates in join order.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct NsSet(u8);

impl NsSet {
    pub const EMPTY: NsSet = NsSet(0);
    pub const ALL: NsSet = NsSet(0xff);

    const fn bit(ns: Namespace) -> u8 {
        1 << (ns as u8)
    }

    pub fn of(list: &[Namespace]) -> NsSet {
        list.iter().fold(NsSet::EMPTY, |s, &n| s.with(n))
    }

    pub fn contains(self, ns: Namespace) -> bool {
        self.0 & Self::bit(ns) != 0
    }

    pub fn insert(&mut self, ns: Namespace) {
        self.0 |= Self::bit(ns);
    }

    pub fn remove(&mut self, ns: Namespace) {
        self.0 &= !Self::bit(ns);
    }

    #[must_use]
    pub const fn with(self, ns: Namespace) -> NsSet {
        NsSet(self.0 | Self::bit(ns))
    }

    #[must_use]
    pub fn without(mut self, ns: Namespace) -> NsSet {
        self.remove(ns);
        self
    }

    #[must_use]
    pub fn union(self, o: NsSet) -> NsSet {
        NsSet(self.0 | o.0)
    }

    #[must_use]
    pub fn minus(self, o: NsSet) -> NsSet {
        NsSet(self.0 & !o.0)
    }

    #[must_use]
    pub fn intersect(self, o: NsSet) -> NsSet {
        NsSet(self.0 & o.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Members in join order.
    pub fn iter(self) -> impl Iterator<Item = Namespace> {
        Namespace::ALL
            .into_iter()
            .filter(move |n| self.contains(*n))
    }

    /// The CLONE_NEW* bits of the members.
    pub fn flags(self) -> i32 {
        self.iter().fold(0, |f, n| f | n.flag())
    }

    /// Parse a whitespace-separated list of config names.
    pub fn parse_config(list: &str) -> Result<NsSet, String> {
        let mut s = NsSet::EMPTY;
        for tok in list.split_whitespace() {
            s.insert(Namespace::from_config(tok).ok_or_else(|| unknown(tok))?);
        }
        Ok(s)
    }

    /// Parse a `|`-separated list in any spelling (lxc-attach -s).
    pub fn parse_tool_list(list: &str) -> Result<NsSet, String> {
        let mut s = NsSet::EMPTY;
        for tok in list.split('|').map(str::trim) {
            s.insert(Namespace::parse(tok).ok_or_else(|| {
                format!(
                    "invalid namespace name \"{tok}\" (expected MOUNT, PID, UTSNAME, IPC, USER, NETWORK, CGROUP or TIME)"
                )
            })?);
        }
        Ok(s)
    }
}

/// The message for a name that is no namespace.
pub fn unknown(tok: &str) -> String {
    let names: Vec<&str> = Namespace::ALL.iter().map(|n| n.name()).collect();
    format!(
        "unknown namespace \"{tok}\" (expected one of {})",
        names.join(" ")
    )
}

impl fmt::Display for NsSet {
    /// Space-separated short names in join order (the config spelling).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for n in self.iter() {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(n.name())?;
            first = false;
        }
        Ok(())
    }
}

impl fmt::Debug for NsSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{{self}}}")
    }
}

impl Serialize for NsSet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for NsSet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v: Vec<Namespace> = Vec::deserialize(d)?;
        Ok(NsSet::of(&v))
    }
}

impl FromIterator<Namespace> for NsSet {
    fn from_iter<I: IntoIterator<Item = Namespace>>(it: I) -> Self {
        it.into_iter().fold(NsSet::EMPTY, NsSet::with)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_flags_and_order() {
        for n in Namespace::ALL {
            assert_eq!(Namespace::from_config(n.name()), Some(n));
            assert_eq!(Namespace::parse(&n.name().to_uppercase()), Some(n));
            for a in n.aliases() {
                assert_eq!(Namespace::parse(a), Some(n));
                assert_eq!(Namespace::from_config(a), None, "{a} is not a config name");
            }
        }
        assert_eq!(Namespace::parse("NETWORK"), Some(Namespace::Net));
        assert_eq!(Namespace::parse("UTSNAME"), Some(Namespace::Uts));
        assert_eq!(Namespace::parse("MOUNT"), Some(Namespace::Mnt));
        assert_eq!(Namespace::parse("bogus"), None);
        assert_eq!(Namespace::Mnt.flag(), libc::CLONE_NEWNS);
        assert_eq!(Namespace::Time.proc_path(7), "/proc/7/ns/time");
        // The user namespace is joined first.
        assert_eq!(NsSet::ALL.iter().next(), Some(Namespace::User));
        let flags = NsSet::ALL.flags();
        assert_eq!(flags.count_ones(), 8);
    }

    #[test]
    fn sets() {
        let s = NsSet::parse_config("pid  mnt\tnet").unwrap();
        assert_eq!(s.to_string(), "mnt pid net");
        assert!(s.contains(Namespace::Net) && !s.contains(Namespace::Uts));
        assert_eq!(
            s.flags(),
            libc::CLONE_NEWNS | libc::CLONE_NEWPID | libc::CLONE_NEWNET
        );
        assert!(NsSet::parse_config("pid bogus").is_err());
        assert!(NsSet::parse_config("mount").is_err());
        let t = NsSet::parse_tool_list("NETWORK|ipc").unwrap();
        assert_eq!(t, NsSet::of(&[Namespace::Net, Namespace::Ipc]));
        assert!(NsSet::parse_tool_list("").is_err());
        assert_eq!(s.minus(t).to_string(), "mnt pid");
        let j = serde_json::to_string(&s).unwrap();
        assert_eq!(j, r#"["mnt","pid","net"]"#);
        assert_eq!(serde_json::from_str::<NsSet>(&j).unwrap(), s);
    }
}
