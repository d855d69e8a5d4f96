//! lxc-cgroup: read or write a cgroup file of a running container.

use argh::FromArgs;

use crate::common;

/// Get or set a cgroup value of container NAME: lxc-cgroup -n NAME KEY [VALUE]
#[derive(FromArgs)]
struct Args {
    /// the cgroup file, e.g. cpuset.cpus, memory.limit_in_bytes, memory.max
    #[argh(positional)]
    key: String,
    /// the value to write
    #[argh(positional)]
    value: Option<String>,
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    let (c, a) = match common::parse::<Args>("lxc-cgroup", "", args) {
        Ok(v) => v,
        Err(code) => return code,
    };
    common::run(&c, || {
        let name = c.name()?;
        let Some(set) = lxcbox::lifecycle::cgroups(&c.lxcpath(), name)? else {
            anyhow::bail!("'{}:{name}' is not running", c.lxcpath());
        };
        match a.value {
            Some(v) => set.set(&a.key, &v)?,
            None => {
                let v = set.get(&a.key)?;
                print!("{v}");
                if !v.ends_with('\n') {
                    println!();
                }
            }
        }
        Ok(0)
    })
}
