//! Shared by lxc-start and lxc-execute: load the container, apply -s, run.

use std::path::Path;

use lxcbox::container::Container;
use lxcbox::namespace::Namespace;
use lxcbox::start::{self, AlreadyRunning, StartSpec};

use crate::common::Common;

/// --share-net/ipc/uts/pid values, as (namespace, target).
pub fn shares(
    net: &Option<String>,
    ipc: &Option<String>,
    uts: &Option<String>,
    pid: &Option<String>,
) -> Vec<(Namespace, String)> {
    [
        (Namespace::Net, net),
        (Namespace::Ipc, ipc),
        (Namespace::Uts, uts),
        (Namespace::Pid, pid),
    ]
    .into_iter()
    .filter_map(|(n, v)| v.as_ref().map(|v| (n, v.clone())))
    .collect()
}

pub struct Launch<'a> {
    pub rcfile: Option<&'a str>,
    pub defines: &'a [String],
    pub command: Vec<String>,
    pub execute: bool,
    pub daemon: bool,
    pub share: Vec<(Namespace, String)>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub pidfile: Option<String>,
}

pub fn run(c: &Common, l: Launch<'_>) -> anyhow::Result<i32> {
    let name = c.name()?;
    let rc = l.rcfile.or(c.rcfile.as_deref()).map(Path::new);
    lxcbox::container::check_handle(&c.lxcpath(), name)?;
    let mut ct = Container::load(&c.lxcpath(), name, rc)?;
    if l.execute && ct.config_path.is_none() {
        // LXC 5.0.2's words: without LXCPATH/NAME/config or -f there is no
        // configuration, and the application would run on the host's root.
        anyhow::bail!("Executing a container with no configuration file may crash the host");
    }
    ct.define(l.defines)?;
    lxcbox::log::apply_config(
        &c.log_setup(),
        ct.config.log_file.as_deref(),
        ct.config.log_level.as_deref(),
    )?;
    let spec = StartSpec {
        container: ct,
        command: l.command,
        execute: l.execute,
        share: l.share,
        uid: l.uid,
        gid: l.gid,
        daemon: l.daemon,
        foreground: !l.daemon && !l.execute,
        pidfile: l.pidfile.map(Into::into),
    };
    let execute = l.execute;
    match start::start(spec) {
        // lxc-execute exits with the application's status; lxc-start, as
        // LXC 5's, with 0 once the container ran, whatever init returned.
        Ok(code) if execute => Ok(code),
        Ok(_) => Ok(0),
        // As LXC: lxc-start reports a running container and succeeds;
        // lxc-execute cannot run its application there and fails.
        Err(e) if e.is::<AlreadyRunning>() && execute => {
            anyhow::bail!("Container \"{name}\" appears to be already running")
        }
        Err(e) if e.is::<AlreadyRunning>() => {
            if !c.quiet {
                eprintln!("{}: {name}: {e}", c.applet);
            }
            Ok(0)
        }
        Err(e) => Err(e),
    }
}
