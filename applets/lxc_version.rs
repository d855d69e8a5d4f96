//! lxc-version (classic): print the LXC version lxcbox is compatible with.
//applet: lxc-version main print the version (classic tool)

use argh::{ArgsInfo, FromArgs};

use crate::common::{self, Spec};

const SPEC: Spec = Spec::new("lxc-version").name_optional();

/// lxc-version prints the version of LXC this lxcbox behaves as
#[derive(FromArgs, ArgsInfo)]
struct Args {}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    common::main(&SPEC, args, |_c, _a: Args| {
        println!("lxc version: {}", lxcbox::LXC_COMPAT_VERSION);
        Ok(0)
    })
}
