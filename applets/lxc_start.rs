//! lxc-start: run a system container (CMD, else lxc.init.cmd, else
//! /sbin/init as PID 1). Daemonises by default; -F stays attached.
//applet: lxc-start main start a container

use argh::{ArgsInfo, FromArgs};

use crate::common::{self, Spec};
use crate::launch;

const SPEC: Spec = Spec::new("lxc-start");

/// lxc-start start COMMAND in specified container NAME (default:
/// lxc.init.cmd, else /sbin/init)
#[derive(FromArgs, ArgsInfo)]
struct Args {
    /// daemonize the container (default)
    #[argh(switch, short = 'd')]
    daemon: bool,
    /// start with the current tty attached to /dev/console
    #[argh(switch, short = 'F')]
    foreground: bool,
    /// load configuration file FILE
    #[argh(option, short = 'f', arg_name = "FILE")]
    rcfile: Option<String>,
    /// assign VAL to configuration variable KEY (KEY=VAL)
    #[argh(option, short = 's', long = "define", arg_name = "KEY=VAL")]
    define: Vec<String>,
    /// use specified FILE for the container console
    #[argh(option, short = 'c', arg_name = "FILE")]
    console: Option<String>,
    /// log container console output to FILE
    #[argh(option, short = 'L', long = "console-log", arg_name = "FILE")]
    console_log: Option<String>,
    /// if any fds are inherited, close them (always done: only 0, 1, 2 reach init)
    #[argh(switch, short = 'C', long = "close-all-fds")]
    _close_all_fds: bool,
    /// create a file with the process id
    #[argh(option, short = 'p', arg_name = "FILE")]
    pidfile: Option<String>,
    /// share the network namespace of container NAME or PID
    #[argh(option, long = "share-net", arg_name = "NAME")]
    share_net: Option<String>,
    /// share the IPC namespace of container NAME or PID
    #[argh(option, long = "share-ipc", arg_name = "NAME")]
    share_ipc: Option<String>,
    /// share the UTS namespace of container NAME or PID
    #[argh(option, long = "share-uts", arg_name = "NAME")]
    share_uts: Option<String>,
    /// share the PID namespace of container NAME or PID
    #[argh(option, long = "share-pid", arg_name = "NAME")]
    share_pid: Option<String>,
    /// the command to run as init
    #[argh(positional, greedy, arg_name = "COMMAND")]
    command: Vec<String>,
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    common::main(&SPEC, args, |c, a: Args| {
        let mut defines = a.define.clone();
        if let Some(f) = &a.console {
            defines.push(format!("lxc.console.path={f}"));
        }
        if let Some(f) = &a.console_log {
            defines.push(format!("lxc.console.logfile={f}"));
        }
        launch::run(
            c,
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
