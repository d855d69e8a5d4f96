//! lxc-destroy: remove a container's directory and rootfs.

use argh::FromArgs;

use crate::common;

/// Destroy container NAME: lxc-destroy -n NAME [-f]
#[derive(FromArgs)]
struct Args {
    /// kill the container first if it is running
    #[argh(switch, short = 'f', long = "force")]
    force: bool,
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    let (c, a) = match common::parse::<Args>("lxc-destroy", "", args) {
        Ok(v) => v,
        Err(code) => return code,
    };
    common::run(&c, || {
        lxcbox::create::destroy(&c.lxcpath(), c.name()?, a.force)?;
        Ok(0)
    })
}
