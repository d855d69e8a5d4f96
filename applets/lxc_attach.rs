//! lxc-attach: start a process inside a running container.

use argh::FromArgs;
use lxcbox::attach::{self, opts, AttachOptions, ChildFailed, EnvPolicy};

use crate::common;

/// Start a process inside a running container: lxc-attach -n NAME [OPTIONS] [-- COMMAND [ARGS]]
#[derive(FromArgs)]
struct Args {
    /// load configuration file FILE (accepted; attach reads no key from it)
    #[argh(option, short = 'f')]
    rcfile: Option<String>,
    /// architecture the command sees (only the container's own is supported)
    #[argh(option, short = 'a')]
    arch: Option<String>,
    /// keep privileges (also -e[LIST]): CGROUP, CAP and/or LSM ('|'-separated; alone: all)
    #[argh(option, long = "elevated-privileges")]
    elevated_privileges: Option<String>,
    /// namespaces to join, e.g. 'NETWORK|UTSNAME' (MOUNT, PID, UTSNAME, IPC, USER, NETWORK, CGROUP, TIME); implies -e
    #[argh(option, short = 's')]
    namespaces: Option<String>,
    /// remount /proc and /sys when the mount namespace is not joined
    #[argh(switch, short = 'R', long = "remount-sys-proc")]
    remount_sys_proc: bool,
    /// keep the current environment (the default), plus container=lxc
    #[argh(switch, long = "keep-env")]
    keep_env: bool,
    /// clear the environment: only container=lxc, PATH and kept/set variables
    #[argh(switch, long = "clear-env")]
    clear_env: bool,
    /// set VAR=VALUE in the command's environment (repeatable)
    #[argh(option, short = 'v', long = "set-var")]
    set_var: Vec<String>,
    /// keep variable VAR when clearing the environment (repeatable)
    #[argh(option, long = "keep-var")]
    keep_var: Vec<String>,
    /// run the command as this uid inside the container (default 0)
    #[argh(option, short = 'u')]
    uid: Option<u32>,
    /// run the command as this gid inside the container (default 0)
    #[argh(option, short = 'g')]
    gid: Option<u32>,
    /// log the pseudo terminal's output to FILE (not supported by lxcbox)
    #[argh(option, short = 'L', long = "pty-log")]
    pty_log: Option<String>,
    /// the command to run (default: the user's shell in the container)
    #[argh(positional, greedy)]
    command: Vec<String>,
}

/// `-e` takes an optional argument, glued on as getopt wants it (`-e`,
/// `-eCGROUP`, `--elevated-privileges[=LIST]`): give argh an explicit value.
fn glue_elevated(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let mut out = Vec::with_capacity(args.len());
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let s = a.to_string_lossy();
        if s == "--" {
            out.push(a);
            out.extend(it);
            break;
        }
        if s == "-e" || s == "--elevated-privileges" {
            out.push("--elevated-privileges=ALL".into());
        } else if let Some(v) = s.strip_prefix("-e") {
            out.push(format!("--elevated-privileges={v}").into());
        } else {
            out.push(a);
        }
    }
    out
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    let args = glue_elevated(args);
    let (mut c, a) = match common::parse::<Args>("lxc-attach", "fasvugL", args) {
        Ok(v) => v,
        Err(code) => return code,
    };
    if c.rcfile.is_none() {
        c.rcfile = a.rcfile.clone();
    }
    let mut code = 1;
    let status = common::run(&c, || {
        let name = c.name()?;
        if a.pty_log.is_some() {
            anyhow::bail!(
                "-L/--pty-log is not supported: lxcbox attaches without a pseudo terminal"
            );
        }
        if let Some(arch) = &a.arch {
            check_arch(arch)?;
        }
        if a.keep_env && a.clear_env {
            anyhow::bail!("--keep-env and --clear-env are mutually exclusive");
        }
        if !a.keep_var.is_empty() && !a.clear_env {
            anyhow::bail!("--keep-var can only be used with --clear-env");
        }
        if let Some(f) = &c.rcfile {
            std::fs::metadata(f).map_err(|e| anyhow::anyhow!("failed to load rcfile {f}: {e}"))?;
        }
        let namespaces = a
            .namespaces
            .as_deref()
            .map(opts::parse_namespaces)
            .transpose()?;
        let mut elevated = match &a.elevated_privileges {
            Some(list) => opts::parse_elevated(Some(list))?,
            None => opts::Elevated::default(),
        };
        if namespaces.is_some() {
            // LXC: "-s implies -e".
            elevated = opts::Elevated::ALL;
        }
        let o = AttachOptions {
            command: a.command.clone(),
            namespaces,
            elevated,
            env: EnvPolicy {
                clear: a.clear_env,
                keep: a.keep_var.clone(),
                set: a.set_var.clone(),
            },
            uid: a.uid,
            gid: a.gid,
            remount_sys_proc: a.remount_sys_proc,
        };
        match attach::attach(&c.lxcpath(), name, &o) {
            Ok(status) => Ok(status),
            Err(e) => {
                if let Some(f) = e.downcast_ref::<ChildFailed>() {
                    code = f.code;
                }
                Err(e)
            }
        }
    });
    if status == 1 {
        code
    } else {
        status
    }
}

/// Only the container's own architecture can be asked for: lxcbox does not
/// switch personalities.
fn check_arch(arch: &str) -> anyhow::Result<()> {
    let native = match std::env::consts::ARCH {
        "x86_64" => ["x86_64", "amd64"],
        "aarch64" => ["aarch64", "arm64"],
        other => [other, other],
    };
    if native.contains(&arch) {
        Ok(())
    } else {
        anyhow::bail!(
            "architecture \"{arch}\" is not supported (only {})",
            native[0]
        )
    }
}
