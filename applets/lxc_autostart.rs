//! lxc-autostart: start, shut down, kill or reboot the auto-started
//! containers in order, or list them (-L).
//! Exit: 0 no failure, 1 every selected container failed, 2 some did.
//applet: lxc-autostart main start, stop, kill or reboot the auto-started containers

use argh::{ArgsInfo, FromArgs};
use lxcbox::autostart::{self, Action, Options};
use lxcbox::container::Container;
use lxcbox::start::{self, AlreadyRunning, StartSpec};

use crate::common::{self, Common, Spec};

const SPEC: Spec = Spec::new("lxc-autostart")
    .name_optional()
    .warnings_on_stderr();

/// lxc-autostart managed auto-started containers
#[derive(FromArgs, ArgsInfo)]
struct Args {
    /// kill the containers instead of starting them
    #[argh(switch, short = 'k')]
    kill: bool,
    /// list all affected containers and wait delay
    #[argh(switch, short = 'L')]
    list: bool,
    /// reboot the containers instead of starting them
    #[argh(switch, short = 'r')]
    reboot: bool,
    /// shutdown the containers instead of starting them
    #[argh(switch, short = 's')]
    shutdown: bool,
    /// list all auto-started containers (ignore groups)
    #[argh(switch, short = 'a')]
    all: bool,
    /// ignore lxc.start.auto and select all matching containers
    #[argh(switch, short = 'A', long = "ignore-auto")]
    ignore_auto: bool,
    /// list of groups (comma separated) to select
    #[argh(option, short = 'g', arg_name = "GROUPS")]
    groups: Vec<String>,
    /// wait T seconds before hard-stopping
    #[argh(option, short = 't', default = "60", arg_name = "T")]
    timeout: i64,
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    let (c, a) = match common::parse::<Args>(&SPEC, args) {
        Ok(v) => v,
        Err(code) => return code,
    };
    common::run(&c, || {
        let mut o = Options {
            action: if a.shutdown {
                Action::Shutdown
            } else if a.kill {
                Action::Kill
            } else if a.reboot {
                Action::Reboot
            } else {
                Action::Start
            },
            list: a.list,
            all: a.all,
            ignore_auto: a.ignore_auto,
            timeout: a.timeout,
            ..Options::default()
        };
        for g in &a.groups {
            autostart::add_groups(&mut o.groups, g);
        }
        let lxcpath = c.lxcpath();
        let mut starter = |name: &str| start_one(&c, &lxcpath, name);
        let out = autostart::run(&lxcpath, &o, &mut starter, &mut std::io::stdout().lock())?;
        Ok(out.exit_code())
    })
}

/// Starts one container daemonised, as `lxc-start -n NAME -d` would; its
/// lxc.log.file / lxc.log.level apply during its start only.
fn start_one(c: &Common, lxcpath: &str, name: &str) -> anyhow::Result<()> {
    let ct = Container::load(lxcpath, name, None)?;
    let setup = c.log_setup();
    lxcbox::log::apply_config(
        &setup,
        ct.config.log_file.as_deref(),
        ct.config.log_level.as_deref(),
    )?;
    let r = start::start(StartSpec {
        container: ct,
        command: Vec::new(),
        execute: false,
        share: Vec::new(),
        uid: None,
        gid: None,
        daemon: true,
        foreground: false,
        pidfile: None,
    });
    lxcbox::log::init(c.applet, None, &setup)?;
    match r {
        Err(e) if e.is::<AlreadyRunning>() => Ok(()),
        r => r.map(|_| ()),
    }
}
