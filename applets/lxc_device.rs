//! lxc-device: add a host network interface to a running container, or
//! give one back (lxc-device -n NAME add|del IFACE [NEWNAME]).

use argh::FromArgs;
use lxcbox::monitor::client;

use crate::common;

/// Manage devices of running container NAME: lxc-device -n NAME add|del DEV [NEWNAME]
#[derive(FromArgs)]
struct Args {
    /// add or del
    #[argh(positional)]
    action: String,
    /// the network interface (host side for add, container side for del)
    #[argh(positional)]
    dev: String,
    /// its name on the other side (default: the same name)
    #[argh(positional)]
    newname: Option<String>,
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    let (c, a) = match common::parse::<Args>("lxc-device", "", args) {
        Ok(v) => v,
        Err(code) => return code,
    };
    common::run(&c, || {
        let name = c.name()?;
        if !rustix::process::geteuid().is_root() {
            anyhow::bail!("lxc-device must be run as root");
        }
        let add = match a.action.as_str() {
            "add" => true,
            "del" => false,
            other => anyhow::bail!("invalid action \"{other}\" (add or del)"),
        };
        if a.dev.starts_with('/') {
            anyhow::bail!(
                "\"{}\": only network interfaces are supported, not device nodes",
                a.dev
            );
        }
        let lxcpath = c.lxcpath();
        let pid = client::init_pid(&lxcpath, name)?;
        let Some(pid) = pid else {
            anyhow::bail!("{name} not running");
        };
        let newname = a.newname.as_deref();
        if add {
            lxcbox::net::move_into(pid, &a.dev, newname)?;
        } else {
            lxcbox::net::move_out(pid, &a.dev, newname)?;
        }
        Ok(0)
    })
}
