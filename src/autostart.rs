//! lxc-autostart: pick the containers marked for auto-start, in LXC's order
//! and group passes, and start, stop, kill or reboot them (or list them).
//!
//! Selection follows LXC's tools/lxc_autostart.c: every container defined
//! under the lxcpath with `lxc.start.auto = 1` (or, for the older guides, a
//! `/etc/lxc/auto/NAME.conf` link to its config), unless `-A`; then one pass
//! per requested group in the order given (default: only the NULL group,
//! i.e. containers without `lxc.group`), each container processed once, in
//! the pass of the first group it belongs to. `-a` drops the group filter.
//! Within a pass: by `lxc.start.order`, then by name; reversed for `-s`/`-k`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;

use crate::container::Container;
use crate::lifecycle::{self, StopOptions, Stopped};
use crate::monitor::{client, State};

/// Where the classic guides put their auto-start links (NAME.conf ->
/// LXCPATH/NAME/config), honoured as `lxc.start.auto = 1`.
pub const CLASSIC_AUTO_DIR: &str = "/etc/lxc/auto";

/// What to do with the selected containers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Start,
    /// `-s`: clean shutdown, killed after the timeout.
    Shutdown,
    /// `-k`
    Kill,
    /// `-r`
    Reboot,
}

/// The command line, as a library value.
#[derive(Debug, Clone)]
pub struct Options {
    pub action: Action,
    /// `-L`: print what would be done instead of doing it.
    pub list: bool,
    /// `-a`: ignore lxc.group.
    pub all: bool,
    /// `-A`: ignore lxc.start.auto.
    pub ignore_auto: bool,
    /// `-g`, accumulated: the group passes in order; "" is the NULL group.
    pub groups: Vec<String>,
    /// `-t`: seconds to wait for a shutdown (0: do not wait, -1: forever).
    pub timeout: i64,
    /// The classic links directory (tests point it elsewhere).
    pub classic_dir: PathBuf,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            action: Action::Start,
            list: false,
            all: false,
            ignore_auto: false,
            groups: Vec::new(),
            timeout: 60,
            classic_dir: PathBuf::from(CLASSIC_AUTO_DIR),
        }
    }
}

/// Adds one `-g` argument to the group list: comma-separated, an empty
/// field (leading, trailing or doubled comma, or an empty argument) is the
/// NULL group; a group already listed is skipped, as LXC does.
pub fn add_groups(list: &mut Vec<String>, arg: &str) {
    for g in arg.split(',') {
        if !list.iter().any(|x| x == g) {
            list.push(g.to_string());
        }
    }
}

/// One candidate container with the settings that drive the selection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub name: String,
    pub auto: bool,
    pub order: i32,
    pub delay: u32,
    pub groups: Vec<String>,
}

impl Candidate {
    fn in_group(&self, g: &str) -> bool {
        if g.is_empty() {
            self.groups.is_empty()
        } else {
            self.groups.iter().any(|x| x == g)
        }
    }
}

/// True when `dir/NAME.conf` resolves to the container's own config file.
fn classic_link(dir: &Path, lxcpath: &str, name: &str) -> bool {
    let link = dir.join(format!("{name}.conf"));
    let Ok(target) = std::fs::canonicalize(&link) else {
        return false;
    };
    let own = std::fs::canonicalize(Path::new(lxcpath).join(name).join("config"));
    if own.as_deref().ok() == Some(target.as_path()) {
        return true;
    }
    log::warn!(
        "{} does not point to {lxcpath}/{name}/config: not used for auto-start",
        link.display()
    );
    false
}

/// Loads every container defined under `lxcpath`. A container whose config
/// does not parse is reported and left out, so one broken container does
/// not keep the others from booting.
pub fn candidates(lxcpath: &str, classic_dir: &Path) -> Vec<Candidate> {
    let mut out = Vec::new();
    for name in crate::listing::defined_names(lxcpath) {
        match Container::load(lxcpath, &name, None) {
            Ok(c) => out.push(Candidate {
                auto: c.config.start_auto || classic_link(classic_dir, lxcpath, &name),
                order: c.config.start_order,
                delay: c.config.start_delay,
                groups: c.config.groups.clone(),
                name,
            }),
            Err(e) => log::error!("{name}: {e:#}"),
        }
    }
    out
}

/// The containers to process, in processing order.
pub fn select(mut all: Vec<Candidate>, o: &Options) -> Vec<Candidate> {
    all.sort_by(|a, b| a.order.cmp(&b.order).then_with(|| a.name.cmp(&b.name)));
    if matches!(o.action, Action::Shutdown | Action::Kill) {
        all.reverse();
    }
    all.retain(|c| o.ignore_auto || c.auto);
    if o.all {
        return all;
    }
    let default = [String::new()];
    let passes: &[String] = if o.groups.is_empty() {
        &default
    } else {
        &o.groups
    };
    let mut out = Vec::new();
    for g in passes {
        let (take, keep): (Vec<_>, Vec<_>) = all.into_iter().partition(|c| c.in_group(g));
        out.extend(take);
        all = keep;
    }
    out
}

/// What a run did: LXC's exit status follows from it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub attempted: usize,
    pub failed: usize,
}

impl Outcome {
    /// 0: no failure; 1: every attempted container failed; 2: some did.
    pub fn exit_code(&self) -> i32 {
        match self.failed {
            0 => 0,
            f if f == self.attempted => 1,
            _ => 2,
        }
    }
}

/// How the caller starts one container (the applet builds the StartSpec,
/// with its log settings); returns Err with the start's error.
pub type Starter<'a> = dyn FnMut(&str) -> Result<()> + 'a;

