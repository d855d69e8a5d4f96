//! The multicall binary driven through symlinks, as users run it.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_lxcbox")
}

struct TempDir(PathBuf);
impl TempDir {
    fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!("lxcbox-dispatch-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(cmd: impl AsRef<Path>, args: &[&str]) -> Output {
    Command::new(cmd.as_ref()).args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn list_matches_install_and_links_work() {
    let d = TempDir::new("install");
    let list = run(bin(), &["--list"]);
    assert!(list.status.success());
    let names: Vec<String> = stdout(&list).lines().map(str::to_string).collect();
    assert!(names.contains(&"lxc-config".to_string()));
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(names, sorted, "--list must be sorted and unique");

    let o = run(bin(), &["--install", "-s", d.0.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut made: Vec<String> = std::fs::read_dir(&d.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    made.sort();
    assert_eq!(made, names, "--install makes exactly the --list links");
    for n in &names {
        let target = std::fs::read_link(d.0.join(n)).unwrap();
        assert!(target.is_absolute());
        assert_eq!(
            std::fs::canonicalize(&target).unwrap(),
            std::fs::canonicalize(bin()).unwrap()
        );
    }
    // Idempotent.
    let again = run(bin(), &["--install", "-s", d.0.to_str().unwrap()]);
    assert!(again.status.success(), "{}", stderr(&again));

    // Through the link, the applet runs.
    let v = run(d.0.join("lxc-version"), &[]);
    assert!(v.status.success());
    assert!(stdout(&v).starts_with("lxc version: "));
}

#[test]
fn install_never_overwrites_a_regular_file() {
    let d = TempDir::new("noclobber");
    std::fs::write(d.0.join("lxc-config"), b"precious").unwrap();
    let o = run(bin(), &["--install", "-s", d.0.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("not overwriting"), "{}", stderr(&o));
    assert_eq!(std::fs::read(d.0.join("lxc-config")).unwrap(), b"precious");
    // The other links were still made.
    assert!(d.0.join("lxc-version").symlink_metadata().is_ok());
}

#[test]
fn dispatch_forms() {
    let a = run(bin(), &["version"]);
    let b = run(bin(), &["lxc-version"]);
    assert!(a.status.success() && b.status.success());
    assert_eq!(stdout(&a), stdout(&b));

    let v = run(bin(), &["--version"]);
    assert!(stdout(&v).starts_with("lxcbox "));
    let h = run(bin(), &["--help"]);
    assert!(h.status.success());
    assert!(stdout(&h).contains("lxc-config"));
}

#[test]
fn unknown_applet_is_127() {
    let o = run(bin(), &["lxc-frobnicate"]);
    assert_eq!(o.status.code(), Some(127));
    assert_eq!(stderr(&o), "lxcbox: applet 'lxc-frobnicate' not found\n");

    let d = TempDir::new("unknown");
    let link = d.0.join("lxc-bogus");
    std::os::unix::fs::symlink(bin(), &link).unwrap();
    let o = run(&link, &[]);
    assert_eq!(o.status.code(), Some(127));
    assert_eq!(stderr(&o), "lxcbox: applet 'lxc-bogus' not found\n");
}

#[test]
fn name_option_forms_parse() {
    // lxc-version has no use for -n, but every getopt applet accepts the
    // common options.
    for form in [&["--name=x"][..], &["-nx"], &["-n", "x"], &["--name", "x"]] {
        let mut args = vec!["lxc-version"];
        args.extend_from_slice(form);
        let o = run(bin(), &args);
        assert!(o.status.success(), "{form:?}: {}", stderr(&o));
    }
    // A missing value is LXC's (getopt's) usage error.
    let o = run(bin(), &["lxc-version", "-n"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o).lines().next(),
        Some("lxc-version: option requires an argument -- 'n'"),
    );
}

#[test]
fn non_utf8_argument_is_rejected() {
    let bad = std::ffi::OsStr::from_bytes(b"\xff\xfeoops");
    let o = Command::new(bin())
        .arg("lxc-config")
        .arg(bad)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("lxc-config: argument 1 is not valid UTF-8"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn lxc_config_values() {
    let d = TempDir::new("lxcconf");
    let rc = d.0.join("lxc.conf");
    std::fs::write(&rc, "lxc.lxcpath = /srv/containers\n").unwrap();
    let rcs = rc.to_str().unwrap();
    let o = run(bin(), &["lxc-config", "--rcfile", rcs, "lxc.lxcpath"]);
    assert_eq!(stdout(&o), "/srv/containers\n");
    let o = run(bin(), &["lxc-config", "--rcfile", rcs, "lxc.bdev.lvm.vg"]);
    assert_eq!(stdout(&o), "lxc\n");
    let o = run(bin(), &["lxc-config", "--rcfile", rcs, "lxc.cgroup.use"]);
    assert_eq!(stdout(&o), "lxc.cgroup.use is not set.\n");
    let o = run(bin(), &["lxc-config", "--rcfile", rcs, "lxc.nope"]);
    assert_eq!(o.status.code(), Some(1));
    // On stdout, as LXC prints it.
    assert_eq!(stdout(&o), "Unknown configuration item: lxc.nope\n");
    let o = run(bin(), &["lxc-config", "-l"]);
    assert_eq!(
        stdout(&o),
        "lxc.default_config\nlxc.lxcpath\nlxc.bdev.lvm.vg\nlxc.bdev.lvm.thin_pool\n\
         lxc.bdev.zfs.root\nlxc.cgroup.use\nlxc.cgroup.pattern\n"
    );
    std::fs::write(&rc, "lxc.lxcpath = /a\nbogus line\n").unwrap();
    let o = run(bin(), &["lxc-config", "--rcfile", rcs, "lxc.lxcpath"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("lxc.conf:2: expected"),
        "{}",
        stderr(&o)
    );
}
