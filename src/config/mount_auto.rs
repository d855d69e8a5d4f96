//! lxc.mount.auto tokens: parsing into [`MountAuto`] and writing back.

use super::types::{AutoMode, CgroupAuto, MountAuto};
use super::values::VResult;

fn mode(s: &str) -> Option<AutoMode> {
    match s {
        "ro" => Some(AutoMode::Ro),
        "mixed" => Some(AutoMode::Mixed),
        "rw" => Some(AutoMode::Rw),
        _ => None,
    }
}

/// Add the whitespace-separated lxc.mount.auto tokens of `v` to `m`
/// (a later token of the same family replaces the earlier one).
pub fn mount_auto(m: &mut MountAuto, v: &str) -> VResult<()> {
    for tok in v.split_whitespace() {
        let bad = || format!("unknown lxc.mount.auto token \"{tok}\"");
        let (family, rest) = tok.split_once(':').unwrap_or((tok, ""));
        match family {
            "proc" => {
                m.proc = Some(match rest {
                    "" | "mixed" => AutoMode::Mixed,
                    "rw" => AutoMode::Rw,
                    _ => return Err(bad()),
                })
            }
            "sys" => {
                m.sys = Some(match rest {
                    "" => AutoMode::Mixed,
                    r => mode(r).ok_or_else(bad)?,
                })
            }
            "cgroup2" => {
                m.cgroup = None;
                m.cgroup2 = Some(match rest {
                    "" | "force" => AutoMode::Rw,
                    "ro" | "ro:force" => AutoMode::Ro,
                    _ => return Err(bad()),
                });
            }
            "cgroup" | "cgroup-full" => {
                m.cgroup2 = None;
                let (md, force) = match rest.split_once(':') {
                    Some((md, "force")) => (mode(md).ok_or_else(bad)?, true),
                    Some(_) => return Err(bad()),
                    None if rest.is_empty() => {
                        m.cgroup = Some(CgroupAuto {
                            full: family == "cgroup-full",
                            mode: None,
                            force: false,
                        });
                        continue;
                    }
                    None if rest == "force" => {
                        m.cgroup = Some(CgroupAuto {
                            full: family == "cgroup-full",
                            mode: None,
                            force: true,
                        });
                        continue;
                    }
                    None => (mode(rest).ok_or_else(bad)?, false),
                };
                m.cgroup = Some(CgroupAuto {
                    full: family == "cgroup-full",
                    mode: Some(md),
                    force,
                });
            }
            "shmounts" => {
                let (host, cont) = match rest.split_once(':') {
                    Some((h, c)) => (h, Some(c.to_string())),
                    None => (rest, None),
                };
                if host.is_empty() || cont.as_deref() == Some("") {
                    return Err(format!(
                        "expected shmounts:HOSTPATH[:CONTAINERPATH], got \"{tok}\""
                    ));
                }
                m.shmounts = Some((host.to_string(), cont));
            }
            _ => return Err(bad()),
        }
    }
    Ok(())
}

/// The tokens that reproduce `m`, in a fixed order.
pub fn mount_auto_tokens(m: &MountAuto) -> Vec<String> {
    let name = |md: AutoMode| match md {
        AutoMode::Ro => "ro",
        AutoMode::Mixed => "mixed",
        AutoMode::Rw => "rw",
    };
    let mut out = Vec::new();
    if let Some(p) = m.proc {
        out.push(format!("proc:{}", name(p)));
    }
    if let Some(s) = m.sys {
        out.push(format!("sys:{}", name(s)));
    }
    if let Some(c) = m.cgroup {
        let mut t = String::from(if c.full { "cgroup-full" } else { "cgroup" });
        if let Some(md) = c.mode {
            t.push(':');
            t.push_str(name(md));
        }
        if c.force {
            t.push_str(":force");
        }
        out.push(t);
    }
    match m.cgroup2 {
        Some(AutoMode::Ro) => out.push("cgroup2:ro".into()),
        Some(_) => out.push("cgroup2".into()),
        None => {}
    }
    if let Some((h, c)) = &m.shmounts {
        match c {
            Some(c) => out.push(format!("shmounts:{h}:{c}")),
            None => out.push(format!("shmounts:{h}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_auto_all_tokens() {
        let mut m = MountAuto::default();
        for t in [
            "proc",
            "proc:mixed",
            "proc:rw",
            "sys",
            "sys:ro",
            "sys:mixed",
            "sys:rw",
            "cgroup",
            "cgroup:force",
            "cgroup:mixed",
            "cgroup:ro",
            "cgroup:rw",
            "cgroup:mixed:force",
            "cgroup:ro:force",
            "cgroup:rw:force",
            "cgroup-full",
            "cgroup-full:force",
            "cgroup-full:mixed",
            "cgroup-full:ro",
            "cgroup-full:rw",
            "cgroup-full:mixed:force",
            "cgroup-full:ro:force",
            "cgroup-full:rw:force",
            "cgroup2",
            "cgroup2:ro",
            "cgroup2:force",
            "cgroup2:ro:force",
            "shmounts:/a",
            "shmounts:/a:/b",
        ] {
            mount_auto(&mut m, t).unwrap_or_else(|e| panic!("{t}: {e}"));
            // each token survives a write/parse round trip
            let mut again = MountAuto::default();
            mount_auto(&mut again, &mount_auto_tokens(&m).join(" ")).unwrap();
            assert_eq!(again, m, "{t}");
        }
        // One family: cgroup2 replaces cgroup and the other way round.
        let mut f = MountAuto::default();
        mount_auto(&mut f, "cgroup:mixed cgroup2").unwrap();
        assert_eq!((f.cgroup, f.cgroup2), (None, Some(AutoMode::Rw)));
        mount_auto(&mut f, "cgroup:ro").unwrap();
        assert!(f.cgroup.is_some() && f.cgroup2.is_none());
        for bad in [
            "proc:ro",
            "sys:x",
            "cgroup:force:rw",
            "cgroup2:mixed",
            "cgroup2:rw",
            "cgroup2:force:ro",
            "shmounts:",
            "nope",
        ] {
            assert!(mount_auto(&mut m, bad).is_err(), "{bad} accepted");
        }
    }
}
