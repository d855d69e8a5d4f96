//! lxc-freeze and lxc-unfreeze: freeze or thaw every process of a container.

use argh::FromArgs;

use crate::common;

/// Freeze (or, as lxc-unfreeze, thaw) all the processes of container NAME
#[derive(FromArgs)]
struct Args {}

fn run(applet: &'static str, freeze: bool, args: Vec<std::ffi::OsString>) -> i32 {
    let (c, _a) = match common::parse::<Args>(applet, "", args) {
        Ok(v) => v,
        Err(code) => return code,
    };
    common::run(&c, || {
        let name = c.name()?;
        if !lxcbox::lifecycle::set_frozen(&c.lxcpath(), name, freeze)? {
            // LXC's wording for a container that is not running.
            let what = if freeze { "freeze" } else { "unfreeze" };
            anyhow::bail!("Failed to {what} {}:{name}", c.lxcpath());
        }
        Ok(0)
    })
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    run("lxc-freeze", true, args)
}

pub fn unfreeze(args: Vec<std::ffi::OsString>) -> i32 {
    run("lxc-unfreeze", false, args)
}
