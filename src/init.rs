//! PID-1 logic shared by lxc-init (init.lxc) and lxc-execute: start the
//! application, forward signals to it, reap every process reparented to
//! us, and exit with the application's status (its code, or 128+N when
//! signal N killed it).

use std::ffi::CString;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::sys::process::{self, ExitStatus};

/// Run `argv` under the init loop; returns the exit status to exit with.
pub fn run(argv: &[String]) -> Result<i32> {
    if argv.is_empty() {
        bail!("no command to run");
    }
    let args = argv
        .iter()
        .map(|a| CString::new(a.as_str()).context("NUL byte in the command"))
        .collect::<Result<Vec<_>>>()?;
    let env: Vec<CString> = process::environ_cstrings();
    // Outside a PID namespace we are not PID 1: become a subreaper so
    // orphaned daemons still come to us.
    if std::process::id() != 1 {
        let _ = process::set_child_subreaper();
    }
    process::block_all_signals().context("blocking signals")?;
    let app = match process::fork().context("forking the application")? {
        None => {
            // Init changed no disposition but SIGPIPE (the Rust runtime)
            // and blocked everything: undo just that.
            process::reset_signals_of_init_child();
            // As LXC's init: a session of its own with the console (its
            // stdin, when a terminal) as controlling terminal, so Ctrl-C
            // typed on it and job control reach the application.
            let _ = rustix::process::setsid();
            let _ = rustix::process::ioctl_tiocsctty(std::io::stdin());
            let e = process::exec(&args, &env);
            eprintln!("lxc-init: executing {}: {e}", argv[0]);
            process::exit_now(if e.kind() == std::io::ErrorKind::NotFound {
                127
            } else {
                126
            });
        }
        Some(pid) => pid,
    };
    // As PID 1, init lives as long as the container but runs only its
    // supervise loop from now on: give back the pages of its start-up.
    let _ = process::trim_exe_rss();
    let status = supervise(app)?;
    reap_rest();
    Ok(status.code())
}

/// Forward signals to `app` and reap children until `app` exits.
fn supervise(app: i32) -> Result<ExitStatus> {
    loop {
        // Reap first: SIGCHLD may have arrived before we started waiting.
        while let Ok(Some((pid, st))) = process::waitpid(-1, true) {
            if pid == app {
                return Ok(st);
            }
        }
        let sig = process::wait_any_signal().context("waiting for signals")?;
        if sig != libc::SIGCHLD {
            let _ = process::kill(app, sig);
        }
    }
}

/// The application is gone: ask what is left to terminate, give it a
/// moment, then kill it, reaping everything. As PID 1 of a namespace,
/// "what is left" is every other process in it (kill(-1)); outside one we
/// are only a subreaper and must never signal -1 (that would reach every
/// process on the host), so we signal our own children only.
fn reap_rest() {
    if process::waitpid(-1, true).is_err() {
        return; // ECHILD: nothing left, the common case
    }
    let pid1 = std::process::id() == 1;
    signal_rest(pid1, libc::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        match process::waitpid(-1, true) {
            Err(_) => return,
            Ok(Some(_)) => continue,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            Ok(None) => break,
        }
    }
    signal_rest(pid1, libc::SIGKILL);
    while process::waitpid(-1, false).is_ok() {}
}

fn signal_rest(pid1: bool, sig: i32) {
    if pid1 {
        let _ = process::kill(-1, sig);
        return;
    }
    for pid in children() {
        let _ = process::kill(pid, sig);
    }
}

/// Our direct children, from /proc/PID/stat's ppid field.
fn children() -> Vec<i32> {
    let me = std::process::id() as i32;
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| {
                    let rest = s.rsplit_once(')')?.1;
                    rest.split_whitespace().nth(1)?.parse::<i32>().ok()
                })
                == Some(me)
        })
        .collect()
}
