//! lxc-netstat's passthrough: run the host's own `netstat` (or `ss`) inside
//! a container's network namespace, as the classic lxc-netstat script did
//! (it bind-mounted /proc/PID/net over /proc/net; joining the namespace is
//! simpler and also covers `ss`, which asks sock_diag over netlink).

use std::convert::Infallible;
use std::os::fd::AsFd as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rustix::thread::{move_into_link_name_space, LinkNameSpaceType};

use super::ns;

/// The first of `netstat`, `ss` found in $PATH (or the usual directories
/// when PATH is unset), as the host tool to hand netstat options to.
pub fn host_netstat_tool() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/sbin:/usr/bin:/sbin:/bin".into());
    ["netstat", "ss"].iter().find_map(|tool| {
        std::env::split_paths(&path)
            .map(|d| d.join(tool))
            .find(|p| is_executable(p))
    })
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Joins the network namespace of `pid` on the calling thread and execs
/// `tool` with `args`. Only returns on failure. setns(CLONE_NEWNET) is
/// allowed in a multi-threaded process, and exec leaves only this thread,
/// so the tool runs wholly inside the container's namespace (its /proc/net,
/// a symlink to /proc/self/net, then shows the container's sockets).
pub fn exec_in_netns(pid: i32, tool: &Path, args: &[String]) -> Result<Infallible> {
    let fd = ns::netns_fd(pid)?;
    move_into_link_name_space(fd.as_fd(), Some(LinkNameSpaceType::Network))
        .with_context(|| format!("joining the network namespace of pid {pid}"))?;
    drop(fd);
    let err = std::process::Command::new(tool).args(args).exec();
    Err(err).with_context(|| format!("executing {}", tool.display()))
}