fn is_running(lxcpath: &str, name: &str) -> bool {
    !matches!(client::state(lxcpath, name), Ok(State::Stopped) | Err(_))
}

/// Runs `o.action` over the selection, printing list lines to `out`.
pub fn run(
    lxcpath: &str,
    o: &Options,
    start: &mut Starter<'_>,
    out: &mut dyn std::io::Write,
) -> Result<Outcome> {
    if o.all && !o.groups.is_empty() {
        log::error!(
            "Specifying -a (all) with -g (groups) doesn't make sense. All option overrides"
        );
    }
    let mut res = Outcome::default();
    for c in select(candidates(lxcpath, &o.classic_dir), o) {
        res.attempted += 1;
        let running = is_running(lxcpath, &c.name);
        let wanted = if o.action == Action::Start {
            !running
        } else {
            running
        };
        if !wanted {
            continue;
        }
        if o.list {
            match o.action {
                Action::Start | Action::Reboot => writeln!(out, "{} {}", c.name, c.delay)?,
                Action::Shutdown | Action::Kill => writeln!(out, "{}", c.name)?,
            }
            out.flush()?;
            continue;
        }
        let (verb, r) = match o.action {
            Action::Start => ("starting", start(&c.name)),
            Action::Shutdown => ("shutting down", shutdown(lxcpath, &c.name, o.timeout)),
            Action::Kill => ("killing", kill(lxcpath, &c.name)),
            Action::Reboot => (
                "rebooting",
                lifecycle::reboot(lxcpath, &c.name, None, true).map(|_| ()),
            ),
        };
        match r {
            Ok(()) => {
                if matches!(o.action, Action::Start | Action::Reboot) && c.delay > 0 {
                    std::thread::sleep(Duration::from_secs(c.delay.into()));
                }
            }
            Err(e) => {
                res.failed += 1;
                log::error!("{}: {e:#}", c.name);
                log::error!("Error {verb} container: {}", c.name);
            }
        }
    }
    Ok(res)
}

/// LXC's shutdown(timeout) and, when it times out, stop(): the halt
/// signal, a wait of `timeout` seconds (0: none, negative: forever), then
/// SIGKILL.
fn shutdown(lxcpath: &str, name: &str, timeout: i64) -> Result<()> {
    let o = StopOptions {
        kill: false,
        timeout: (timeout >= 0).then(|| Duration::from_secs(timeout as u64)),
        nowait: timeout == 0,
        nokill: false,
    };
    match lifecycle::stop(lxcpath, name, o)? {
        Stopped::Done | Stopped::NotRunning => Ok(()),
        Stopped::TimedOut => anyhow::bail!("timed out waiting for the container to stop"),
    }
}

fn kill(lxcpath: &str, name: &str) -> Result<()> {
    let o = StopOptions {
        kill: true,
        timeout: None,
        nowait: false,
        nokill: false,
    };
    lifecycle::stop(lxcpath, name, o).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(name: &str, auto: bool, order: i32, groups: &[&str]) -> Candidate {
        Candidate {
            name: name.into(),
            auto,
            order,
            delay: 0,
            groups: groups.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn names(v: &[Candidate]) -> Vec<&str> {
        v.iter().map(|c| c.name.as_str()).collect()
    }

    fn set() -> Vec<Candidate> {
        vec![
            cand("a", true, 5, &[]),
            cand("b", true, 0, &[]),
            cand("c", true, 0, &["web"]),
            cand("d", true, -3, &["onboot", "web"]),
            cand("e", false, 0, &[]),
        ]
    }

    #[test]
    fn groups_accumulate_with_null_and_no_duplicates() {
        let mut g = Vec::new();
        add_groups(&mut g, "dns,web,,onboot");
        add_groups(&mut g, "web,");
        assert_eq!(g, ["dns", "web", "", "onboot"]);
        let mut g = Vec::new();
        add_groups(&mut g, "");
        assert_eq!(g, [""]);
    }

    #[test]
    fn default_selection_is_the_null_group_by_order_then_name() {
        let o = Options::default();
        assert_eq!(names(&select(set(), &o)), ["b", "a"]);
    }

    #[test]
    fn group_passes_in_command_line_order() {
        // As observed with LXC 5.0.2: -g web,onboot, gives d c b a.
        let mut o = Options::default();
        add_groups(&mut o.groups, "web,onboot,");
        assert_eq!(names(&select(set(), &o)), ["d", "c", "b", "a"]);
        let mut o = Options::default();
        add_groups(&mut o.groups, "onboot");
        assert_eq!(names(&select(set(), &o)), ["d"]);
    }

    #[test]
    fn all_and_ignore_auto() {
        let o = Options {
            all: true,
            ..Options::default()
        };
        assert_eq!(names(&select(set(), &o)), ["d", "b", "c", "a"]);
        let o = Options {
            all: true,
            ignore_auto: true,
            ..Options::default()
        };
        assert_eq!(names(&select(set(), &o)), ["d", "b", "c", "e", "a"]);
    }

    #[test]
    fn stop_and_kill_go_in_reverse() {
        let o = Options {
            action: Action::Shutdown,
            all: true,
            ..Options::default()
        };
        assert_eq!(names(&select(set(), &o)), ["a", "c", "b", "d"]);
    }

    #[test]
    fn exit_codes() {
        let o = |attempted, failed| Outcome { attempted, failed }.exit_code();
        assert_eq!(o(0, 0), 0);
        assert_eq!(o(3, 0), 0);
        assert_eq!(o(3, 3), 1);
        assert_eq!(o(3, 1), 2);
    }
}
