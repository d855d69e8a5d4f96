//! lxc.net.N.script.up / script.down.
//!
//! LXC runs the script through the shell with the hook-version-0 arguments
//! `NAME net up|down TYPE [HOSTDEV]` and, for hook version 1, the
//! environment LXC_HOOK_TYPE, LXC_HOOK_SECTION, LXC_NET_TYPE, LXC_NET_PARENT,
//! LXC_NET_PEER. The network code is not told the hook version, so it gives
//! both: the arguments and the environment (a version-1 script ignores its
//! arguments; a version-0 script ignores the extra variables).

use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

/// What a network script is told.
pub struct ScriptCall<'a> {
    pub script: &'a str,
    pub container: &'a str,
    /// "up" or "down".
    pub hook: &'a str,
    pub net_type: &'a str,
    /// LXC_NET_PARENT: the host link (veth, macvlan, phys).
    pub parent: Option<&'a str>,
    /// LXC_NET_PEER: the host-side veth.
    pub peer: Option<&'a str>,
}

/// Runs the script; a non-zero exit is an error carrying its status.
pub fn run(c: &ScriptCall) -> Result<()> {
    // The host-side device argument: the veth peer, else the parent link.
    let dev = c.peer.or(c.parent);
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(format!("{} \"$@\"", c.script))
        .arg("sh")
        .args([c.container, "net", c.hook, c.net_type])
        .args(dev)
        .env("LXC_NAME", c.container)
        .env("LXC_HOOK_TYPE", c.hook)
        .env("LXC_HOOK_SECTION", "net")
        .env("LXC_NET_TYPE", c.net_type)
        .stdin(Stdio::null());
    if let Some(p) = c.parent {
        cmd.env("LXC_NET_PARENT", p);
    }
    if let Some(p) = c.peer {
        cmd.env("LXC_NET_PEER", p);
    }
    let out = cmd
        .output()
        .with_context(|| format!("running \"{}\"", c.script))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !stdout.trim().is_empty() {
        log::debug!("script \"{}\": {}", c.script, stdout.trim_end());
    }
    if !out.status.success() {
        bail!("\"{}\" failed: {}", c.script, out.status);
    }
    Ok(())
}
