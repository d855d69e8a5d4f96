//! Which namespaces a container gets: LXC's defaults from the config,
//! lxc.namespace.clone / keep, and shared namespaces of other containers.

use std::os::fd::OwnedFd;

use anyhow::{bail, Context, Result};

use crate::config::Config;

/// (short name, CLONE_NEW* flag, /proc/PID/ns file)
pub const NAMESPACES: &[(&str, i32, &str)] = &[
    ("cgroup", libc::CLONE_NEWCGROUP, "cgroup"),
    ("ipc", libc::CLONE_NEWIPC, "ipc"),
    ("mnt", libc::CLONE_NEWNS, "mnt"),
    ("net", libc::CLONE_NEWNET, "net"),
    ("pid", libc::CLONE_NEWPID, "pid"),
    ("time", libc::CLONE_NEWTIME, "time"),
    ("user", libc::CLONE_NEWUSER, "user"),
    ("uts", libc::CLONE_NEWUTS, "uts"),
];

fn ns_flag(name: &str) -> Option<i32> {
    let n = if name == "mount" { "mnt" } else { name };
    NAMESPACES
        .iter()
        .find(|(s, _, _)| *s == n)
        .map(|(_, f, _)| *f)
}

/// The set of namespaces to create, as CLONE_NEW* bits.
pub fn clone_flags(cfg: &Config, shared: &[(String, OwnedFd)]) -> Result<i32> {
    let mut flags = if !cfg.namespace_clone.is_empty() {
        let mut f = 0;
        for n in cfg
            .namespace_clone
            .iter()
            .flat_map(|s| s.split_whitespace())
        {
            f |= ns_flag(n)
                .with_context(|| format!("lxc.namespace.clone: unknown namespace \"{n}\""))?;
        }
        f
    } else {
        let mut f =
            libc::CLONE_NEWPID | libc::CLONE_NEWNS | libc::CLONE_NEWIPC | libc::CLONE_NEWCGROUP;
        if cfg.uts_name.is_some() {
            f |= libc::CLONE_NEWUTS;
        }
        if cfg.wants_netns() {
            f |= libc::CLONE_NEWNET;
        }
        if !cfg.idmap.is_empty() {
            f |= libc::CLONE_NEWUSER;
        }
        f
    };
    for n in cfg.namespace_keep.iter().flat_map(|s| s.split_whitespace()) {
        flags &= !ns_flag(n)
            .with_context(|| format!("lxc.namespace.keep: unknown namespace \"{n}\""))?;
    }
    for (n, _) in shared {
        flags &= !ns_flag(n).unwrap_or(0);
    }
    if flags & libc::CLONE_NEWNS == 0 && cfg.rootfs.path.is_some() {
        bail!("a rootfs needs a new mount namespace (lxc.namespace.keep has mnt)");
    }
    Ok(flags)
}

/// Open the namespace files to join for lxc.namespace.share.* and
/// --share-*: TARGET is a pid, a path, or a running container's name.
pub fn open_shared(
    cfg: &Config,
    lxcpath: &str,
    extra: &[(String, String)],
) -> Result<Vec<(String, OwnedFd)>> {
    let mut out = Vec::new();
    let all = cfg
        .namespace_share
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .chain(extra.iter().cloned());
    for (ns, target) in all {
        let ns = if ns == "mount" { "mnt".to_string() } else { ns };
        let Some((_, _, file)) = NAMESPACES.iter().find(|(s, _, _)| *s == ns) else {
            bail!("lxc.namespace.share.{ns}: unknown namespace");
        };
        let path = if target.starts_with('/') {
            target.clone()
        } else if let Ok(pid) = target.parse::<i32>() {
            format!("/proc/{pid}/ns/{file}")
        } else {
            let pid = crate::monitor::client::call(
                lxcpath,
                &target,
                crate::monitor::proto::Request::InitPid,
            )?
            .and_then(|r| r.pid)
            .with_context(|| {
                format!("sharing the {ns} namespace: container \"{target}\" is not running")
            })?;
            format!("/proc/{pid}/ns/{file}")
        };
        let fd = rustix::fs::open(
            path.as_str(),
            rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .with_context(|| format!("opening namespace {path} to share"))?;
        out.push((ns, fd));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let c = Config::default();
        let f = clone_flags(&c, &[]).unwrap();
        assert_eq!(f & libc::CLONE_NEWNET, 0);
        assert_eq!(f & libc::CLONE_NEWUTS, 0);
        assert_ne!(f & libc::CLONE_NEWPID, 0);
        let mut c = Config {
            uts_name: Some("x".into()),
            namespace_keep: vec!["ipc".into()],
            ..Default::default()
        };
        let f = clone_flags(&c, &[]).unwrap();
        assert_ne!(f & libc::CLONE_NEWUTS, 0);
        assert_eq!(f & libc::CLONE_NEWIPC, 0);
        c.namespace_keep = vec!["bogus".into()];
        assert!(clone_flags(&c, &[]).is_err());
    }
}
