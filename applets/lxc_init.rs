//! lxc-init (also init.lxc, init.lxc.static): a minimal PID 1 that runs
//! COMMAND, forwards signals to it, reaps zombies and exits with its status.

use argh::FromArgs;

use crate::common;

/// Run COMMAND as the child of a minimal init: lxc-init [-n NAME] -- COMMAND
#[derive(FromArgs)]
struct Args {
    /// the command to run
    #[argh(positional, greedy)]
    command: Vec<String>,
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    let (c, a) = match common::parse::<Args>("lxc-init", "", args) {
        Ok(v) => v,
        Err(code) => return code,
    };
    common::run(&c, || lxcbox::init::run(&a.command))
}
