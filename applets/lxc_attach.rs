//! lxc-attach: start a process inside a running container.
//applet: lxc-attach main start a process inside a running container

use argh::{ArgsInfo, FromArgs};
use lxcbox::attach::{self, opts, AttachOptions, ChildFailed, EnvPolicy};

use crate::common::{self, Spec};

const SPEC: Spec = Spec::new("lxc-attach");

/// Execute the specified COMMAND - enter the container NAME (default: the
/// user's shell in the container)
#[derive(FromArgs, ArgsInfo)]
struct Args {
    /// use elevated privileges instead of those of the container: an OR'd
    /// list of CAP, CGROUP and LSM (capabilities, cgroup and restrictions);
    /// alone, all of them. WARNING: this may leak privileges into the container
    #[argh(
        option,
        short = 'e',
        long = "elevated-privileges",
        arg_name = "[PRIVILEGES]"
    )]
    elevated_privileges: Option<String>,
    /// use ARCH for program instead of container's own architecture (only
    /// the container's own is supported)
    #[argh(option, short = 'a', arg_name = "ARCH")]
    arch: Option<String>,
    /// attach to these namespaces only, an OR'd list: MOUNT, PID, UTSNAME,
    /// IPC, USER, NETWORK, CGROUP, TIME (implies -e)
    #[argh(option, short = 's', arg_name = "FLAGS")]
    namespaces: Option<String>,
    /// remount /sys and /proc if not attaching to the mount namespace
    #[argh(switch, short = 'R', long = "remount-sys-proc")]
    remount_sys_proc: bool,
    /// clear all environment variables before attaching: only container=lxc
    /// (and PATH, kept and set variables)
    #[argh(switch, long = "clear-env")]
    clear_env: bool,
    /// keep all current environment variables (the default), plus container=lxc
    #[argh(switch, long = "keep-env")]
    keep_env: bool,
    /// keep an additional environment variable with --clear-env (repeatable)
    #[argh(option, long = "keep-var", arg_name = "VAR")]
    keep_var: Vec<String>,
    /// set an additional variable VAR=VALUE seen by the attached program (repeatable)
    #[argh(option, short = 'v', long = "set-var", arg_name = "VAR=VALUE")]
    set_var: Vec<String>,
    /// log pty output to FILE
    #[argh(option, short = 'L', long = "pty-log", arg_name = "FILE")]
    pty_log: Option<String>,
    /// load configuration file FILE
    #[argh(option, short = 'f', arg_name = "FILE")]
    rcfile: Option<String>,
    /// execute COMMAND with UID inside the container (default 0)
    #[argh(option, short = 'u', arg_name = "UID")]
    uid: Option<u32>,
    /// execute COMMAND with GID inside the container (default 0)
    #[argh(option, short = 'g', arg_name = "GID")]
    gid: Option<u32>,
    /// SELinux context to transition into
    #[argh(option, short = 'c', arg_name = "CONTEXT")]
    context: Option<String>,
    /// the command to run
    #[argh(positional, greedy, arg_name = "COMMAND")]
    command: Vec<String>,
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    let clear_last = clear_env_last(&args);
    let (mut c, a) = match common::parse::<Args>(&SPEC, args) {
        Ok(v) => v,
        Err(code) => return code,
    };
    if c.rcfile.is_none() {
        c.rcfile = a.rcfile.clone();
    }
    let mut code = 1;
    let status = common::run(&c, || {
        // From here on this process and the one it forks into the
        // container run a sealed copy of lxcbox, never the host's file.
        lxcbox::sealed::reexec_sealed()?;
        let name = c.name()?;
        if let Some(arch) = &a.arch {
            check_arch(arch)?;
        }
        // Both given: the last one wins, as with LXC's getopt loop.
        let clear = match (a.clear_env, a.keep_env) {
            (true, true) => clear_last,
            (c, _) => c,
        };
        if !a.keep_var.is_empty() && !clear {
            log::warn!("--keep-var is only applicable with --clear-env: ignored (as LXC)");
        }
        if let Some(f) = &c.rcfile {
            std::fs::metadata(f).map_err(|e| anyhow::anyhow!("Failed to load rcfile {f}: {e}"))?;
        }
        let namespaces = a
            .namespaces
            .as_deref()
            .map(opts::parse_namespaces)
            .transpose()?;
        let mut elevated = match &a.elevated_privileges {
            // -e alone leaves the optional argument out (""): everything.
            Some(list) => opts::parse_elevated(Some(list))?,
            None => opts::Elevated::default(),
        };
        if namespaces.is_some() {
            // LXC: "-s implies -e".
            elevated = opts::Elevated::ALL;
        }
        if elevated.lsm && a.context.is_some() {
            anyhow::bail!("Cannot combine elevated LSM privileges while requesting LSM profile");
        }
        let o = AttachOptions {
            command: a.command.clone(),
            namespaces,
            elevated,
            env: EnvPolicy {
                clear,
                keep: a.keep_var.clone(),
                set: a.set_var.clone(),
            },
            uid: a.uid,
            gid: a.gid,
            remount_sys_proc: a.remount_sys_proc,
            context: a.context.clone(),
            pty_log: a.pty_log.as_ref().map(std::path::PathBuf::from),
            rcfile: c.rcfile.as_ref().map(std::path::PathBuf::from),
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

/// Whether --clear-env comes after the last --keep-env (unambiguous long
/// option prefixes count, as getopt_long takes them).
fn clear_env_last(args: &[std::ffi::OsString]) -> bool {
    let mut clear = false;
    for a in args.iter().skip(1).map(|a| a.to_string_lossy()) {
        if a == "--" {
            break;
        }
        if a.len() >= 4 && "--clear-env".starts_with(a.as_ref()) {
            clear = true;
        } else if a.len() >= 8 && "--keep-env".starts_with(a.as_ref()) {
            clear = false;
        }
    }
    clear
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
