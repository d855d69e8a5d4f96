//! lxc-create, lxc-ls, lxc-info, lxc-list, lxc-ps and lxc-destroy driven
//! through the real binary, compared with LXC's output formats.

use std::path::PathBuf;
use std::process::{Command, Output};

/// A temporary lxcpath + rundir; kills what runs in it and removes it on drop.
struct Env {
    root: PathBuf,
}

impl Env {
    fn new(tag: &str) -> Env {
        let root = std::env::temp_dir().join(format!("lxcbox-tools-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("lxc")).unwrap();
        Env { root }
    }
    fn lxcpath(&self) -> String {
        self.root.join("lxc").to_string_lossy().into_owned()
    }
    fn run(&self, applet: &str, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_lxcbox"))
            .arg(applet)
            .args(["-P", &self.lxcpath()])
            .args(args)
            .env("LXCBOX_RUNDIR", self.root.join("run"))
            .output()
            .unwrap()
    }
    fn out(&self, applet: &str, args: &[&str]) -> String {
        let o = self.run(applet, args);
        assert!(
            o.status.success(),
            "{applet} {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
    /// A config-only container that can start without a rootfs.
    fn define(&self, name: &str, text: &str) {
        let d = self.root.join("lxc").join(name);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("config"), text).unwrap();
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Ok(rd) = std::fs::read_dir(self.root.join("lxc")) {
            for e in rd.flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                let _ = self.run("lxc-destroy", &["-f", "-n", &n]);
            }
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

#[test]
fn create_list_info_destroy_stopped() {
    let env = Env::new("stopped");
    let base = env.root.join("base.conf");
    std::fs::write(
        &base,
        "lxc.start.auto = 1\nlxc.group = web\nlxc.group = db\n",
    )
    .unwrap();
    env.out(
        "lxc-create",
        &["-t", "none", "-n", "c2", "-f", base.to_str().unwrap()],
    );
    env.define("c1", "lxc.uts.name = c1\n");
    // As LXC 5: -t none saves the base config alone (no rootfs, no name).
    let cfg = std::fs::read_to_string(env.root.join("lxc/c2/config")).unwrap();
    assert_eq!(cfg, "lxc.start.auto = 1\nlxc.group = web\nlxc.group = db\n");
    assert!(!env.root.join("lxc/c2/rootfs").exists());
    let again = env.run("lxc-create", &["-n", "c2"]);
    assert_eq!(again.status.code(), Some(1));

    assert_eq!(env.out("lxc-ls", &[]), "c1  \nc2  \n");
    assert_eq!(env.out("lxc-ls", &["-1"]), "c1\nc2\n");
    assert_eq!(
        env.out("lxc-ls", &["-f"]),
        "NAME STATE   AUTOSTART GROUPS  IPV4 IPV6 UNPRIVILEGED \n\
         c1   STOPPED 0         -       -    -    false        \n\
         c2   STOPPED 1         web, db -    -    false        \n"
    );
    assert_eq!(env.out("lxc-ls", &["-1", "-g", "db"]), "c2\n");
    assert_eq!(env.out("lxc-ls", &["-1", "--filter", "1"]), "c1\n");
    assert_eq!(env.out("lxc-ls", &["-1", "2$"]), "c2\n");
    let bad = env.run("lxc-ls", &["-f", "-F", "NAME,bogus"]);
    assert_eq!(bad.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&bad.stderr), "Invalid key: bogus\n");

    assert_eq!(
        env.out("lxc-info", &["-n", "c1"]),
        "Name:           c1\nState:          STOPPED\n"
    );
    assert_eq!(env.out("lxc-info", &["-n", "c1", "-s", "-H"]), "STOPPED\n");
    assert_eq!(
        env.out("lxc-info", &["-n", "c1", "-c", "lxc.uts.name"]),
        "lxc.uts.name = c1\n"
    );
    assert_eq!(
        env.out("lxc-info", &["-n", "c1", "-c", "lxc.uts.name", "-H"]),
        "c1\n"
    );
    let missing = env.run("lxc-info", &["-n", "nope"]);
    assert_eq!(missing.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&missing.stderr),
        "nope doesn't exist\n"
    );
    assert_eq!(
        env.out("lxc-list", &[]),
        "RUNNING\n\nFROZEN\n\nSTOPPED\n  c1\n  c2\n"
    );

    env.out("lxc-destroy", &["-n", "c2"]);
    assert!(!env.root.join("lxc/c2").exists());
    let gone = env.run("lxc-destroy", &["-n", "c2"]);
    assert_eq!(gone.status.code(), Some(1));
}

#[test]
fn running_container_is_seen_and_force_destroyed() {
    let env = Env::new("running");
    env.define("r1", "lxc.uts.name = r1\n");
    env.out("lxc-start", &["-n", "r1", "--", "/bin/sleep", "1000"]);
    let pid: i32 = env
        .out("lxc-info", &["-n", "r1", "-p", "-H"])
        .trim()
        .parse()
        .unwrap();
    assert!(pid > 1);
    let info = env.out("lxc-info", &["-n", "r1"]);
    assert!(
        info.starts_with(&format!(
            "Name:           r1\nState:          RUNNING\nPID:            {pid}\n"
        )),
        "{info}"
    );
    // The cgroup counters follow, in LXC's layout.
    for line in ["CPU use:        ", "Memory use:     "] {
        assert!(
            info.lines().any(|l| l.starts_with(line)),
            "{line:?} missing: {info}"
        );
    }
    assert_eq!(
        env.out("lxc-ls", &["-f", "-F", "NAME,STATE,PID"]),
        format!(
            "NAME STATE   PID{0} \nr1   RUNNING {pid} \n",
            " ".repeat(pid.to_string().len() - 3)
        )
    );
    assert_eq!(env.out("lxc-ls", &["-1", "--running"]), "r1\n");
    assert_eq!(env.out("lxc-ls", &["-1", "--stopped"]), "");
    assert_eq!(
        env.out("lxc-list", &[]),
        "RUNNING\n  r1\n\nFROZEN\n\nSTOPPED\n"
    );
    let ps = env.out("lxc-ps", &["-n", "r1"]);
    assert!(
        ps.contains(&format!("r1        {pid:>7} /bin/sleep 1000\n")),
        "{ps}"
    );

    let refused = env.run("lxc-destroy", &["-n", "r1"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(env.root.join("lxc/r1/config").exists());
    env.out("lxc-destroy", &["-n", "r1", "-f"]);
    assert!(!env.root.join("lxc/r1").exists());
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
}
