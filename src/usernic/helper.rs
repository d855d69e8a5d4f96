//! The start side: an ordinary user's container with `lxc.net.N.type =
//! veth` gets its pair from the setuid helper, as LXC's
//! lxc_create_network_unpriv_exec does: `lxc-user-nic create LXCPATH NAME
//! PID veth BRIDGE|none NICNAME`, whose output line says what it made.
//!
//! Running the helper is the one way an unprivileged monitor can get a
//! device onto a host bridge: the privilege is in the helper's file (setuid
//! root or a file capability), and only an exec gains it.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{anyhow, bail, Context, Result};

use super::Created;

/// Where lxcbox's documented install puts the setuid copy.
pub const LXCBOX_HELPER: &str = "/usr/local/libexec/lxcbox/lxc-user-nic";
/// LXC's LIBEXECDIR/lxc/lxc-user-nic on Debian (bookworm and later) and on
/// older multiarch layouts.
const LXC_HELPERS: &[&str] = &[
    "/usr/libexec/lxc/lxc-user-nic",
    "/usr/lib/x86_64-linux-gnu/lxc/lxc-user-nic",
    "/usr/lib/lxc/lxc-user-nic",
];

/// Whether `p` is an executable that runs with raised privileges: setuid
/// root, or carrying file capabilities (security.capability).
fn privileged_file(p: &Path) -> bool {
    let Ok(m) = std::fs::metadata(p) else {
        return false;
    };
    if !m.is_file() || m.permissions().mode() & 0o111 == 0 {
        return false;
    }
    let setuid_root = m.uid() == 0 && m.permissions().mode() & 0o4000 != 0;
    let mut buf = [0u8; 64];
    setuid_root || rustix::fs::getxattr(p, "security.capability", &mut buf[..]).is_ok()
}

/// The places looked at, in order: lxcbox's install path, next to this
/// binary, each directory of PATH, LXC's libexec paths.
pub fn candidates() -> Vec<PathBuf> {
    let mut v = vec![PathBuf::from(LXCBOX_HELPER)];
    if let Some(dir) = std::fs::read_link("/proc/self/exe")
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        v.push(dir.join("lxc-user-nic"));
    }
    if let Some(path) = std::env::var_os("PATH") {
        v.extend(std::env::split_paths(&path).map(|d| d.join("lxc-user-nic")));
    }
    v.extend(LXC_HELPERS.iter().map(PathBuf::from));
    v
}

/// The first privileged lxc-user-nic of [`candidates`]; the error names
/// what was found unprivileged, or where it looked.
pub fn find() -> Result<PathBuf> {
    let all = candidates();
    if let Some(p) = all.iter().find(|p| privileged_file(p)) {
        return Ok(p.clone());
    }
    let plain: Vec<String> = all
        .iter()
        .filter(|p| p.is_file())
        .map(|p| p.display().to_string())
        .collect();
    if !plain.is_empty() {
        bail!(
            "an unprivileged veth needs a setuid-root lxc-user-nic; {} is not (see docs/lxc-user-nic.md: install -m 4755 -o root lxcbox {LXCBOX_HELPER})",
            plain.join(", ")
        );
    }
    bail!(
        "an unprivileged veth needs lxc-user-nic, found in none of {} (see docs/lxc-user-nic.md)",
        all.iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// LXC's default lxcpath of an ordinary user (initutils.c):
/// `$HOME/.local/share/lxc`.
pub fn default_lxcpath() -> String {
    let home = std::env::var_os("HOME").unwrap_or_default();
    Path::new(&home)
        .join(".local/share/lxc")
        .display()
        .to_string()
}

/// Parses the helper's output line as liblxc does
/// (`NAME:IFINDEX:HOSTNAME:HOSTIFINDEX`).
pub fn parse_line(out: &str) -> Result<Created> {
    let line = out.lines().next().unwrap_or_default();
    let f: Vec<&str> = line.split(':').collect();
    let bad = || anyhow!("Failed to parse lxc-user-nic output \"{line}\"");
    let [cname, cidx, host, hidx] = f.as_slice() else {
        return Err(bad());
    };
    let ok_name = |n: &str| !n.is_empty() && n.len() < 16;
    if !ok_name(cname) || !ok_name(host) {
        return Err(bad());
    }
    Ok(Created {
        container_name: cname.to_string(),
        container_ifindex: cidx.parse().map_err(|_| bad())?,
        host_name: host.to_string(),
        host_ifindex: hidx.parse().map_err(|_| bad())?,
    })
}

/// Runs `helper create LXCPATH NAME PID veth BRIDGE NICNAME` (BRIDGE
/// `none` without one, as LXC) and returns what it made.
pub fn create(
    helper: &Path,
    lxcpath: &str,
    name: &str,
    pid: i32,
    bridge: Option<&str>,
    nicname: &str,
) -> Result<Created> {
    let pid = pid.to_string();
    let br = bridge.filter(|b| !b.is_empty()).unwrap_or("none");
    let o = Command::new(helper)
        .args(["create", lxcpath, name, &pid, "veth", br, nicname])
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {}", helper.display()))?;
    if !o.status.success() {
        let mut msg = String::from_utf8_lossy(&o.stderr).trim().to_string();
        if msg.is_empty() {
            msg = String::from_utf8_lossy(&o.stdout).trim().to_string();
        }
        bail!("lxc-user-nic failed to configure requested network: {msg}");
    }
    parse_line(&String::from_utf8_lossy(&o.stdout))
}

/// Runs `helper delete LXCPATH NAME NETNS veth BRIDGE HOSTNIC` at the
/// container's stop, as liblxc's lxc_delete_network_unpriv does: the host
/// end goes, and so does its record in /run/lxc/nics.
pub fn delete(
    helper: &Path,
    lxcpath: &str,
    name: &str,
    netns: &str,
    bridge: Option<&str>,
    host_nic: &str,
) -> Result<()> {
    let br = bridge.filter(|b| !b.is_empty()).unwrap_or("none");
    let o = Command::new(helper)
        .args(["delete", lxcpath, name, netns, "veth", br, host_nic])
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {}", helper.display()))?;
    if !o.status.success() {
        bail!(
            "lxc-user-nic delete {host_nic}: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_lines_as_liblxc_reads_them() {
        let c = parse_line("eth0:731:veth9MT2L4:730\n").unwrap();
        assert_eq!(
            (
                c.container_name.as_str(),
                c.container_ifindex,
                c.host_name.as_str(),
                c.host_ifindex
            ),
            ("eth0", 731, "veth9MT2L4", 730)
        );
        for bad in [
            "",
            "eth0:1:veth",
            "eth0:x:veth:2",
            ":1:veth:2",
            "eth0:1:veth:2:extra",
        ] {
            assert!(parse_line(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn looks_in_lxcbox_then_lxc_places() {
        let c = candidates();
        assert_eq!(c[0], PathBuf::from(LXCBOX_HELPER));
        assert!(c.ends_with(&[
            PathBuf::from(LXC_HELPERS[0]),
            PathBuf::from(LXC_HELPERS[1]),
            PathBuf::from(LXC_HELPERS[2])
        ]));
    }
}
