//! lxc-execute: run an application inside a container, with lxcbox's init
//! as PID 1; exits with the application's status.
//applet: lxc-execute main run an application inside a container

use argh::{ArgsInfo, FromArgs};

use crate::common::{self, Spec};

const SPEC: Spec = Spec::new("lxc-execute");
use crate::launch;

/// lxc-execute creates a container with the identifier NAME and execs COMMAND into this container.
#[derive(FromArgs, ArgsInfo)]
struct Args {
    /// daemonize the container
    #[argh(switch, short = 'd')]
    daemon: bool,
    /// load configuration file FILE
    #[argh(option, short = 'f', arg_name = "FILE")]
    rcfile: Option<String>,
    /// assign VAL to configuration variable KEY (KEY=VAL)
    #[argh(option, short = 's', long = "define", arg_name = "KEY=VAL")]
    define: Vec<String>,
    /// execute COMMAND with UID inside the container
    #[argh(option, short = 'u', arg_name = "UID")]
    uid: Option<u32>,
    /// execute COMMAND with GID inside the container
    #[argh(option, short = 'g', arg_name = "GID")]
    gid: Option<u32>,
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
    /// the command to run
    #[argh(positional, greedy, arg_name = "COMMAND")]
    command: Vec<String>,
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    common::main(&SPEC, args, |c, a: Args| {
        launch::run(
            c,
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
