//! lxc-monitor: print the state changes of the containers whose names match
//! a regular expression, as they happen.
//applet: lxc-monitor main monitor the state of containers

use argh::{ArgsInfo, FromArgs};
use lxcbox::monitor::events::{Event, Subscription};
use rustix::event::{poll, PollFd, PollFlags};

use crate::common::{self, Spec};

const SPEC: Spec = Spec::new("lxc-monitor").name_optional().many_lxcpaths();

/// lxc-monitor monitors the state of the NAME container (NAME may be a regular expression)
#[derive(FromArgs, ArgsInfo)]
struct Args {
    /// ask the monitor daemon to quit (lxcbox has none: a no-op)
    #[argh(switch, short = 'Q', long = "quit")]
    quit: bool,
    /// print one JSON object per event
    #[argh(switch)]
    json: bool,
}

fn line(ev: &Event) -> Option<String> {
    if let Some(st) = ev.state {
        return Some(format!("'{}' changed state to [{}]", ev.name, st));
    }
    ev.exit_status
        .map(|s| format!("'{}' exited with status [{}]", ev.name, s))
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    common::main(&SPEC, args, |c, a: Args| {
        if a.quit {
            return Ok(0);
        }
        let pattern = c.name.clone().unwrap_or_else(|| ".*".into());
        let re = regex_lite::Regex::new(&format!("^(?:{pattern})$"))
            .map_err(|e| anyhow::anyhow!("invalid regular expression \"{pattern}\": {e}"))?;
        let paths = c.all_lxcpaths();
        let subs = paths
            .iter()
            .map(|p| Subscription::new(p))
            .collect::<anyhow::Result<Vec<_>>>()?;
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        loop {
            let mut fds: Vec<PollFd> = subs
                .iter()
                .map(|s| PollFd::from_borrowed_fd(s.fd(), PollFlags::IN))
                .collect();
            match poll(&mut fds, None) {
                Ok(_) | Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
            let ready: Vec<bool> = fds.iter().map(|f| !f.revents().is_empty()).collect();
            drop(fds);
            for (s, r) in subs.iter().zip(ready) {
                if !r {
                    continue;
                }
                while let Some(ev) = s.try_recv()? {
                    if !re.is_match(&ev.name) {
                        continue;
                    }
                    let text = if a.json {
                        Some(serde_json::to_string(&ev)?)
                    } else {
                        line(&ev)
                    };
                    if let Some(t) = text {
                        if writeln!(out, "{t}").and_then(|_| out.flush()).is_err() {
                            return Ok(0); // reader went away
                        }
                    }
                }
            }
        }
    })
}
