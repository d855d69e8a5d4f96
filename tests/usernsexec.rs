//! lxc-usernsexec: a command as root of a new user namespace, with maps
//! from -m or from /etc/subuid and /etc/subgid; as root and as an ordinary
//! user (tests/common/user.rs), side by side with Debian's
//! /usr/bin/lxc-usernsexec. Bad maps are refused before anything exists,
//! or after the child was made with the child gone again. Needs root.

#[path = "common/env.rs"]
mod env;
#[path = "common/rootfs.rs"]
mod rootfs;
#[path = "common/user.rs"]
mod user;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use env::{bin, stderr, stdout};
use user::{TestUser, SUB_COUNT, SUB_START};

const LXC: &str = "/usr/bin/lxc-usernsexec";

fn ours(args: &[&str]) -> Output {
    Command::new(bin())
        .arg("lxc-usernsexec")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Compare with LXC's tool: when installed, and not under the old-kernel
/// pass, whose filter tests our fallbacks, not LXC's.
fn has_lxc() -> bool {
    Path::new(LXC).exists() && std::env::var_os("LXCBOX_TEST_OLD_KERNEL").is_none()
}

/// A map file's lines as words (the kernel pads them).
fn words(s: &str) -> Vec<Vec<String>> {
    s.lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

/// Processes whose real uid is `uid`.
fn procs_of(uid: u32) -> Vec<i32> {
    let mut v = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(st) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
            continue;
        };
        let real = st
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|u| u.split_whitespace().next()?.parse::<u32>().ok());
        if real == Some(uid) {
            v.push(pid);
        }
    }
    v
}

/// With `opts`, the command sees these uid_map then gid_map lines.
fn assert_maps(opts: &[&str], want: &str) {
    let mut a = opts.to_vec();
    a.extend(["--", "cat", "/proc/self/uid_map", "/proc/self/gid_map"]);
    let o = ours(&a);
    assert!(o.status.success(), "{opts:?}: {}", stderr(&o));
    assert_eq!(words(&stdout(&o)), words(want), "{opts:?}");
}

#[test]
fn root_maps_and_exit_status_as_lxc() {
    let cases: &[&[&str]] = &[
        &["-m", "b:0:0:1", "--", "id"],
        &["-m", "b:0:0:1", "--", "sh", "-c", "exit 7"],
        // WEXITSTATUS of a killed command: LXC exits 0.
        &["-m", "b:0:0:1", "--", "sh", "-c", "kill -9 $$"],
        &[
            "-m",
            "u:0:0:1",
            "-m",
            "g:0:0:1",
            "--",
            "cat",
            "/proc/self/uid_map",
        ],
        &["-m", "b:0:0:1", "--", "/nonexistent/cmd"],
    ];
    let want = [Some(0), Some(7), Some(0), Some(0), Some(1)];
    for (args, code) in cases.iter().zip(want) {
        let o = ours(args);
        assert_eq!(o.status.code(), code, "{args:?}: {}", stderr(&o));
        if has_lxc() {
            let l = Command::new(LXC).args(*args).output().unwrap();
            assert_eq!(
                (stdout(&o), o.status.code()),
                (stdout(&l), l.status.code()),
                "{args:?}"
            );
        }
    }
    let o = ours(&["-m", "b:0:0:1", "--", "id"]);
    assert_eq!(stdout(&o), "uid=0(root) gid=0(root) groups=0(root)\n");
    // A new mount namespace too, owned by the new user namespace.
    let o = ours(&["-m", "b:0:0:1", "--", "readlink", "/proc/self/ns/mnt"]);
    let host = std::fs::read_link("/proc/self/ns/mnt").unwrap();
    assert_ne!(stdout(&o).trim(), host.to_string_lossy());
    // Root writes its maps itself (LXC asks newuidmap, which then wants a
    // subuid line for root): a 65536-id map of any host range.
    assert_maps(
        &["-m", "b:0:100000:65536"],
        "0 100000 65536\n0 100000 65536\n",
    );
    // The default shell is /bin/sh, as LXC's.
    let mut c = Command::new(bin())
        .args(["lxc-usernsexec", "-m", "b:0:0:1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    c.stdin.take().unwrap().write_all(b"echo $0\n").unwrap();
    let o = c.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout), "/bin/sh\n");
}

#[test]
fn map_self_places_the_own_ids_after_the_maps_as_lxc() {
    assert_maps(
        &["-m", "b:0:100000:10", "-s"],
        "0 100000 10\n10 0 1\n0 100000 10\n10 0 1\n",
    );
}

