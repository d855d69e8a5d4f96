//! lxc-list (classic LXC 0.x): names grouped under RUNNING, FROZEN and
//! STOPPED headers, indented by two spaces, groups separated by a blank line.
//applet: lxc-list main list containers grouped by state (classic tool)

use argh::{ArgsInfo, FromArgs};
use lxcbox::listing::ls;
use lxcbox::monitor::State;

use crate::common::{self, Spec};

const SPEC: Spec = Spec::new("lxc-list").name_optional();

/// Which states a group shows.
type Pick = fn(State) -> bool;

/// lxc-list lists the containers grouped by state
#[derive(FromArgs, ArgsInfo)]
struct Args {}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    common::main(&SPEC, args, |c, _a: Args| {
        let entries = ls::collect(&c.lxcpath());
        let groups: [(&str, Pick); 3] = [
            ("RUNNING", |s| !matches!(s, State::Frozen | State::Stopped)),
            ("FROZEN", |s| s == State::Frozen),
            ("STOPPED", |s| s == State::Stopped),
        ];
        let mut out = String::new();
        for (i, (title, pick)) in groups.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(title);
            out.push('\n');
            for e in entries.iter().filter(|e| pick(e.state)) {
                out.push_str(&format!("  {}\n", e.name));
            }
        }
        print!("{out}");
        Ok(0)
    })
}
