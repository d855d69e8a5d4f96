//! lxc-priority (classic): show or set a container's CPU share
//! (cpu.shares on cgroup v1, cpu.weight on v2).

use argh::FromArgs;
use lxcbox::cgroup::top::{priority_get, priority_set};

use crate::common;

/// Show or set the CPU priority of container NAME: lxc-priority -n NAME [VALUE]
#[derive(FromArgs)]
struct Args {
    /// the new share (cpu.shares 2..262144 on v1, cpu.weight 1..10000 on v2)
    #[argh(positional)]
    value: Option<u64>,
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    let (c, a) = match common::parse::<Args>("lxc-priority", "", args) {
        Ok(v) => v,
        Err(code) => return code,
    };
    common::run(&c, || {
        let name = c.name()?;
        let Some(set) = lxcbox::lifecycle::cgroups(&c.lxcpath(), name)? else {
            anyhow::bail!("{name} is not running");
        };
        match a.value {
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
