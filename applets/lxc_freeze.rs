//! lxc-freeze and lxc-unfreeze: freeze or thaw every process of a container.
//applet: lxc-freeze main freeze all the processes of a container
//applet: lxc-unfreeze unfreeze thaw all the processes of a container

use argh::{ArgsInfo, FromArgs};

use crate::common::{self, Spec};

/// lxc-freeze freezes (lxc-unfreeze unfreezes) a container with the identifier NAME
#[derive(FromArgs, ArgsInfo)]
struct Args {}

fn run(spec: &Spec, freeze: bool, args: Vec<std::ffi::OsString>) -> i32 {
    common::main(spec, args, |c, _a: Args| {
        let name = c.name()?;
        let lxcpath = c.lxcpath();
        if !lxcbox::lifecycle::set_frozen(&lxcpath, name, freeze)? {
            // As LXC: thawing a stopped (but defined) container succeeds,
            // there is nothing frozen; freezing it fails.
            let defined = lxcbox::container::Container::is_defined(&lxcpath, name);
            if !freeze && (defined || c.rcfile.is_some()) {
                return Ok(0);
            }
            let what = if freeze { "freeze" } else { "unfreeze" };
            anyhow::bail!("Failed to {what} {lxcpath}:{name}");
        }
        Ok(0)
    })
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    run(&Spec::new("lxc-freeze"), true, args)
}

pub fn unfreeze(args: Vec<std::ffi::OsString>) -> i32 {
    run(&Spec::new("lxc-unfreeze"), false, args)
}
