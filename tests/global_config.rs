//! The global configuration as LXC resolves it: a non-root user's
//! ~/.config/lxc/lxc.conf and ~/.local/share/lxc, unknown keys ignored
//! (logged at INFO), a syntax error failing the applet with file:line
//! instead of falling back to a default lxcpath. Run as a non-root uid so
//! the host's /etc/lxc/lxc.conf (real LXC's) is never touched.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Output};

const NOBODY: u32 = 65534;

struct Home(PathBuf);

impl Home {
    fn new(tag: &str) -> Home {
        let p = std::env::temp_dir().join(format!("lxcbox-gconf-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(p.join(".config/lxc")).unwrap();
        for d in [&p, &p.join(".config"), &p.join(".config/lxc")] {
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        Home(p)
    }

    fn conf(&self, text: &str) -> PathBuf {
        let f = self.0.join(".config/lxc/lxc.conf");
        std::fs::write(&f, text).unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        f
    }

    /// Run an applet as nobody with this HOME (from a copy of the binary
    /// nobody can reach: the checkout may be in a home only root enters).
    fn run(&self, args: &[&str]) -> Output {
        let exe = self.0.join("lxcbox");
        if !exe.exists() {
            std::fs::copy(env!("CARGO_BIN_EXE_lxcbox"), &exe).unwrap();
            std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        // A test running beside this one may fork while the copy was open
        // for writing: its child holds the fd until it execs (ETXTBSY).
        for _ in 0..100 {
            match Command::new(&exe)
                .args(args)
                .env_clear()
                .env("HOME", &self.0)
                .env("LXCBOX_RUNDIR", self.0.join("run"))
                .uid(NOBODY)
                .gid(NOBODY)
                .current_dir("/")
                .output()
            {
                Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => {
                    std::thread::sleep(std::time::Duration::from_millis(20))
                }
                r => return r.unwrap(),
            }
        }
        panic!("{} stayed busy", exe.display());
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn a_users_own_config_and_defaults() {
    let h = Home::new("user");
    let share = format!("{}/.local/share/lxc\n", h.0.display());
    let o = h.run(&["lxc-config", "lxc.lxcpath"]);
    assert_eq!(
        text(&o.stdout),
        share,
        "default for a user: ~/.local/share/lxc"
    );
    let o = h.run(&["lxc-config", "lxc.default_config"]);
    assert_eq!(
        text(&o.stdout),
        format!("{}/.config/lxc/default.conf\n", h.0.display())
    );

    let lxcpath = h.0.join("containers");
    std::fs::create_dir_all(lxcpath.join("mine")).unwrap();
    std::fs::write(lxcpath.join("mine/config"), "lxc.uts.name = mine\n").unwrap();
    for d in [&lxcpath, &lxcpath.join("mine")] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::set_permissions(
        lxcpath.join("mine/config"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    h.conf(&format!(
        "# LXC keys lxcbox does not use, and ones nobody knows, are ignored\n\
         lxc.bdev.rbd.rbdpool = rbd\n\
         lxc.some.future.key = 1\n\
         lxc.lxcpath = {}/\n\
         lxc.lxcpath = /ignored/second/assignment\n",
        lxcpath.display()
    ));
    let o = h.run(&["lxc-config", "lxc.lxcpath"]);
    assert_eq!(text(&o.stdout), format!("{}\n", lxcpath.display()));
    // lxc-ls finds the containers of the configured lxcpath, not of a default.
    let o = h.run(&["lxc-ls", "-1", "-l", "INFO"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "mine\n");
    // The unknown key is reported at INFO, and only there.
    assert!(
        text(&o.stderr).contains("lxc.conf:3: ignoring unknown key \"lxc.some.future.key\""),
        "{}",
        text(&o.stderr)
    );
    let quiet = h.run(&["lxc-ls", "-1"]);
    assert_eq!(text(&quiet.stderr), "");
}

#[test]
fn a_syntax_error_fails_the_applet_with_file_and_line() {
    let h = Home::new("broken");
    let f = h.conf("lxc.lxcpath = /somewhere\nthis is not a key value line\n");
    for args in [
        &["lxc-ls"][..],
        &["lxc-info", "-n", "x"],
        &["lxc-config", "lxc.lxcpath"],
    ] {
        let o = h.run(args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert_eq!(
            o.stdout, b"",
            "{args:?}: nothing listed from a guessed lxcpath"
        );
        let expected = format!(
            "{}:2: expected \"key = value\", got \"this is not a key value line\"",
            f.display()
        );
        assert!(
            text(&o.stderr).contains(&expected),
            "{args:?}: {}",
            text(&o.stderr)
        );
    }
}
