//! lxc-init (also init.lxc, init.lxc.static): a minimal PID 1 that runs
//! COMMAND, forwards signals to it, reaps zombies and exits with its status.
//applet: init.lxc main minimal init for application containers (alias of lxc-init)
//applet: init.lxc.static main minimal init for application containers (alias of lxc-init)
//applet: lxc-init main minimal init for application containers

use argh::{ArgsInfo, FromArgs};

use crate::common::{self, Spec};

const SPEC: Spec = Spec::new("lxc-init").name_optional();

/// lxc-init runs COMMAND as the child of a minimal init
#[derive(FromArgs, ArgsInfo)]
struct Args {
    /// the command to run
    #[argh(positional, greedy, arg_name = "COMMAND")]
    command: Vec<String>,
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    common::main(&SPEC, args, |_c, a: Args| lxcbox::init::run(&a.command))
}
