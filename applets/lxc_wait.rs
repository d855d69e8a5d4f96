//! lxc-wait: wait for a container to reach one of the given states.
//applet: lxc-wait main wait for a container to reach a state

use std::time::Duration;

use argh::{ArgsInfo, FromArgs};
use lxcbox::lifecycle;
use lxcbox::monitor::State;

use crate::common::{self, Spec};

const SPEC: Spec = Spec::new("lxc-wait");

/// lxc-wait waits for NAME container state to reach STATE
#[derive(FromArgs, ArgsInfo)]
struct Args {
    /// states to wait for, separated by '|': STOPPED STARTING RUNNING STOPPING ABORTING FREEZING FROZEN THAWED
    #[argh(option, short = 's')]
    state: String,
    /// seconds to wait (default -1: forever)
    #[argh(option, short = 't', default = "-1")]
    timeout: i64,
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    common::main(&SPEC, args, |c, a: Args| {
        let name = c.name()?;
        let mut states = Vec::new();
        for s in a.state.split('|').filter(|s| !s.trim().is_empty()) {
            match State::parse(s) {
                Some(st) => states.push(st),
                None => anyhow::bail!("invalid state \"{s}\""),
            }
        }
        if states.is_empty() {
            anyhow::bail!("missing state, use --state option");
        }
        let timeout = (a.timeout >= 0).then(|| Duration::from_secs(a.timeout as u64));
        match lifecycle::wait_for(&c.lxcpath(), name, &states, timeout)? {
            Some(_) => Ok(0),
            None => Ok(1),
        }
    })
}
