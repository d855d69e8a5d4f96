//! AppArmor, as LXC 5.0 drives it (src/lxc/lsm/apparmor.c).
//!
//! `lxc.apparmor.profile`: `unchanged` (leave the label alone),
//! `unconfined`, `generated` (a per-container profile built from LXC's
//! rules, loaded with apparmor_parser), or the name of a loaded profile;
//! unset means `lxc-container-default-cgns` (or `lxc-container-default`
//! without cgroup namespaces). The profile's rule text is LXC 5.0's
//! (LGPL-2.1+, like lxcbox), kept verbatim in src/lsm/apparmor/*.txt.
//!
//! Loading a text profile has no kernel interface (the kernel takes the
//! parser's binary policy), so `generated` runs apparmor_parser, as LXC
//! does: the one helper program lxcbox calls.
//!
//! Untested on a live AppArmor host (the project's machines have none):
//! the text, names and decisions below are unit-tested.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use super::{Label, Plan};
use crate::config::Config;

const ENABLED_FILE: &str = "/sys/module/apparmor/parameters/enabled";
const MOUNT_RESTR: &str = "/sys/kernel/security/apparmor/features/mount/mask";
const DEF_PROFILE: &str = "lxc-container-default";
const DEF_PROFILE_CGNS: &str = "lxc-container-default-cgns";
/// Debian's APPARMOR_CACHE_DIR.
const CACHE_DIR: &str = "/var/cache/lxc/apparmor";

/// What the host's AppArmor supports (LXC's aa_* fields).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Host {
    pub mount_features: bool,
    pub can_stack: bool,
    pub is_stacked: bool,
    /// apparmor_parser 2.10.95 or later: unix socket rules.
    pub supports_unix: bool,
}

impl Host {
    /// `None` when AppArmor is not enabled.
    pub fn detect() -> Option<Host> {
        let enabled = std::fs::read(ENABLED_FILE).ok()?;
        if enabled.first() != Some(&b'Y') {
            return None;
        }
        let can_stack = can_stack();
        Some(Host {
            mount_features: std::path::Path::new(MOUNT_RESTR).exists(),
            can_stack,
            is_stacked: can_stack && file_is_yes("/sys/kernel/security/apparmor/.ns_stacked"),
            supports_unix: false,
        })
    }
}

fn file_is_yes(path: &str) -> bool {
    std::fs::read(path).is_ok_and(|b| b.starts_with(b"yes\n"))
}

fn can_stack() -> bool {
    if !file_is_yes("/sys/kernel/security/apparmor/features/domain/stack") {
        return false;
    }
    let v = std::fs::read_to_string("/sys/kernel/security/apparmor/features/domain/version")
        .unwrap_or_default();
    let mut it = v.trim().split('.').map(|n| n.parse::<u32>().ok());
    match (it.next().flatten(), it.next().flatten()) {
        (Some(maj), Some(min)) => maj > 1 || (maj == 1 && min >= 2),
        _ => false,
    }
}

/// LXC's apparmor_profile_full: `lxc-NAME_<LXCPATH>`, or its 64-bit FNV-1a
/// hash in hex when the name would exceed AppArmor's limit.
pub fn profile_name(name: &str, lxcpath: &str) -> String {
    let full = format!("lxc-{name}_<{lxcpath}>");
    if full.len() + 7 > 253 {
        return format!("{:016x}", fnv1a64(full.as_bytes()));
    }
    full
}

/// The policy namespace of the container: the profile name with '/' → '-'.
pub fn namespace(name: &str, lxcpath: &str) -> String {
    profile_name(name, lxcpath).replace('/', "-")
}

fn fnv1a64(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// What the generated profile depends on besides the config.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProfileEnv {
    pub supports_unix: bool,
    pub cgroup_ns: bool,
    pub can_stack: bool,
    pub is_stacked: bool,
    /// The container has no user namespace (no lxc.idmap) and the host is
    /// not itself unprivileged.
    pub privileged: bool,
}

