//! lxc-kill (classic): send a signal to the container's init.
//applet: lxc-kill main send a signal to a container's init (classic tool)

use argh::{ArgsInfo, FromArgs};

use crate::common::{self, Spec};

const SPEC: Spec = Spec::new("lxc-kill");

/// lxc-kill sends the signal SIGNUM (default SIGKILL) to the init of container NAME
#[derive(FromArgs, ArgsInfo)]
struct Args {
    /// the signal (name or number; default SIGKILL)
    #[argh(option, short = 's')]
    signal: Option<String>,
    /// the signal, classic positional form
    #[argh(positional)]
    signum: Option<String>,
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    common::main(&SPEC, args, |c, a: Args| {
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
