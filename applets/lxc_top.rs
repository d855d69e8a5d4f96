//! lxc-top: CPU, block I/O and memory use of the running containers, from
//! their cgroup statistics.
//applet: lxc-top main monitor container statistics

use std::io::Write;
use std::os::fd::AsFd;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use argh::{ArgsInfo, FromArgs};
use lxcbox::cgroup::top::{self, SortBy};

use crate::common::{self, Spec};

const SPEC: Spec = Spec::new("lxc-top").name_optional().many_lxcpaths();

/// lxc-top monitors the state of the active containers
#[derive(FromArgs, ArgsInfo)]
struct Args {
    /// delay in seconds between refreshes (default: 3.0; with -b: 300, as LXC)
    #[argh(option, short = 'd', arg_name = "DELAY")]
    delay: Option<f64>,
    /// sort by n (name), c (cpu), b (blkio), m (memory), s (memory+swap), k (kernel memory)
    /// (LXC looks at the first letter only)
    #[argh(
        option,
        short = 's',
        default = "String::from(\"n\")",
        arg_name = "SORT"
    )]
    sort: String,
    /// reverse the sort order
    #[argh(switch, short = 'r')]
    reverse: bool,
    /// batch mode: comma separated lines, for scripts
    #[argh(switch, short = 'b')]
    batch: bool,
    /// number of updates before exiting (default: forever; lxcbox addition)
    #[argh(option)]
    iterations: Option<u64>,
}

pub fn main(args: Vec<std::ffi::OsString>) -> i32 {
    common::main(&SPEC, args, |c, a: Args| {
        let key = a.sort.chars().next().unwrap_or('n');
        let Some(mut sort) = SortBy::from_char(key) else {
            anyhow::bail!("invalid sort key '{key}' (n c b m s k)");
        };
        let mut reverse = a.reverse;
        let lxcpath = c.lxcpath();
        let mut out = std::io::stdout().lock();
        if a.batch {
            writeln!(out, "{}", top::BATCH_HEADER)?;
        }
        // Interactive mode on a terminal: single keys (sort letters, r, q)
        // without Enter; the terminal is restored on every exit path.
        let stdin = std::io::stdin();
        let keys = if !a.batch && rustix::termios::isatty(&stdin) {
            Some(lxcbox::console::RawGuard::new(stdin.as_fd())?)
        } else {
            None
        };
        let mut n = 0;
        loop {
            let mut sets = Vec::new();
            for name in lxcbox::listing::defined_names(&lxcpath) {
                if let Ok(Some(set)) = lxcbox::lifecycle::cgroups(&lxcpath, &name) {
                    sets.push((name, set));
                }
            }
            let mut rows = top::collect(&sets);
            top::sort_rows(&mut rows, sort, reverse);
            if a.batch {
                for r in &rows {
                    // LXC: wall-clock milliseconds since the epoch, per line.
                    let ms = SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .map_or(0, |d| d.as_millis() as u64);
                    writeln!(out, "{}", top::batch_line(ms, &r.name, &r.stats))?;
                }
            } else {
                let screen = top::screen(&rows, 1000);
                if keys.is_some() {
                    // Raw mode turns off output post-processing: no \n -> \r\n.
                    write!(out, "{}\r\n", screen.replace('\n', "\r\n"))?;
                } else {
                    writeln!(out, "{screen}")?;
                }
            }
            out.flush()?;
            n += 1;
            if a.iterations.is_some_and(|max| n >= max) {
                return Ok(0);
            }
            let delay = a.delay.unwrap_or(if a.batch { 300.0 } else { 3.0 });
            let delay = Duration::from_secs_f64(delay.max(0.1));
            match &keys {
                Some(_) => {
                    if let Some(k) = read_key(delay)? {
                        if top::handle_key(k, &mut sort, &mut reverse) {
                            return Ok(0);
                        }
                    }
                }
                None => std::thread::sleep(delay),
            }
        }
    })
}

/// Wait up to `delay` for one key on stdin (a terminal in raw mode).
fn read_key(delay: Duration) -> anyhow::Result<Option<char>> {
    use rustix::event::{poll, PollFd, PollFlags, Timespec};
    let stdin = std::io::stdin();
    let mut fds = [PollFd::new(&stdin, PollFlags::IN)];
    let ts = Timespec {
        tv_sec: delay.as_secs() as i64,
        tv_nsec: delay.subsec_nanos() as i64,
    };
    match poll(&mut fds, Some(&ts)) {
        Ok(0) | Err(rustix::io::Errno::INTR) => return Ok(None),
        Ok(_) => {}
        Err(e) => return Err(e.into()),
    }
    let mut b = [0u8; 1];
    match rustix::io::read(&stdin, &mut b) {
        Ok(1) => Ok(Some(char::from(b[0]))),
        _ => Ok(None),
    }
}
