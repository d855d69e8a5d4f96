//! lxc-top: CPU, block I/O and memory use of the running containers, from
//! their cgroup statistics.

use std::io::Write;
use std::time::{Duration, Instant};

use argh::FromArgs;
use lxcbox::cgroup::top::{self, SortBy};

use crate::common;

/// Monitor container statistics: lxc-top [-d DELAY] [-s n|c|b|m|s|k] [-r] [-b]
#[derive(FromArgs)]
struct Args {
    /// seconds between updates (default 3)
    #[argh(option, short = 'd', default = "3.0")]
    delay: f64,
    /// sort by n (name), c (cpu), b (blkio), m (memory), s (memory+swap), k (kernel memory)
    #[argh(option, short = 's', default = "'n'")]
    sort: char,
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
    let (c, a) = match common::parse::<Args>("lxc-top", "ds", args) {
        Ok(v) => v,
        Err(code) => return code,
    };
    common::run(&c, || {
        let Some(mut sort) = SortBy::from_char(a.sort) else {
            anyhow::bail!("invalid sort key '{}' (n c b m s k)", a.sort);
        };
        let mut reverse = a.reverse;
        let lxcpath = c.lxcpath();
        let start = Instant::now();
        let mut out = std::io::stdout().lock();
        if a.batch {
            writeln!(out, "{}", top::BATCH_HEADER)?;
        }
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
                let ms = start.elapsed().as_millis() as u64;
                for r in &rows {
                    writeln!(out, "{}", top::batch_line(ms, &r.name, &r.stats))?;
                }
            } else {
                writeln!(out, "{}", top::screen(&rows, 1000))?;
            }
            out.flush()?;
            n += 1;
            if a.iterations.is_some_and(|max| n >= max) {
                return Ok(0);
            }
            std::thread::sleep(Duration::from_secs_f64(a.delay.max(0.1)));
            // Interactive keys are read only when stdin is a terminal line
            // (sort letter + Enter), keeping lxc-top free of raw-mode state.
            let _ = top::handle_key('\0', &mut sort, &mut reverse);
        }
    })
}
