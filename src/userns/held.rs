//! A child made in new namespaces that waits, before running any of its
//! own steps, until the parent has set those namespaces up from outside
//! (id maps written, interfaces moved in) — or exits quietly when the
//! parent gives up or dies first, so nothing is left behind. What
//! lxc-usernsexec and lxc-unshare share.

use std::ffi::CString;
use std::os::fd::OwnedFd;

use anyhow::{Context, Result};
use rustix::pipe::{pipe_with, PipeFlags};

use crate::sys::process::{self, ExitStatus};
use crate::sys::spawn::{spawn, Child, Cloned, Spawn};

/// The parent's side of a held child.
pub struct Held {
    pub child: Child,
    /// The write end of the "go" pipe; closing it unreleased tells the
    /// child to exit.
    go: Option<OwnedFd>,
    reaped: bool,
}

/// Clone a child into the namespaces of `flags` (CLONE_NEW*, without
/// CLONE_NEWTIME, which only unshare(2) creates). Once released, the child
/// runs `body`, which execs or exits and never returns. Call from a
/// single-threaded process (as [`spawn`]).
pub fn spawn_held(flags: i32, body: impl FnOnce() -> i32) -> Result<Held> {
    let (go_r, go_w) = pipe_with(PipeFlags::CLOEXEC).context("creating a pipe")?;
    let s = Spawn {
        namespaces: flags as u32 as u64,
        ..Spawn::default()
    };
    match spawn(&s).context("cloning the child")? {
        Cloned::Child => {
            drop(go_w);
            let mut b = [0u8; 1];
            // EOF: the parent failed (and says why) or died; go quietly.
            let released = loop {
                match rustix::io::read(&go_r, &mut b) {
                    Ok(n) => break n == 1 && b[0] == b'1',
                    Err(rustix::io::Errno::INTR) => continue,
                    Err(_) => break false,
                }
            };
            drop(go_r);
            if !released {
                process::exit_now(1);
            }
            process::exit_now(body())
        }
        Cloned::Parent(child) => {
            drop(go_r);
            Ok(Held {
                child,
                go: Some(go_w),
                reaped: false,
            })
        }
    }
}

impl Held {
    pub fn pid(&self) -> i32 {
        self.child.pid
    }

    /// Let the child go on.
    pub fn release(&mut self) -> Result<()> {
        let Some(go) = self.go.take() else {
            return Ok(());
        };
        rustix::io::write(&go, b"1")
            .map(drop)
            .with_context(|| format!("releasing child {}", self.child.pid))
    }

    /// Wait for the child to end.
    pub fn wait(&mut self) -> Result<ExitStatus> {
        let st = self
            .child
            .wait(false)
            .with_context(|| format!("waiting for child {}", self.child.pid))?
            .context("waitpid returned no status")?;
        self.reaped = true;
        Ok(st)
    }

    /// Leave a released child running (lxc-unshare -d): it is not waited
    /// for and goes to init when we exit.
    pub fn detach(mut self) {
        self.reaped = true;
    }
}

impl Drop for Held {
    /// An unreleased child exits on EOF; reap it so no zombie or stray
    /// namespace outlives the error that dropped us.
    fn drop(&mut self) {
        if self.reaped {
            return;
        }
        if self.go.take().is_none() {
            let _ = self.child.kill(libc::SIGKILL);
        }
        let _ = self.child.wait(false);
    }
}

/// `argv` and the current environment as exec(2) wants them; `None`
/// when a word holds a NUL byte.
fn cstrings(argv: &[String]) -> Option<(Vec<CString>, Vec<CString>)> {
    let a: Option<Vec<CString>> = argv.iter().map(|s| CString::new(s.as_str()).ok()).collect();
    Some((a?, process::environ_cstrings()))
}

/// execvp(argv) with our environment; returns only the error.
pub fn exec(argv: &[String]) -> std::io::Error {
    match cstrings(argv) {
        Some((a, e)) => process::exec(&a, &e),
        None => std::io::Error::from_raw_os_error(libc::EINVAL),
    }
}
