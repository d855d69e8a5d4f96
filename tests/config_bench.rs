//! Benchmark, not a test: parse a 10,000-line config and print the time.
//! Run with `cargo test --release --test config_bench -- --ignored --nocapture`.
//! Target: under 10 ms.

use std::path::Path;
use std::time::Instant;

use lxcbox::config::Config;

fn big_config() -> String {
    let lines = [
        "lxc.cgroup.devices.allow = c 1:3 rwm",
        "# a comment line",
        "lxc.mount.entry = /srv/data srv/data none bind,optional,create=dir 0 0",
        "lxc.net.0.ipv4.address = 10.0.3.2/24",
        "lxc.cap.drop = sys_module mac_admin",
        "",
        "lxc.environment = FOO=bar",
        "lxc.signal.halt = SIGRTMIN+3",
        "lxc.utsname = \"bench\"",
        "lxc.sysctl.net.ipv4.ip_forward = 1",
    ];
    let mut s = String::new();
    for i in 0..10_000 {
        s.push_str(lines[i % lines.len()]);
        s.push('\n');
    }
    s
}

#[test]
#[ignore = "benchmark: run explicitly with --ignored --nocapture"]
fn parse_10k_lines() {
    let text = big_config();
    let runs = 20;
    let mut best = f64::MAX;
    for _ in 0..runs {
        let t = Instant::now();
        let c = Config::parse_str(&text, "bench.conf", Path::new("/")).unwrap();
        best = best.min(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(c.mount_entries.len(), 1000);
    }
    println!("parse 10,000 lines: best of {runs} = {best:.2} ms (target < 10 ms)");
}
