//! lxc-kill (classic): send a signal to the container's init.

use argh::FromArgs;

use crate::common;

/// Send a signal to the init of container NAME: lxc-kill -n NAME [-s SIGNAL | SIGNAL]
#[derive(FromArgs)]
struct Args {
    /// the signal (name or number; default SIGKILL)
    #[argh(option, short = 's')]
    signal: Option<String>,
    /// the signal, classic positional form
    #[argh(positional)]
    signum: Option<String>,
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    let (c, a) = match common::parse::<Args>("lxc-kill", "s", args) {
        Ok(v) => v,
        Err(code) => return code,
    };
    common::run(&c, || {
        let name = c.name()?;
        let sig = match a.signal.or(a.signum) {
            Some(s) => lxcbox::config::parse_signal(&s)?,
            None => libc::SIGKILL,
        };
        if !lxcbox::lifecycle::signal(&c.lxcpath(), name, sig)? {
            anyhow::bail!("{name} is not running");
        }
        Ok(0)
    })
}
