//! lxc-execute: run an application inside a container, with lxcbox's init
//! as PID 1; exits with the application's status.

use argh::FromArgs;

use crate::{common, launch};

/// Run an application inside a container: lxc-execute -n NAME [-f CONFIG] [-s KEY=VAL]... -- COMMAND
#[derive(FromArgs)]
struct Args {
    /// daemonize the container
    #[argh(switch, short = 'd')]
    daemon: bool,
    /// load configuration file FILE
    #[argh(option, short = 'f')]
    rcfile: Option<String>,
    /// assign VAL to configuration variable KEY (KEY=VAL)
    #[argh(option, short = 's', long = "define")]
    define: Vec<String>,
    /// run the application as UID
    #[argh(option, short = 'u')]
    uid: Option<u32>,
    /// run the application as GID
    #[argh(option, short = 'g')]
    gid: Option<u32>,
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
    /// the command to run
    #[argh(positional, greedy)]
    command: Vec<String>,
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    let (c, a) = match common::parse::<Args>("lxc-execute", "fsug", args) {
        Ok(v) => v,
        Err(code) => return code,
    };
    common::run(&c, || {
        launch::run(
            &c,
            launch::Launch {
                rcfile: a.rcfile.as_deref(),
                defines: &a.define,
                command: a.command,
                execute: true,
                daemon: a.daemon,
                share: launch::shares(&a.share_net, &a.share_ipc, &a.share_uts, &a.share_pid),
                uid: a.uid,
                gid: a.gid,
                pidfile: None,
            },
        )
    })
}
