//! lxc-destroy: remove a container (and with -s its snapshots).

use std::path::PathBuf;

use argh::FromArgs;
use lxcbox::store::destroy::{self, DestroyOptions};

use crate::common;

/// Destroy container NAME: lxc-destroy -n NAME [-f] [-s]
#[derive(FromArgs)]
struct Args {
    /// kill the container first if it is running
    #[argh(switch, short = 'f', long = "force")]
    force: bool,
    /// destroy including all snapshots (and the clones that depend on it)
    #[argh(switch, short = 's', long = "snapshots")]
    snapshots: bool,
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    let (c, a) = match common::parse::<Args>("lxc-destroy", "", args) {
        Ok(v) => v,
        Err(code) => return code,
    };
    common::run(&c, || {
        let opts = DestroyOptions {
            force: a.force,
            snapshots: a.snapshots,
            rcfile: c.rcfile.as_ref().map(PathBuf::from),
        };
        destroy::destroy(&c.lxcpath(), c.name()?, &opts)?;
        Ok(0)
    })
}
