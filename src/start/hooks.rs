//! lxc.hook.*: run with LXC's arguments and environment.
//!
//! hook.version 0: `sh -c "CMD NAME lxc TYPE [EXTRA...]"`; version 1: no
//! extra arguments, everything in the environment. Both get LXC_NAME,
//! LXC_CONFIG_FILE, LXC_ROOTFS_MOUNT, LXC_ROOTFS_PATH, LXC_HOOK_TYPE,
//! LXC_HOOK_SECTION, LXC_HOOK_VERSION, LXC_CGNS_AWARE, LXC_LOG_LEVEL.

use std::process::Command;

use anyhow::{bail, Context, Result};

/// What a hook is told about its container.
#[derive(Debug, Clone, Default)]
pub struct HookEnv {
    pub name: String,
    pub config_file: String,
    pub rootfs_mount: String,
    pub rootfs_path: String,
    pub version: u32,
    pub extra_env: Vec<(String, String)>,
}

/// Run every hook of `kind` in order; the first failure stops the start.
pub fn run_hooks(
    cfg: &crate::config::Config,
    kind: &str,
    env: &HookEnv,
    extra_args: &[String],
) -> Result<()> {
    for cmd in cfg.hooks_of(kind) {
        run_one(cmd, kind, env, extra_args)?;
    }
    Ok(())
}

fn run_one(cmd: &str, kind: &str, env: &HookEnv, extra_args: &[String]) -> Result<()> {
    let mut line = cmd.to_string();
    if env.version == 0 {
        line.push_str(&format!(" {} lxc {kind}", env.name));
        for a in extra_args {
            line.push(' ');
            line.push_str(a);
        }
    }
    let mut c = Command::new("/bin/sh");
    c.arg("-c").arg(&line);
    c.env("LXC_NAME", &env.name)
        .env("LXC_CONFIG_FILE", &env.config_file)
        .env("LXC_ROOTFS_MOUNT", &env.rootfs_mount)
        .env("LXC_ROOTFS_PATH", &env.rootfs_path)
        .env("LXC_HOOK_TYPE", kind)
        .env("LXC_HOOK_SECTION", "lxc")
        .env("LXC_HOOK_VERSION", env.version.to_string())
        .env("LXC_CGNS_AWARE", "1")
        .env("LXC_LOG_LEVEL", "ERROR");
    for (k, v) in &env.extra_env {
        c.env(k, v);
    }
    let st = c
        .status()
        .with_context(|| format!("running {kind} hook \"{cmd}\""))?;
    if !st.success() {
        bail!("{kind} hook \"{cmd}\" failed ({st})");
    }
    Ok(())
}
