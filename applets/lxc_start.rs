//! lxc-start: run a system container (CMD, else lxc.init.cmd, else
//! /sbin/init as PID 1). Daemonises by default; -F stays attached.

use argh::FromArgs;

use crate::{common, launch};

/// Start COMMAND (default: lxc.init.cmd or /sbin/init) in container NAME: lxc-start -n NAME [-F] [-f CONFIG] [-- COMMAND]
#[derive(FromArgs)]
struct Args {
    /// daemonize the container (the default)
    #[argh(switch, short = 'd')]
    daemon: bool,
    /// start with the current tty attached to /dev/console
    #[argh(switch, short = 'F')]
    foreground: bool,
    /// create a file with the monitor's process id
    #[argh(option, short = 'p')]
    pidfile: Option<String>,
    /// load configuration file FILE
    #[argh(option, short = 'f')]
    rcfile: Option<String>,
    /// use FILE for the container console (classic)
    #[argh(option, short = 'c')]
    console: Option<String>,
    /// log container console output to FILE
    #[argh(option, short = 'L', long = "console-log")]
    console_log: Option<String>,
    /// close inherited fds (always done: only 0, 1, 2 reach init)
    #[argh(switch, short = 'C', long = "close-all-fds")]
    _close_all_fds: bool,
    /// assign VAL to configuration variable KEY (KEY=VAL)
    #[argh(option, short = 's', long = "define")]
    define: Vec<String>,
    /// share the network namespace of container NAME or PID
    #[argh(option, long = "share-net")]
    share_net: Option<String>,
    /// share the IPC namespace of container NAME or PID
    #[argh(option, long = "share-ipc")]
    share_ipc: Option<String>,
    /// share the UTS namespace of container NAME or PID
    #[argh(option, long = "share-uts")]
    share_uts: Option<String>,
    /// share the PID namespace of container NAME or PID
    #[argh(option, long = "share-pid")]
    share_pid: Option<String>,
    /// the command to run as init
    #[argh(positional, greedy)]
    command: Vec<String>,
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    let (c, a) = match common::parse::<Args>("lxc-start", "pfcLs", args) {
        Ok(v) => v,
        Err(code) => return code,
    };
    common::run(&c, || {
        let mut defines = a.define.clone();
        if let Some(f) = &a.console {
            defines.push(format!("lxc.console.path={f}"));
        }
        if let Some(f) = &a.console_log {
            defines.push(format!("lxc.console.logfile={f}"));
        }
        launch::run(
            &c,
            launch::Launch {
                rcfile: a.rcfile.as_deref(),
                defines: &defines,
                command: a.command,
                execute: false,
                daemon: !a.foreground || a.daemon,
                share: launch::shares(&a.share_net, &a.share_ipc, &a.share_uts, &a.share_pid),
                uid: None,
                gid: None,
                pidfile: a.pidfile,
            },
        )
    })
}
