//! lxc-version (classic): print the LXC version lxcbox is compatible with.

use argh::FromArgs;

use crate::common;

/// Print the version of LXC this lxcbox behaves as.
#[derive(FromArgs)]
struct Args {}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    let (c, _a) = match common::parse::<Args>("lxc-version", "", args) {
        Ok(v) => v,
        Err(code) => return code,
    };
    common::run(&c, || {
        println!("lxc version: {}", lxcbox::LXC_COMPAT_VERSION);
        Ok(0)
    })
}
