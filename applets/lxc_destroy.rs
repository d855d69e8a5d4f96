//! lxc-destroy: remove a container (and with -s its snapshots).
//applet: lxc-destroy main destroy a container

use std::path::PathBuf;

use argh::{ArgsInfo, FromArgs};
use lxcbox::store::destroy::{self, DestroyOptions};

use crate::common::{self, Spec};

const SPEC: Spec = Spec::new("lxc-destroy");

/// lxc-destroy destroys a container with the identifier NAME
#[derive(FromArgs, ArgsInfo)]
struct Args {
    /// stop and destroy the container if it's still running
    #[argh(switch, short = 'f', long = "force")]
    force: bool,
    /// destroy including all snapshots (and the clones recorded in lxc_snapshots)
    #[argh(switch, short = 's', long = "snapshots")]
    snapshots: bool,
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    common::main(&SPEC, args, |c, a: Args| {
        let opts = DestroyOptions {
            force: a.force,
            snapshots: a.snapshots,
            rcfile: c.rcfile.as_ref().map(PathBuf::from),
        };
        destroy::destroy(&c.lxcpath(), c.name()?, &opts)?;
        Ok(0)
    })
}