#[test]
fn bad_maps_are_refused_before_anything_exists() {
    for (args, msg) in [
        (
            &["-m", "x:0:0:1", "--", "true"][..],
            "invalid map \"x:0:0:1\"",
        ),
        (&["-m", "u:0:0", "--", "true"], "four fields"),
        (
            &["-m", "b:0:0:-1", "--", "true"],
            "RANGE \"-1\" is not a number",
        ),
        (&["-m", "b:0:0:0", "--", "true"], "RANGE must be at least 1"),
        (
            &["-m", "b:0:100000:10", "-m", "b:5:200000:1", "--", "true"],
            "overlap: uid 5 of the new namespace would be mapped twice",
        ),
        (
            &["-m", "b:0:100000:10", "-m", "b:10:100009:2", "--", "true"],
            "overlap: uid 100009 on the host",
        ),
        (
            &["-m", "u:0:0:1", "--", "true"],
            "no gid map starts at gid 0",
        ),
        (
            &["-m", "b:1:0:1", "--", "true"],
            "no uid map starts at uid 0",
        ),
        (
            &["-m", "b:0:4294967290:10", "--", "true"],
            "goes past the largest id",
        ),
        (&["-x"], "invalid option -- 'x'"),
        (&["-m"], "option requires an argument -- 'm'"),
    ] {
        let o = ours(args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(stderr(&o).contains(msg), "{args:?}: {}", stderr(&o));
    }
    // Usage errors show LXC's usage text; -h prints it on stdout, exit 0.
    let o = ours(&["-x"]);
    assert!(stderr(&o)
        .contains("usage: lxc-usernsexec [-h] [-m <uid-maps>] [-s] -- [command [arg ..]]"));
    let o = ours(&["-h"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).starts_with("usage: lxc-usernsexec [-h]"));
    assert!(stdout(&o).contains("calling user permission to use the mapped ranges\n"));
    // Root has no subuid range: LXC's message, with the file named.
    let d = rootfs::TempDir::new("nsexec-subid");
    std::fs::write(d.path().join("subuid"), "someone:100000:65536\n").unwrap();
    std::fs::write(d.path().join("subgid"), "someone:100000:65536\n").unwrap();
    let o = Command::new(bin())
        .args(["lxc-usernsexec", "--", "true"])
        .env("LXCBOX_SUBID_DIR", d.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("Failed to find subuid or subgid allocation"),
        "{e}"
    );
    assert!(e.contains("subuid has no range for user root"), "{e}");
}

/// The first `NAME:START:COUNT` line of `file` for `name`.
fn first_range(file: &str, name: &str) -> (u32, u32) {
    let text = std::fs::read_to_string(file).unwrap();
    text.lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() == 3 && f[0] == name).then(|| (f[1].parse().unwrap(), f[2].parse().unwrap()))
        })
        .unwrap_or_else(|| panic!("{file} has no line for {name}"))
}

/// The user's run of `prog args`, with `LXCBOX_SUBID_DIR` when given.
fn as_user(u: &TestUser, prog: &Path, args: &[&str], subid: Option<&Path>) -> Output {
    let mut c = u.cmd(prog, args);
    if let Some(d) = subid {
        c.env("LXCBOX_SUBID_DIR", d);
    }
    c.output().unwrap()
}

