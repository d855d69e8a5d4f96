//! lxc-stop: stop a container gracefully (lxc.signal.halt, then kill after
//! the timeout), at once (-k), or reboot it (-r).
//! Exit: 0 stopped, 1 failure, 2 not running.
//applet: lxc-stop main stop a container

use std::time::Duration;

use argh::{ArgsInfo, FromArgs};
use lxcbox::lifecycle::{self, StopOptions, Stopped};

use crate::common::{self, Spec};

const SPEC: Spec = Spec::new("lxc-stop");

/// lxc-stop stops a container with the identifier NAME
#[derive(FromArgs, ArgsInfo)]
struct Args {
    /// reboot the container
    #[argh(switch, short = 'r')]
    reboot: bool,
    /// don't wait for shutdown or reboot to complete
    #[argh(switch, short = 'W')]
    nowait: bool,
    /// wait T seconds before hard-stopping (default 60, -1 forever)
    #[argh(option, short = 't', default = "60", arg_name = "T")]
    timeout: i64,
    /// kill container rather than request clean shutdown
    #[argh(switch, short = 'k')]
    kill: bool,
    /// only request clean shutdown, don't force kill after timeout
    #[argh(switch)]
    nokill: bool,
    /// avoid using API locks (lxcbox's stop takes no lock)
    #[argh(switch)]
    nolock: bool,
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    common::main(&SPEC, args, |c, a: Args| {
        // As LXC: -n "" is a name (of a container that is not running);
        // only a missing -n is an error.
        let name = match c.name.as_deref() {
            Some(n) => n,
            None => c.name()?,
        };
        if a.kill && a.nokill {
            anyhow::bail!("-k and --nokill are mutually exclusive");
        }
        if a.reboot && a.kill {
            anyhow::bail!("-r and -k are mutually exclusive");
        }
        let _ = a.nolock; // lxcbox's stop never takes the start lock
        let timeout = (a.timeout >= 0).then(|| Duration::from_secs(a.timeout as u64));
        let lxcpath = c.lxcpath();
        lxcbox::container::check_handle(&lxcpath, name)?;
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