/// LXC 5.0's get_apparmor_profile_content.
pub fn profile_text(cfg: &Config, name: &str, lxcpath: &str, env: &ProfileEnv) -> String {
    let full = profile_name(name, lxcpath);
    let mut p = format!(
        "#include <tunables/global>\nprofile \"{full}\" flags=(attach_disconnected,mediate_deleted) {{\n"
    );
    p.push_str(include_str!("apparmor/base.txt"));
    remount_rules(&mut p);
    if env.supports_unix {
        p.push_str(include_str!("apparmor/unix_sockets.txt"));
    }
    if env.cgroup_ns {
        p.push_str(include_str!("apparmor/cgroup_namespaces.txt"));
    }
    if env.can_stack && !env.is_stacked {
        p.push_str(include_str!("apparmor/stacking.txt"));
        let ns = namespace(name, lxcpath);
        p.push_str(&format!(
            "  change_profile -> \":{ns}:*\",\n  change_profile -> \":{ns}://*\",\n"
        ));
    } else {
        p.push_str(include_str!("apparmor/no_stacking.txt"));
    }
    if cfg.apparmor_allow_nesting {
        p.push_str(include_str!("apparmor/nesting.txt"));
        if !env.can_stack || env.is_stacked {
            p.push_str(&format!("  change_profile -> \"{full}\",\n"));
        }
    }
    if !env.privileged {
        p.push_str(include_str!("apparmor/unprivileged.txt"));
    }
    for line in &cfg.apparmor_raw {
        p.push_str(line);
        p.push('\n');
    }
    p.push_str("}\n");
    p
}

/// Destinations of the read-only bind remount rules: everything except
/// /proc, /sys, /dev and /dev/.lxc.
const DEST_PATHS: [&str; 16] = [
    " -> /[^spd]*{,/**},\n",
    " -> /d[^e]*{,/**},\n",
    " -> /de[^v]*{,/**},\n",
    " -> /dev/.[^l]*{,/**},\n",
    " -> /dev/.l[^x]*{,/**},\n",
    " -> /dev/.lx[^c]*{,/**},\n",
    " -> /dev/.lxc?*{,/**},\n",
    " -> /dev/[^.]*{,/**},\n",
    " -> /dev?*{,/**},\n",
    " -> /p[^r]*{,/**},\n",
    " -> /pr[^o]*{,/**},\n",
    " -> /pro[^c]*{,/**},\n",
    " -> /proc?*{,/**},\n",
    " -> /s[^y]*{,/**},\n",
    " -> /sy[^s]*{,/**},\n",
    " -> /sys?*{,/**},\n",
];

/// LXC 5.0's append_all_remount_rules: `ro,remount,bind` with every subset
/// of nodev/nosuid/noexec, each alone, with noatime and with strictatime.
fn remount_rules(p: &mut String) {
    const OPTS: [&str; 3] = [",nodev", ",nosuid", ",noexec"];
    p.push_str("# allow various ro-bind-*re*mounts\n");
    for bits in 0..(1usize << OPTS.len()) {
        let mut base = String::from("  mount options=(ro,remount,bind");
        for (i, o) in OPTS.iter().enumerate() {
            if bits & (1 << i) != 0 {
                base.push_str(o);
            }
        }
        for tail in [")", ",noatime)", ",strictatime)"] {
            for d in DEST_PATHS {
                p.push_str(&base);
                p.push_str(tail);
                p.push_str(d);
            }
        }
    }
}

/// A generated profile loaded for a container; unloaded (policy namespace
/// removed, profile unloaded, file deleted) when dropped, after the stop.
#[derive(Debug)]
pub struct Generated {
    file: PathBuf,
    namespace_dir: Option<PathBuf>,
}