#[test]
fn ordinary_user_own_ids_subuid_default_and_refusals() {
    let u = TestUser::new("nsx");
    let uid = u.uid.to_string();
    let lxcbox_args = |a: &[&str]| -> Vec<String> {
        let mut v = vec!["lxc-usernsexec".to_string()];
        v.extend(a.iter().map(|s| s.to_string()));
        v
    };
    let run = |a: &[&str]| -> Output {
        let v = lxcbox_args(a);
        let r: Vec<&str> = v.iter().map(String::as_str).collect();
        as_user(&u, &u.bin, &r, None)
    };
    let lxc =
        |a: &[&str]| -> Option<Output> { has_lxc().then(|| as_user(&u, Path::new(LXC), a, None)) };

    // The example: one's own uid (and the same number as gid) as
    // root, written without any helper. useradd gives uid == gid here.
    let own = format!("b:0:{uid}:1");
    assert_eq!(u.uid, u.gid, "the example maps the uid number as gid too");
    let o = run(&["-m", &own, "--", "id"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("uid=0(root) gid=0(root)"),
        "{}",
        stdout(&o)
    );
    let o = run(&[
        "-m",
        &own,
        "--",
        "cat",
        "/proc/self/uid_map",
        "/proc/self/gid_map",
    ]);
    assert_eq!(
        words(&stdout(&o)),
        words(&format!("0 {uid} 1\n0 {uid} 1\n"))
    );
    if let Some(l) = lxc(&["-m", &own, "--", "id"]) {
        let o = run(&["-m", &own, "--", "id"]);
        assert_eq!((stdout(&o), o.status.code()), (stdout(&l), l.status.code()));
    }

    // No -m: the first subuid/subgid ranges from 0, through newuidmap and
    // newgidmap; the caller's own ids are not mapped (LXC's default).
    let maps = ["--", "cat", "/proc/self/uid_map", "/proc/self/gid_map"];
    let o = run(&maps);
    assert!(o.status.success(), "{}", stderr(&o));
    // (useradd may have given the user a range of its own before the
    // test's 100000-165535: the first line is what counts, as for LXC.)
    let (us, uc) = first_range("/etc/subuid", &u.name);
    let (gs, gc) = first_range("/etc/subgid", &u.name);
    let want = format!("0 {us} {uc}\n0 {gs} {gc}\n");
    assert_eq!(words(&stdout(&o)), words(&want));
    if let Some(l) = lxc(&maps) {
        assert_eq!(stdout(&o), stdout(&l), "LXC: {}", stderr(&l));
    }
    // -s adds the own ids after the default range, as LXC does.
    let self_maps = [
        "-s",
        "--",
        "cat",
        "/proc/self/uid_map",
        "/proc/self/gid_map",
    ];
    let o = run(&self_maps);
    assert!(o.status.success(), "{}", stderr(&o));
    let want = format!("0 {us} {uc}\n{uc} {uid} 1\n0 {gs} {gc}\n{gc} {} 1\n", u.gid);
    assert_eq!(words(&stdout(&o)), words(&want));
    if let Some(l) = lxc(&self_maps) {
        assert_eq!(
            words(&stdout(&o)),
            words(&stdout(&l)),
            "LXC: {}",
            stderr(&l)
        );
    }
    // Files the namespace's root makes belong to the first subordinate
    // id on the host (/tmp is 1777, so writable for it too).
    let made = std::path::PathBuf::from(format!("/tmp/lxbnsx-made-{}", std::process::id()));
    let _ = std::fs::remove_file(&made);
    let o = run(&["--", "touch", made.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let owner = TestUser::owner(&made);
    let _ = std::fs::remove_file(&made);
    assert_eq!(owner, us);

    // A range outside the delegation: refused before newuidmap, naming
    // the file and what the user has; the child is gone again.
    let o = run(&["-m", "b:0:4000000000:10", "--", "sleep", "1000"]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("host ids 4000000000-4000000009 are not delegated to user"),
        "{e}"
    );
    assert!(e.contains("map u:0:4000000000:10"), "{e}");
    assert!(
        e.contains(&format!("{SUB_START}-{}", SUB_START + SUB_COUNT - 1)),
        "{e}"
    );
    // One id more than the range: the same.
    let o = run(&["-m", "b:0:100000:65537", "--", "sleep", "1000"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("not delegated"), "{}", stderr(&o));
    // Overlapping maps, both inside the range.
    let o = run(&["-m", "b:0:100000:100", "-m", "b:50:100200:10", "--", "true"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("overlap"), "{}", stderr(&o));

    // A user without subuid ranges (as the files say).
    let d = rootfs::TempDir::new("nsexec-nosub");
    std::fs::write(d.path().join("subuid"), "someone:100000:65536\n").unwrap();
    std::fs::write(d.path().join("subgid"), "someone:100000:65536\n").unwrap();
    let v = lxcbox_args(&["--", "true"]);
    let r: Vec<&str> = v.iter().map(String::as_str).collect();
    let o = as_user(&u, &u.bin, &r, Some(d.path()));
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("Failed to find subuid or subgid allocation"),
        "{e}"
    );
    assert!(
        e.contains(&format!("has no range for user {}", u.name)),
        "{e}"
    );
    let v = lxcbox_args(&["-m", "b:0:100000:65536", "--", "sleep", "1000"]);
    let r: Vec<&str> = v.iter().map(String::as_str).collect();
    let o = as_user(&u, &u.bin, &r, Some(d.path()));
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains(&format!("has no range for user {}", u.name)),
        "{}",
        stderr(&o)
    );

    // newuidmap itself refusing, after the child exists: our files grant
    // a range the host's do not. The held child is gone again.
    let granted = rootfs::TempDir::new("nsexec-grant");
    for f in ["subuid", "subgid"] {
        std::fs::write(granted.path().join(f), format!("{}:300000:10\n", u.name)).unwrap();
    }
    let v = lxcbox_args(&["-m", "b:0:300000:10", "--", "sleep", "1000"]);
    let r: Vec<&str> = v.iter().map(String::as_str).collect();
    let o = as_user(&u, &u.bin, &r, Some(granted.path()));
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("Failed to write id mapping for child process"),
        "{e}"
    );
    assert!(e.contains("newuidmap"), "{e}");

    // Nothing was left behind by any refusal: no process of the user
    // (the held child exits when its parent gives up).
    assert_eq!(procs_of(u.uid), Vec::<i32>::new());
}
