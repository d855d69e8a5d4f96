//! lxc-checkconfig against LXC 5.0.2's script on this host: the same
//! report line for line (the script's `$0` aside), from /proc/config.gz,
//! from CONFIG=a plain file, and the same refusal when nothing is found.

#[path = "common/rootfs.rs"]
mod rootfs;

use std::process::{Command, Output};

const LXC: &str = "/usr/bin/lxc-checkconfig";

/// lxcbox as `DIR/lxc-checkconfig` (the name the script's `$0` shows).
fn ours(dir: &std::path::Path) -> std::path::PathBuf {
    let p = dir.join("lxc-checkconfig");
    if !p.exists() {
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_lxcbox"), &p).unwrap();
    }
    p
}

fn run(prog: &std::path::Path, config: Option<&str>) -> Output {
    let mut c = Command::new(prog);
    if let Some(cfg) = config {
        c.env("CONFIG", cfg);
    }
    c.output().unwrap()
}

fn text(o: &Output, prog: &std::path::Path) -> (String, String) {
    let name = prog.display().to_string();
    let norm = |b: &[u8]| String::from_utf8_lossy(b).replace(&name, "$0");
    (norm(&o.stdout), norm(&o.stderr))
}

fn compare(config: Option<&str>) {
    let d = rootfs::TempDir::new("ckcfg");
    let mine = ours(d.path());
    let lxc = std::path::Path::new(LXC);
    assert!(
        lxc.exists(),
        "{LXC} is missing: install Debian's lxc package (.ci/run does)"
    );
    let (a, b) = (run(lxc, config), run(&mine, config));
    assert_eq!(
        a.status.code(),
        b.status.code(),
        "exit status, CONFIG={config:?}"
    );
    let (ta, mut tb) = (text(&a, lxc), text(&b, &mine));
    // lxcbox's own section, after LXC's: exactly the fallbacks this kernel
    // needs (none here; all of them in CI's old-kernel pass).
    let missing = lxcbox::sys::kernel::missing();
    let head = "\n--- lxcbox kernel fallbacks in use ---\n";
    match tb.0.find(head) {
        Some(at) => {
            let end = at + head.len();
            let body_len = tb.0[end..].find("\n\n").unwrap();
            let body = &tb.0[end..end + body_len];
            let named: Vec<&str> = body.lines().map(|l| l.split(':').next().unwrap()).collect();
            let want: Vec<&str> = missing.iter().map(|f| f.name()).collect();
            assert_eq!(named, want, "{}", tb.0);
            tb.0.replace_range(at..end + body_len + 1, "");
        }
        None => assert!(
            missing.is_empty() || b.status.code() != Some(0),
            "no fallback section: {}",
            tb.0
        ),
    }
    for (la, lb) in ta.0.lines().zip(tb.0.lines()) {
        assert_eq!(
            la, lb,
            "CONFIG={config:?}\nLXC:\n{}\nlxcbox:\n{}",
            ta.0, tb.0
        );
    }
    assert_eq!(
        ta.0.lines().count(),
        tb.0.lines().count(),
        "{}\n{}",
        ta.0,
        tb.0
    );
    assert_eq!(
        ta.1.replace("lxc-checkconfig", "$0"),
        tb.1.replace("lxc-checkconfig", "$0")
    );
}

#[test]
fn same_report_as_lxcs_script() {
    compare(None);
}

#[test]
fn same_report_for_a_plain_config_file() {
    let Ok(gz) = std::fs::read("/proc/config.gz") else {
        return;
    };
    let d = rootfs::TempDir::new("ckplain");
    let plain = d.path().join("config");
    std::fs::write(&plain, lxcbox::checkconfig::config_text(&gz)).unwrap();
    compare(Some(plain.to_str().unwrap()));
}

#[test]
fn same_refusal_when_nothing_is_found() {
    // (On a host with /boot/config-$(uname -r) both find that one instead.)
    compare(Some("/nonexistent/kernel-config"));
}

#[test]
fn arguments_are_ignored_like_the_script() {
    let d = rootfs::TempDir::new("ckargs");
    let mine = ours(d.path());
    let a = Command::new(&mine).output().unwrap();
    let b = Command::new(&mine)
        .args(["--help", "-n", "x"])
        .output()
        .unwrap();
    assert_eq!(a.stdout, b.stdout);
    assert!(String::from_utf8_lossy(&a.stdout).contains("--- Checkpoint/Restore ---"));
}