impl Drop for Generated {
    fn drop(&mut self) {
        // The child of a clone holds a copy of the plan; only the process
        // that loaded the profile unloads it.
        if let Some(d) = &self.namespace_dir {
            let _ = std::fs::remove_dir(d);
        }
        if let Err(e) = run_parser("-RWL", &self.file) {
            log::warn!(
                "unloading the AppArmor profile {}: {e:#}",
                self.file.display()
            );
        }
        let _ = std::fs::remove_file(&self.file);
        if let Some(dir) = self.file.parent() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// apparmor_parser CMD -W -L CACHE FILE (no shell).
fn run_parser(cmd: &str, file: &std::path::Path) -> Result<()> {
    let out = std::process::Command::new("apparmor_parser")
        .arg(cmd)
        .arg(CACHE_DIR)
        .arg(file)
        .output()
        .context("running apparmor_parser")?;
    if !out.status.success() {
        bail!(
            "apparmor_parser {cmd} {}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

fn parser_supports_unix() -> Option<bool> {
    let out = std::process::Command::new("apparmor_parser")
        .arg("--version")
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let v = text.strip_prefix("AppArmor parser version ")?;
    let nums: Vec<u32> = v
        .split(|c: char| !c.is_ascii_digit())
        .take(3)
        .map(|n| n.parse().unwrap_or(0))
        .collect();
    let (a, b, c) = (
        nums.first().copied().unwrap_or(0),
        nums.get(1).copied().unwrap_or(0),
        nums.get(2).copied().unwrap_or(0),
    );
    Some(a > 2 || (a == 2 && b > 10) || (a == 2 && b == 10 && c >= 95))
}

/// LXC's apparmor_prepare.
pub fn prepare(host: &Host, cfg: &Config, name: &str, lxcpath: &str) -> Result<Plan> {
    let mut label = cfg.apparmor_profile.clone();
    let mut generated = None;
    if label.as_deref() == Some("unchanged") {
        log::info!("AppArmor profile unchanged per user request");
        return Ok(Plan::default());
    }
    if label.as_deref() == Some("generated") {
        let Some(unix) = parser_supports_unix() else {
            bail!("lxc.apparmor.profile = generated: apparmor_parser is not available");
        };
        let env = ProfileEnv {
            supports_unix: unix,
            cgroup_ns: std::path::Path::new("/proc/self/ns/cgroup").exists(),
            can_stack: host.can_stack,
            is_stacked: host.is_stacked,
            privileged: cfg.idmap.is_empty() && rustix::process::geteuid().is_root(),
        };
        let ns = namespace(name, lxcpath);
        let ns_dir = (host.can_stack && !host.is_stacked)
            .then(|| PathBuf::from("/sys/kernel/security/apparmor/policy/namespaces").join(&ns));
        if let Some(d) = &ns_dir {
            match std::fs::create_dir(d) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => {
                    return Err(e)
                        .with_context(|| format!("creating AppArmor namespace {}", d.display()))
                }
            }
        }
        let dir = PathBuf::from(lxcpath).join(name).join("apparmor");
        let file = dir.join(&ns);
        std::fs::create_dir_all(CACHE_DIR).with_context(|| format!("creating {CACHE_DIR}"))?;
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let text = profile_text(cfg, name, lxcpath, &env);
        // apparmor_parser's cache keys on mtime: rewrite only on change.
        if std::fs::read_to_string(&file).ok().as_deref() != Some(text.as_str()) {
            crate::fsutil::write_atomic(&file, text.as_bytes(), 0o644)?;
        }
        let g = Generated {
            file: file.clone(),
            namespace_dir: ns_dir,
        };
        run_parser("-rWL", &file).context("loading the generated AppArmor profile")?;
        let mut l = profile_name(name, lxcpath);
        if host.can_stack && !host.is_stacked {
            l = stacked_label(&l, &ns);
        }
        label = Some(l);
        generated = Some(g);
    }
    let current = label_of(std::process::id() as i32);
    if !host.can_stack && needs_transition(current.as_deref()) {
        // Already confined and no stacking: only "no change" works.
        if label.is_none() || current == label {
            return Ok(Plan {
                generated,
                ..Plan::default()
            });
        }
        bail!("Already AppArmor confined, but new label requested.");
    }
    let label = label.unwrap_or_else(|| {
        if std::path::Path::new("/proc/self/ns/cgroup").exists() {
            DEF_PROFILE_CGNS.into()
        } else {
            DEF_PROFILE.into()
        }
    });
    if !host.mount_features && label != "unconfined" {
        log::warn!("Incomplete AppArmor support in your kernel");
        if !cfg.apparmor_allow_incomplete {
            bail!(
                "Incomplete AppArmor support in your kernel: if you really want to start this container, set lxc.apparmor.allow_incomplete = 1"
            );
        }
    }
    if label == "unconfined" && !needs_transition(current.as_deref()) {
        return Ok(Plan {
            generated,
            ..Plan::default()
        });
    }
    Ok(Plan {
        label: Some(Label::AppArmor(label)),
        keyring: None,
        generated,
    })
}

/// The label of a generated profile inside its own policy namespace.
pub fn stacked_label(profile: &str, ns: &str) -> String {
    format!("{profile}//&:{ns}:")
}

/// LXC's aa_needs_transition: confined by something else than
/// unconfined or lxc-start's own profile.
fn needs_transition(cur: Option<&str>) -> bool {
    matches!(cur, Some(c) if c != "unconfined" && c != "/usr/bin/lxc-start")
}

/// A process's AppArmor label (attr/apparmor/current, else attr/current).
pub fn label_of(pid: i32) -> Option<String> {
    super::read_attr(pid, "apparmor/current").or_else(|| super::read_attr(pid, "current"))
}

/// Switch to `label` now (`changeprofile LABEL`).
pub fn change_profile(label: &str) -> Result<()> {
    let cmd = format!("changeprofile {label}");
    super::write_attr("apparmor/current", &cmd)
        .or_else(|_| super::write_attr("current", &cmd))
        .with_context(|| format!("Failed to change AppArmor profile to {label}"))?;
    log::info!("Changed AppArmor profile to {label}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(profile_name("c1", "/var/lib/lxc"), "lxc-c1_</var/lib/lxc>");
        assert_eq!(namespace("c1", "/var/lib/lxc"), "lxc-c1_<-var-lib-lxc>");
        assert_eq!(
            stacked_label("lxc-c1_</var/lib/lxc>", "lxc-c1_<-var-lib-lxc>"),
            "lxc-c1_</var/lib/lxc>//&:lxc-c1_<-var-lib-lxc>:"
        );
        let long = "x".repeat(250);
        let n = profile_name("c", &long);
        assert_eq!(n.len(), 16);
        assert!(n.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn generated_profile_text() {
        let mut cfg = Config::default();
        let env = ProfileEnv {
            supports_unix: true,
            cgroup_ns: true,
            can_stack: false,
            is_stacked: false,
            privileged: true,
        };
        let t = profile_text(&cfg, "c1", "/var/lib/lxc", &env);
        assert!(t.starts_with("#include <tunables/global>\nprofile \"lxc-c1_</var/lib/lxc>\" flags=(attach_disconnected,mediate_deleted) {\n  ### Base profile\n"));
        assert!(
            t.ends_with("  deny /sys/k*{,/**} rwklx,\n}\n"),
            "{}",
            &t[t.len() - 200..]
        );
        assert!(t.contains("  deny /proc/sys/[^kn]*{,/**} wklx,\n"));
        assert!(t.contains("  unix peer=(label=@{profile_name}),\n"));
        assert!(t.contains("  mount fstype=cgroup2 -> /sys/fs/cgroup/**,\n"));
        assert!(!t.contains("### Configuration: nesting"));
        assert!(!t.contains("### Configuration: unprivileged container"));
        // 8 option sets x 3 time variants x 16 destinations.
        assert_eq!(
            t.matches("  mount options=(ro,remount,bind").count(),
            8 * 3 * 16
        );
        assert!(t.contains(
            "  mount options=(ro,remount,bind,nodev,nosuid,noexec,strictatime) -> /sys?*{,/**},\n"
        ));
        cfg.apparmor_allow_nesting = true;
        cfg.apparmor_raw = vec!["  mount fstype=nfs,".into()];
        let env = ProfileEnv {
            can_stack: true,
            privileged: false,
            ..env
        };
        let t = profile_text(&cfg, "c1", "/var/lib/lxc", &env);
        assert!(t.contains("### Feature: apparmor stacking\n"));
        assert!(t.contains("  change_profile -> \":lxc-c1_<-var-lib-lxc>:*\",\n  change_profile -> \":lxc-c1_<-var-lib-lxc>://*\",\n"));
        assert!(t.contains("### Configuration: nesting"));
        assert!(!t.contains("  change_profile -> \"lxc-c1_</var/lib/lxc>\",\n"));
        assert!(t.contains("### Configuration: unprivileged container"));
        assert!(t.ends_with("  mount fstype=nfs,\n}\n"));
    }

    #[test]
    fn transitions() {
        assert!(!needs_transition(None));
        assert!(!needs_transition(Some("unconfined")));
        assert!(!needs_transition(Some("/usr/bin/lxc-start")));
        assert!(needs_transition(Some("lxc-container-default")));
    }
}
