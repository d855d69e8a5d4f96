//! A tmux session (a real terminal for tests) plus a scratch directory,
//! both removed on drop. Each session has a tmux server of its own (`-L`),
//! so concurrent test runs never race on the default server's start.
//!
//! Include with `#[path = "common/tmux.rs"] mod tmux;`.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

pub struct Tmux {
    pub name: String,
    pub dir: PathBuf,
}

impl Tmux {
    /// A 100x30 session running `script` (given the scratch directory).
    pub fn new(tag: &str, script: impl FnOnce(&std::path::Path) -> String) -> Tmux {
        assert!(have_tmux(), "tmux is required for this test");
        let name = format!("lxcbox-{tag}-{}", std::process::id());
        let dir = std::env::temp_dir().join(&name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let script = script(&dir);
        let t = Tmux { name, dir };
        let ok = Command::new("tmux")
            .args([
                "-L",
                &t.name,
                "new-session",
                "-d",
                "-s",
                &t.name,
                "-x",
                "100",
                "-y",
                "30",
            ])
            .arg(script)
            .status()
            .unwrap()
            .success();
        assert!(ok, "tmux new-session failed");
        t
    }

    pub fn tmux(&self, args: &[&str]) {
        let ok = Command::new("tmux")
            .args(["-L", &self.name])
            .args(args)
            .status()
            .unwrap()
            .success();
        assert!(ok, "tmux {args:?} failed");
    }

    pub fn keys(&self, keys: &[&str]) {
        let mut a = vec!["send-keys", "-t", &self.name];
        a.extend_from_slice(keys);
        self.tmux(&a);
    }

    pub fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.name, "capture-pane", "-p", "-t", &self.name])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn wait_for(&self, needle: &str) {
        self.wait_for_within(needle, Duration::from_secs(20));
    }

    /// Wait at most `limit` until the screen shows `needle`.
    pub fn wait_for_within(&self, needle: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let s = self.screen();
            if s.contains(needle) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {needle:?}; screen:\n{s}"
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap_or_default()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.name, "kill-server"])
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn have_tmux() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}
