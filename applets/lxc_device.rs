//! lxc-device: add a host network interface to a running container, or
//! give one back (lxc-device -n NAME add|del IFACE [NEWNAME]).
//applet: lxc-device main add or remove network interfaces of a running container

use argh::{ArgsInfo, FromArgs};
use lxcbox::monitor::client;

use crate::common::{self, Spec};

const SPEC: Spec = Spec::new("lxc-device");

/// lxc-device attach or detach DEV to or from container.
#[derive(FromArgs, ArgsInfo)]
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
    common::main(&SPEC, args, |c, a: Args| {
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
