//! lxc-shutdown (classic): ask init to halt, wait, then kill after -t.
//applet: lxc-shutdown main shut a container down gracefully (classic tool)

use std::time::Duration;

use argh::{ArgsInfo, FromArgs};
use lxcbox::lifecycle::{self, StopOptions, Stopped};

use crate::common::{self, Spec};

const SPEC: Spec = Spec::new("lxc-shutdown");

/// lxc-shutdown asks the init of container NAME to halt (or reboot) and waits
#[derive(FromArgs, ArgsInfo)]
struct Args {
    /// seconds to wait before killing (default 60, -1 forever)
    #[argh(option, short = 't', default = "60")]
    timeout: i64,
    /// wait for the shutdown (the default; kept for compatibility)
    #[argh(switch, short = 'w')]
    _wait: bool,
    /// reboot instead of halting
    #[argh(switch, short = 'r')]
    reboot: bool,
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    common::main(&SPEC, args, |c, a: Args| {
        let name = c.name()?;
        let timeout = (a.timeout >= 0).then(|| Duration::from_secs(a.timeout as u64));
        let r = if a.reboot {
            lifecycle::reboot(&c.lxcpath(), name, timeout, false)?
        } else {
            lifecycle::stop(
                &c.lxcpath(),
                name,
                StopOptions {
                    kill: false,
                    timeout,
                    nowait: false,
                    nokill: false,
                },
            )?
        };
        match r {
            Stopped::NotRunning => anyhow::bail!("{name} is not running"),
            Stopped::TimedOut => anyhow::bail!("timed out"),
            Stopped::Done => Ok(0),
        }
    })
}
