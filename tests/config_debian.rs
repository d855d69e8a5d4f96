//! Every config file Debian's lxc / lxc-templates ship under
//! /usr/share/lxc/config/ parses (skipped when the directory is absent).

use std::path::Path;

use lxcbox::config::{write, Config};

const DIR: &str = "/usr/share/lxc/config";

#[test]
fn shipped_configs_parse_and_roundtrip() {
    let dir = Path::new(DIR);
    if !dir.is_dir() {
        eprintln!("skipped: {DIR} does not exist (install lxc and lxc-templates)");
        return;
    }
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "conf"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .conf files in {DIR}");
    for f in &files {
        let c = Config::load(f).unwrap_or_else(|e| panic!("{}: {e:#}", f.display()));
        let again = Config::parse_str(&write(&c), "written", Path::new("/"))
            .unwrap_or_else(|e| panic!("{} rewritten: {e:#}", f.display()));
        assert_eq!(again, c, "{} does not round trip", f.display());
    }
    // common.conf really was read, includes and all.
    let c = Config::load(&dir.join("common.conf")).unwrap();
    assert_eq!(c.tty_max, 4);
    assert_eq!(c.pty_max, Some(1024));
    assert!(c.cap_drop.contains(&"sys_module".to_string()));
    assert!(c
        .cgroup_v2
        .iter()
        .any(|(k, v)| k == "devices.allow" && v == "c 10:229 rwm"));
    if dir.join("common.conf.d/00-lxcfs.conf").exists() {
        assert!(c.hooks_of("mount").any(|h| h.contains("lxcfs")));
    }
    // userns.conf clears what common.conf set.
    let mut both = Config::load(&dir.join("common.conf")).unwrap();
    both.merge_str(
        &std::fs::read_to_string(dir.join("userns.conf")).unwrap(),
        "userns.conf",
        dir,
    )
    .unwrap();
    assert!(both.cap_drop.is_empty() && both.cgroup_v1.is_empty() && both.tty_dir.is_none());
}
