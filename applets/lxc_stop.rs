//! lxc-stop: stop a container gracefully (lxc.signal.halt, then kill after
//! the timeout), at once (-k), or reboot it (-r).
//! Exit: 0 stopped, 1 failure, 2 not running.

use std::time::Duration;

use argh::FromArgs;
use lxcbox::lifecycle::{self, StopOptions, Stopped};

use crate::common;

/// Stop container NAME: lxc-stop -n NAME [-k | -r] [-t TIMEOUT] [-W] [--nokill]
#[derive(FromArgs)]
struct Args {
    /// reboot the container
    #[argh(switch, short = 'r')]
    reboot: bool,
    /// don't wait for the container to stop/reboot
    #[argh(switch, short = 'W')]
    nowait: bool,
    /// wait TIMEOUT seconds for a graceful stop (default 60, -1 forever)
    #[argh(option, short = 't', default = "60")]
    timeout: i64,
    /// kill the container instead of a graceful stop
    #[argh(switch, short = 'k')]
    kill: bool,
    /// only request a graceful stop, never kill
    #[argh(switch)]
    nokill: bool,
    /// ignore the container's lock
    #[argh(switch)]
    nolock: bool,
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    let (c, a) = match common::parse::<Args>("lxc-stop", "t", args) {
        Ok(v) => v,
        Err(code) => return code,
    };
    common::run(&c, || {
        let name = c.name()?;
        if a.kill && a.nokill {
            anyhow::bail!("-k and --nokill are mutually exclusive");
        }
        if a.reboot && a.kill {
            anyhow::bail!("-r and -k are mutually exclusive");
        }
        let _ = a.nolock; // lxcbox's stop never takes the start lock
        let timeout = (a.timeout >= 0).then(|| Duration::from_secs(a.timeout as u64));
        let lxcpath = c.lxcpath();
        let r = if a.reboot {
            lifecycle::reboot(&lxcpath, name, timeout, a.nowait)?
        } else {
            lifecycle::stop(
                &lxcpath,
                name,
                StopOptions {
                    kill: a.kill,
                    timeout,
                    nowait: a.nowait,
                    nokill: a.nokill,
                },
            )?
        };
        Ok(match r {
            Stopped::Done => 0,
            Stopped::NotRunning => {
                if !c.quiet {
                    eprintln!("lxc-stop: {name}: {name} is not running");
                }
                2
            }
            Stopped::TimedOut => {
                if !c.quiet {
                    eprintln!("lxc-stop: {name}: timed out waiting for the container to stop");
                }
                1
            }
        })
    })
}
