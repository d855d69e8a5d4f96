//! A memory cgroup with a hard limit (v1 memory.limit_in_bytes, or v2
//! memory.max), below the test's own memory cgroup, for running something
//! that might read without bound: a regression is then OOM-killed at the
//! limit instead of eating the machine. Removed on drop.
//!
//! Include with `#[path = "common/memcg.rs"] mod memcg;`.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub struct MemCg {
    pub dir: PathBuf,
}

impl MemCg {
    /// A cgroup limited to `bytes` (swap included where the kernel counts it).
    pub fn new(tag: &str, bytes: u64) -> MemCg {
        use lxcbox::cgroup::Layout;
        let layout = Layout::discover().expect("cgroup layout");
        let h = layout
            .hierarchies
            .iter()
            .find(|h| !h.v2 && h.has("memory"))
            .or_else(|| layout.hierarchies.iter().find(|h| h.v2 && h.has("memory")))
            .expect("a memory controller (v1 or v2)");
        let dir = h
            .base_dir()
            .join(format!("lxcbox-mem-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir(&dir);
        std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        let cg = MemCg { dir };
        if h.v2 {
            cg.set("memory.max", bytes);
            cg.set("memory.swap.max", 0);
        } else {
            cg.set("memory.limit_in_bytes", bytes);
            if cg.dir.join("memory.memsw.limit_in_bytes").exists() {
                cg.set("memory.memsw.limit_in_bytes", bytes);
            }
        }
        cg
    }

    fn set(&self, file: &str, v: u64) {
        let p = self.dir.join(file);
        if p.exists() {
            std::fs::write(&p, v.to_string()).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        }
    }

    /// Run `cmd` (program, arguments and environment) inside the cgroup,
    /// killed after `limit` (a FIFO regression would block forever); None
    /// when it had to be killed.
    pub fn run(&self, cmd: &Command, limit: Duration) -> Option<Output> {
        let mut w = Command::new("/bin/sh");
        w.arg("-c")
            .arg(r#"echo $$ > "$1/cgroup.procs" && shift && exec "$@""#)
            .arg("sh")
            .arg(&self.dir)
            .arg(cmd.get_program())
            .args(cmd.get_args());
        for (k, v) in cmd.get_envs() {
            match v {
                Some(v) => w.env(k, v),
                None => w.env_remove(k),
            };
        }
        let mut child = w
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let end = Instant::now() + limit;
        loop {
            if child.try_wait().unwrap().is_some() {
                return Some(child.wait_with_output().unwrap());
            }
            if Instant::now() > end {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The most memory the cgroup used so far, in bytes.
    pub fn peak(&self) -> u64 {
        ["memory.max_usage_in_bytes", "memory.peak"]
            .iter()
            .find_map(|f| std::fs::read_to_string(self.dir.join(f)).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for MemCg {
    fn drop(&mut self) {
        let end = Instant::now() + Duration::from_secs(5);
        while std::fs::remove_dir(&self.dir).is_err() && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
