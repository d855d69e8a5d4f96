//! lxc-cgroup: read or write a cgroup file of a running container.
//applet: lxc-cgroup main read or write a container's cgroup values

use argh::{ArgsInfo, FromArgs};

use crate::common::{self, Spec};

const SPEC: Spec = Spec::new("lxc-cgroup");

/// Get or set the value of a state object (for example, 'cpuset.cpus') in
/// the container's cgroup for the corresponding subsystem.
#[derive(FromArgs, ArgsInfo)]
struct Args {
    /// the state object (a cgroup file, e.g. cpuset.cpus, memory.max) and
    /// the value to write to it, if any
    #[argh(positional, greedy, arg_name = "state-object [value]")]
    operands: Vec<String>,
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    let (c, a) = match common::parse::<Args>(&SPEC, args) {
        Ok(v) => v,
        Err(code) => return code,
    };
    // LXC's checker: a usage error before anything runs.
    let (key, value) = match a.operands.as_slice() {
        [key] => (key.clone(), None),
        [key, value] => (key.clone(), Some(value.clone())),
        [] | [_, _, _, ..] => {
            if !c.quiet {
                let what = if a.operands.is_empty() {
                    "Missing state object"
                } else {
                    "Too many arguments: expected a state object and at most one value"
                };
                eprintln!("lxc-cgroup: {what}");
                eprintln!("lxc-cgroup: could not parse command line");
            }
            return 1;
        }
    };
    common::run(&c, || {
        let name = c.name()?;
        let Some(set) = lxcbox::lifecycle::cgroups(&c.lxcpath(), name)? else {
            anyhow::bail!("'{}:{name}' is not running", c.lxcpath());
        };
        match value {
            Some(v) => set.set(&key, &v)?,
            None => {
                // LXC prints the file as read plus a newline
                // (`printf("%*s\n", ...)`), so the kernel's own newline
                // leaves an empty line after the value (`get` drops it).
                let v = set.get(&key)?;
                if v.is_empty() {
                    println!();
                } else {
                    println!("{v}\n");
                }
            }
        }
        Ok(0)
    })
}
