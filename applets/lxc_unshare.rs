//! lxc-unshare: run a command in a new set of namespaces.
//applet: lxc-unshare main run a task in a new set of namespaces

use argh::{ArgsInfo, FromArgs};

use crate::common::{self, Spec};
use lxcbox::userns::unshare::{self, Unshare};

const SPEC: Spec = Spec::new("lxc-unshare").name_optional();

/// lxc-unshare run a COMMAND in a new set of NAMESPACES
#[derive(FromArgs, ArgsInfo)]
struct Args {
    /// ORed list of flags to unshare: MOUNT, PID, UTSNAME, IPC, USER, NETWORK (also CGROUP, TIME)
    #[argh(option, short = 's', long = "namespaces", arg_name = "FLAGS")]
    namespaces: Option<String>,
    /// new id to be set if -s USER is specified
    #[argh(option, short = 'u', long = "user", arg_name = "USERID")]
    user: Option<String>,
    /// set the hostname in the container
    #[argh(option, short = 'H', long = "hostname", arg_name = "HOSTNAME")]
    hostname: Option<String>,
    /// interface name to be moved into container (presumably with NETWORK unsharing set)
    #[argh(option, short = 'i', long = "ifname", arg_name = "IFNAME")]
    ifname: Vec<String>,
    /// daemonize (do not wait for container to exit)
    #[argh(switch, short = 'd', long = "daemon")]
    daemon: bool,
    /// remount default fs inside container (/proc /dev/shm /dev/mqueue)
    #[argh(switch, short = 'M', long = "remount")]
    remount: bool,
    /// the command to run
    #[argh(positional, greedy, arg_name = "COMMAND")]
    command: Vec<String>,
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    common::main(&SPEC, args, |_c, a: Args| {
        let namespaces = match &a.namespaces {
            Some(s) => unshare::parse_namespaces(s)?,
            None => Default::default(),
        };
        let uid = a.user.as_deref().map(unshare::lookup_user).transpose()?;
        Unshare {
            namespaces,
            uid,
            hostname: a.hostname,
            ifaces: a.ifname,
            daemon: a.daemon,
            remount: a.remount,
            command: a.command,
        }
        .run()
    })
}
