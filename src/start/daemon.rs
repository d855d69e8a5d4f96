//! Daemonising lxc-start/lxc-execute: the caller forks; the child becomes
//! the monitor in its own session with stdio on /dev/null, and tells the
//! waiting parent over a pipe whether the container reached RUNNING.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;

use anyhow::{Context, Result};

use crate::sys::process;

/// The child's way to tell the parent how the start went.
pub struct Notifier {
    w: Option<std::fs::File>,
}

impl Notifier {
    pub fn ok(&mut self) {
        if let Some(mut w) = self.w.take() {
            let _ = w.write_all(b"OK");
        }
    }

    pub fn fail(&mut self, msg: &str) {
        if let Some(mut w) = self.w.take() {
            let _ = w.write_all(format!("ER{msg}").as_bytes());
        }
    }
}

pub enum Forked {
    /// In the caller: the start's outcome as the monitor reported it.
    Parent(Result<()>),
    /// In the new monitor process.
    Child(Notifier),
}

pub fn fork() -> Result<Forked> {
    let (r, w) =
        rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).context("creating a pipe")?;
    match process::fork().context("forking the monitor")? {
        Some(pid) => {
            drop(w);
            let mut f = std::fs::File::from(r);
            let mut s = String::new();
            let _ = f.read_to_string(&mut s);
            if s == "OK" {
                Ok(Forked::Parent(Ok(())))
            } else {
                // The start failed: the monitor has undone everything and is
                // exiting; wait for it, so nothing of it is left when we return.
                let _ = process::waitpid(pid, false);
                match s.strip_prefix("ER") {
                    Some(m) => Ok(Forked::Parent(Err(anyhow::anyhow!("{m}")))),
                    None => Ok(Forked::Parent(Err(anyhow::anyhow!(
                        "the container's monitor exited during start"
                    )))),
                }
            }
        }
        None => {
            drop(r);
            detach().context("daemonising")?;
            Ok(Forked::Child(Notifier {
                w: Some(std::fs::File::from(w)),
            }))
        }
    }
}

fn detach() -> Result<()> {
    rustix::process::setsid().context("setsid")?;
    let null: OwnedFd = rustix::fs::open(
        "/dev/null",
        rustix::fs::OFlags::RDWR | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .context("opening /dev/null")?;
    rustix::stdio::dup2_stdin(&null).context("redirecting stdin")?;
    rustix::stdio::dup2_stdout(&null).context("redirecting stdout")?;
    rustix::stdio::dup2_stderr(&null).context("redirecting stderr")?;
    let _ = std::env::set_current_dir("/");
    Ok(())
}
