//! The pure parts of lxc-attach: namespace and privilege lists, the
//! environment the command gets, and the default shell. No system calls
//! here, so all of it is unit-tested.

use anyhow::{anyhow, bail, Result};

use crate::namespace::NsSet;

/// Parse `-s`: a `|`-separated list of MOUNT, PID, UTSNAME, IPC, USER,
/// NETWORK (LXC's names), also CGROUP, TIME and the short names (mnt, uts,
/// net), case-insensitively, as LXC's own lookup accepts both.
pub fn parse_namespaces(list: &str) -> Result<NsSet> {
    NsSet::parse_tool_list(list).map_err(|e| anyhow!(e))
}

/// What `-e` keeps: LXC's CGROUP, CAP and LSM privileges.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Elevated {
    /// Do not move the command into the container's cgroups.
    pub cgroup: bool,
    /// Keep our bounding set instead of init's.
    pub caps: bool,
    /// No LSM label and no seccomp filter (LXC lifts both with LSM).
    pub lsm: bool,
}

impl Elevated {
    pub const ALL: Elevated = Elevated {
        cgroup: true,
        caps: true,
        lsm: true,
    };
}

/// Parse `-e`'s optional list (`None` or "ALL": every privilege).
pub fn parse_elevated(list: Option<&str>) -> Result<Elevated> {
    let Some(list) = list.filter(|l| !l.is_empty()) else {
        return Ok(Elevated::ALL);
    };
    let mut e = Elevated::default();
    for tok in list.split('|').map(str::trim) {
        match tok.to_ascii_uppercase().as_str() {
            "CGROUP" => e.cgroup = true,
            "CAP" => e.caps = true,
            "LSM" => e.lsm = true,
            "ALL" => e = Elevated::ALL,
            _ => bail!("invalid privilege \"{tok}\" (expected CGROUP, CAP or LSM)"),
        }
    }
    Ok(e)
}

/// PATH when the environment is cleared (LXC sets one: many programs
/// assume getenv("PATH") is never NULL).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// How the command's environment is built.
#[derive(Debug, Clone, Default)]
pub struct EnvPolicy {
    /// `--clear-env` (else `--keep-env`, LXC's documented default).
    pub clear: bool,
    /// `--keep-var NAME`: kept from ours when clearing.
    pub keep: Vec<String>,
    /// `-v VAR=VALUE`, applied last.
    pub set: Vec<String>,
}

/// Check `-v` entries before anything is joined.
pub fn check_set_vars(vars: &[String]) -> Result<()> {
    for v in vars {
        match v.split_once('=') {
            Some((k, _)) if !k.is_empty() && !k.contains('\0') && !v.contains('\0') => {}
            _ => bail!("invalid environment variable \"{v}\" for --set-var (expected VAR=VALUE)"),
        }
    }
    Ok(())
}

/// The environment for the command, from `ours` (our environment as
/// NAME=VALUE pairs): ours (or only the kept variables and a PATH), then
/// container=lxc, then the container's lxc.environment (`KEY=VALUE`, or
/// `KEY` for our value of KEY: LXC reads it when it loads the config),
/// then the -v ones, as LXC's
/// lxc_attach_set_environment. Later entries replace earlier ones.
pub fn build_env(ours: &[(String, String)], p: &EnvPolicy, conf_env: &[String]) -> Vec<String> {
    use crate::environ::Environ;
    let mut out: Environ = if p.clear {
        let mut kept: Environ = ours
            .iter()
            .filter(|(k, _)| p.keep.iter().any(|w| w == k))
            .cloned()
            .collect();
        if kept.get("PATH").is_none() {
            kept.set("PATH", DEFAULT_PATH);
        }
        kept
    } else {
        ours.iter().cloned().collect()
    };
    let caller: Environ = ours.iter().cloned().collect();
    out.set("container", "lxc");
    for e in conf_env {
        match e.split_once('=') {
            Some((k, v)) => out.set(k, v),
            None => {
                if let Some(v) = caller.get(e) {
                    out.set(e, v);
                }
            }
        }
    }
    for s in &p.set {
        if let Some((k, v)) = s.split_once('=') {
            out.set(k, v);
        }
    }
    out.into_strings()
}

/// The login shell of `uid` in a passwd(5) text, else /bin/sh (LXC looks
/// the user's shell up inside the container).
pub fn shell_for(passwd: &str, uid: u32) -> String {
    passwd
        .lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() >= 7 && f[2].parse::<u32>().ok() == Some(uid) && !f[6].is_empty())
                .then(|| f[6].to_string())
        })
        .unwrap_or_else(|| "/bin/sh".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn namespaces_lists() {
        use crate::namespace::Namespace;
        assert_eq!(
            parse_namespaces("NETWORK|ipc").unwrap(),
            NsSet::of(&[Namespace::Net, Namespace::Ipc])
        );
        assert_eq!(
            parse_namespaces("MOUNT").unwrap(),
            NsSet::of(&[Namespace::Mnt])
        );
        assert_eq!(
            parse_namespaces("uts|mnt").unwrap(),
            NsSet::of(&[Namespace::Uts, Namespace::Mnt])
        );
        assert!(parse_namespaces("NETWORK|bogus").is_err());
        assert!(parse_namespaces("").is_err());
    }

    #[test]
    fn elevated_lists() {
        assert_eq!(parse_elevated(None).unwrap(), Elevated::ALL);
        let e = parse_elevated(Some("CGROUP|LSM")).unwrap();
        assert!(e.cgroup && e.lsm && !e.caps);
        assert!(parse_elevated(Some("CAPS")).is_err());
    }

    #[test]
    fn environment() {
        let ours = kv(&[("HOME", "/root"), ("PATH", "/x"), ("container", "no")]);
        let keep = build_env(&ours, &EnvPolicy::default(), &[]);
        assert_eq!(keep, ["HOME=/root", "PATH=/x", "container=lxc"]);
        let clear = build_env(
            &ours,
            &EnvPolicy {
                clear: true,
                keep: vec!["HOME".into()],
                set: vec!["A=b=c".into(), "HOME=/h".into()],
            },
            &["FROM_CONF=1".into(), "PATH".into(), "UNSET".into()],
        );
        assert_eq!(
            clear,
            [
                "HOME=/h".to_string(),
                "PATH=/x".into(),
                "container=lxc".into(),
                "FROM_CONF=1".into(),
                "A=b=c".into()
            ]
        );
        assert!(check_set_vars(&["A=1".into(), "B=".into()]).is_ok());
        assert!(check_set_vars(&["=1".into()]).is_err());
        assert!(check_set_vars(&["NOEQ".into()]).is_err());
    }

    #[test]
    fn shells() {
        let pw = "root:x:0:0:root:/root:/bin/ash\n#c\nu:x:1000:1000::/home/u:\n";
        assert_eq!(shell_for(pw, 0), "/bin/ash");
        assert_eq!(shell_for(pw, 1000), "/bin/sh");
        assert_eq!(shell_for(pw, 5), "/bin/sh");
        assert_eq!(shell_for("garbage", 0), "/bin/sh");
    }
}
