//! lxc-priority (classic): show or set a container's CPU share
//! (cpu.shares on cgroup v1, cpu.weight on v2).
//applet: lxc-priority main show or set a container's CPU share (classic tool)

use argh::{ArgsInfo, FromArgs};
use lxcbox::cgroup::top::{priority_get, priority_set};

use crate::common::{self, Spec};

const SPEC: Spec = Spec::new("lxc-priority");

/// lxc-priority shows or sets the CPU priority (share) of container NAME
#[derive(FromArgs, ArgsInfo)]
struct Args {
    /// the new priority (classic form): cpu.shares 2..262144 on v1, cpu.weight 1..10000 on v2
    #[argh(option, short = 'p', arg_name = "PRIORITY")]
    priority: Option<u64>,
    /// the new priority, as an operand
    #[argh(positional)]
    value: Option<u64>,
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    common::main(&SPEC, args, |c, a: Args| {
        let name = c.name()?;
        let Some(set) = lxcbox::lifecycle::cgroups(&c.lxcpath(), name)? else {
            anyhow::bail!("{name} is not running");
        };
        if a.priority.is_some() && a.value.is_some() {
            anyhow::bail!("give the priority once: -p PRIORITY or PRIORITY");
        }
        match a.priority.or(a.value) {
            Some(v) => {
                let k = priority_set(&set, v)?;
                println!("{k} = {v}");
            }
            None => {
                let (k, v) = priority_get(&set)?;
                println!("{k} = {v}");
            }
        }
        Ok(0)
    })
}
