//! lxc-checkconfig: LXC 5.0.2's script (src/lxc/cmd/lxc-checkconfig.in),
//! built in: the kernel configuration from $CONFIG, /proc/config.gz or
//! /boot/config-$(uname -r) (gzip read in process), the same sections,
//! lines and verdicts, colours only when stdout is a terminal. No shell,
//! zcat, lsmod or modinfo ([`inflate`] reads the gzip).
//!
//! Everything the report looks at goes through [`Host`], so the text is
//! unit-tested against fixed inputs; [`SystemHost`] is the real machine.

use std::fmt::Write as _;

/// What the report reads from the machine.
pub trait Host {
    /// The contents of a regular file (`None`: missing, not a file, unreadable).
    fn read(&self, path: &str) -> Option<Vec<u8>>;
    /// `[ -f PATH ]`.
    fn is_file(&self, path: &str) -> bool;
    /// The path of PROG in $PATH and whether it is setuid.
    fn which(&self, prog: &str) -> Option<(String, bool)>;
    /// `uname -r`.
    fn kernel_release(&self) -> String;
    fn env(&self, key: &str) -> Option<String>;
    /// The kernel interfaces newer than 4.19 this kernel lacks (probed).
    fn missing_features(&self) -> Vec<crate::sys::kernel::Feature> {
        Vec::new()
    }
}

/// The machine lxcbox runs on.
pub struct SystemHost;

impl Host for SystemHost {
    fn read(&self, path: &str) -> Option<Vec<u8>> {
        if !self.is_file(path) {
            return None;
        }
        std::fs::read(path).ok()
    }

    fn is_file(&self, path: &str) -> bool {
        std::fs::metadata(path).is_ok_and(|m| m.is_file())
    }

    fn which(&self, prog: &str) -> Option<(String, bool)> {
        use std::os::unix::fs::PermissionsExt;
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path).find_map(|d| {
            let p = d.join(prog);
            let m = std::fs::metadata(&p).ok()?;
            (m.is_file() && m.permissions().mode() & 0o111 != 0).then(|| {
                (
                    p.display().to_string(),
                    m.permissions().mode() & 0o4000 != 0,
                )
            })
        })
    }

    fn kernel_release(&self) -> String {
        rustix::system::uname()
            .release()
            .to_string_lossy()
            .into_owned()
    }

    fn env(&self, key: &str) -> Option<String> {
        std::env::var(key).ok()
    }

    fn missing_features(&self) -> Vec<crate::sys::kernel::Feature> {
        crate::sys::kernel::missing()
    }
}

/// What the run printed and its exit status.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

/// Lines about kernel features lxcbox works around (issue 18, embedded
/// hosts): printed in a section of their own after LXC's, only when there
/// are any, so the report stays LXC's line for line otherwise.
pub fn kernel_fallbacks(host: &dyn Host) -> Vec<String> {
    host.missing_features()
        .into_iter()
        .map(|f| {
            format!(
                "{}: missing (Linux {}+), fallback: {}",
                f.name(),
                f.since(),
                f.fallback()
            )
        })
        .collect()
}

mod inflate;
pub use inflate::gunzip;

/// The decompressed kernel configuration (gzip or plain text).
pub fn config_text(data: &[u8]) -> String {
    match gunzip(data) {
        Some(t) => String::from_utf8_lossy(&t).into_owned(),
        None => String::from_utf8_lossy(data).into_owned(),
    }
}

const GREEN: &str = "\x1b[1;32m";
const RED: &str = "\x1b[1;31m";
const YELLOW: &str = "\x1b[1;33m";
const NORMAL: &str = "\x1b[0;39m";

struct Out<'a> {
    text: String,
    color: bool,
    config: &'a str,
}

impl Out<'_> {
    fn line(&mut self, s: &str) {
        self.text.push_str(s);
        self.text.push('\n');
    }

    fn put(&mut self, s: &str) {
        self.text.push_str(s);
    }

    fn colored(&mut self, c: &str, s: &str) {
        if self.color {
            let _ = write!(self.text, "{c}{s}{NORMAL}");
        } else {
            self.text.push_str(s);
        }
    }

    /// The script's is_set: a line containing `NAME=y`, `NAME=m` (or the
    /// `|` its character class also matches).
    fn is_set(&self, name: &str) -> bool {
        let pat = format!("{name}=");
        self.config.lines().any(|l| {
            l.match_indices(&pat)
                .any(|(i, _)| matches!(l.as_bytes().get(i + pat.len()), Some(b'y' | b'm' | b'|')))
        })
    }

    /// show_enabled: `enabled`, or `required` / `missing`; true if enabled.
    fn verdict(&mut self, ok: bool, mandatory: bool) -> bool {
        match (ok, mandatory) {
            (true, _) => self.colored(GREEN, "enabled"),
            (false, true) => self.colored(RED, "required"),
            (false, false) => self.colored(YELLOW, "missing"),
        }
        ok
    }

    fn enabled(&mut self, name: &str, mandatory: bool) -> bool {
        let ok = self.is_set(name);
        self.verdict(ok, mandatory)
    }

    /// `LABEL: <verdict>` and a newline.
    fn check(&mut self, label: &str, name: &str, mandatory: bool) {
        self.put(label);
        self.enabled(name, mandatory);
        self.line("");
    }
}

/// The kernel version from the `# Linux/ARCH X.Y.Z Kernel Configuration`
/// line, read with the script's sed expressions: (major, minor), `None`
/// where an expression does not match (the script then compares the whole
/// line, and every numeric test fails); no such line at all: `Err`.
fn kernel_version(config: &str) -> Result<(Option<u32>, Option<u32>), ()> {
    let line = config
        .lines()
        .find(|l| l.starts_with("# Linux") && l.contains("Kernel Configuration"))
        .ok_or(())?;
    let cap = |re: &str| {
        regex_lite::Regex::new(re)
            .ok()?
            .captures(line)?
            .get(1)?
            .as_str()
            .parse::<u32>()
            .ok()
    };
    let major = cap(r"^.* ([0-9])\.[0-9]{1,2}\.[0-9]{1,3}.*$");
    let minor = if major == Some(2) {
        cap(r"^.* 2.6.([0-9]{2}).*$")
    } else {
        cap(r"^.* [0-9]\.([0-9]{1,3})\.[0-9]{1,3}.*$")
    };
    Ok((major, minor))
}

/// Mount points of filesystem type `fstype` in a /proc/self/mounts text
/// (the script's awk: device without '#', type equal).
fn mounts_of(mounts: &str, fstype: &str) -> Vec<String> {
    mounts
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 3 && !f[0].contains('#') && f[2] == fstype).then(|| f[1].to_string())
        })
        .collect()
}

/// Run the check. `argv0` is how the applet was invoked (the script's `$0`),
/// `color` whether stdout is a terminal.
pub fn run(host: &dyn Host, argv0: &str, color: bool) -> Report {
    let mut rep = Report::default();
    let base = argv0.rsplit('/').next().unwrap_or(argv0).to_string();
    let mut head = String::new();
    let _ = writeln!(head, "LXC version {}", crate::LXC_COMPAT_VERSION);
    let mut path = host
        .env("CONFIG")
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "/proc/config.gz".into());
    let modname = host
        .env("MODNAME")
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "configs".into());
    if !host.is_file(&path) {
        let _ = writeln!(
            head,
            "Kernel configuration not found at {path}; searching..."
        );
        let kver = host.kernel_release();
        let headers = format!("/lib/modules/{kver}/build/.config");
        let boot = format!("/boot/config-{kver}");
        if host.is_file(&headers) {
            path = headers;
        }
        if host.is_file(&boot) {
            path = boot;
        }
        if !host.is_file(&path) {
            rep.stdout = head;
            let module = ["", ".xz", ".zst", ".gz"].iter().any(|ext| {
                host.is_file(&format!(
                    "/lib/modules/{kver}/kernel/kernel/{modname}.ko{ext}"
                ))
            });
            let mut e = format!("{base}: unable to retrieve kernel configuration\n\n");
            if module {
                let _ = writeln!(e, "Try modprobe {modname} module, or");
            }
            e.push_str("Try recompiling with IKCONFIG_PROC, installing the kernel headers,\n");
            e.push_str("or specifying the kernel configuration path with:\n");
            let _ = writeln!(e, "  CONFIG=<path> {base}");
            rep.stderr = e;
            rep.code = 1;
            return rep;
        }
        let _ = writeln!(head, "Kernel configuration found at {path}");
    }
    let config = config_text(&host.read(&path).unwrap_or_default());
    let mut o = Out {
        text: head,
        color,
        config: &config,
    };
    let (major, minor) = match kernel_version(&config) {
        Ok(v) => v,
        Err(()) => {
            o.line("WARNING: Unable to detect version from configuration, assuming latest");
            o.line("");
            (Some(100), Some(0))
        }
    };
    // The script's numeric tests: an unparsed version makes them false.
    let lt = |v: Option<u32>, n: u32| v.is_some_and(|v| v < n);
    let gt = |v: Option<u32>, n: u32| v.is_some_and(|v| v > n);
    let ge = |v: Option<u32>, n: u32| v.is_some_and(|v| v >= n);
    let eq = |v: Option<u32>, n: u32| v == Some(n);

    o.line("");
    o.line("--- Namespaces ---");
    o.check("Namespaces: ", "CONFIG_NAMESPACES", true);
    o.check("Utsname namespace: ", "CONFIG_UTS_NS", false);
    o.check("Ipc namespace: ", "CONFIG_IPC_NS", true);
    o.check("Pid namespace: ", "CONFIG_PID_NS", true);
    o.check("User namespace: ", "CONFIG_USER_NS", false);
    if o.is_set("CONFIG_USER_NS") {
        for tool in ["newuidmap", "newgidmap"] {
            match host.which(tool) {
                Some((_, true)) => {}
                Some((_, false)) => o.line(&format!("Warning: {tool} is not setuid-root")),
                None => o.line(&format!("{tool} is not installed")),
            }
        }
    }
    o.check("Network namespace: ", "CONFIG_NET_NS", false);
    if lt(major, 4) || (eq(major, 4) && lt(minor, 7)) {
        o.check(
            "Multiple /dev/pts instances: ",
            "DEVPTS_MULTIPLE_INSTANCES",
            false,
        );
    }
    o.line("");

    o.line("--- Control groups ---");
    o.check("Cgroups: ", "CONFIG_CGROUPS", false);
    o.put("Cgroup namespace: ");
    o.verdict(host.is_file("/proc/self/ns/cgroup"), false);
    o.line("");
    let mounts =
        String::from_utf8_lossy(&host.read("/proc/self/mounts").unwrap_or_default()).into_owned();
    let v1 = mounts_of(&mounts, "cgroup");
    let v2 = mounts_of(&mounts, "cgroup2");
    o.line("Cgroup v1 mount points: ");
    for m in &v1 {
        o.line(&format!(" - {m}"));
    }
    o.line("Cgroup v2 mount points: ");
    for m in &v2 {
        o.line(&format!(" - {m}"));
    }
    if v2.join("\n") != "/sys/fs/cgroup" {
        if !v1.iter().any(|m| m.contains("/systemd")) {
            o.put("Cgroup v1 systemd controller: ");
            o.colored(RED, "missing");
            o.line("");
        }
        if !v1.iter().any(|m| m.contains("/freezer")) {
            o.put("Cgroup v1 freezer controller: ");
            o.colored(RED, "missing");
            o.line("");
        }
        let first = v1.first().map(String::as_str).unwrap_or("");
        if host.is_file(&format!("{first}/cgroup.clone_children")) {
            o.put("Cgroup v1 clone_children flag: ");
            o.colored(GREEN, "enabled\n");
        }
    }
    o.check("Cgroup device: ", "CONFIG_CGROUP_DEVICE", false);
    o.check("Cgroup sched: ", "CONFIG_CGROUP_SCHED", false);
    o.check("Cgroup cpu account: ", "CONFIG_CGROUP_CPUACCT", false);
    o.put("Cgroup memory controller: ");
    if (ge(major, 3) && ge(minor, 6)) || gt(major, 3) {
        o.enabled("CONFIG_MEMCG", false);
    } else {
        o.enabled("CONFIG_CGROUP_MEM_RES_CTLR", false);
    }
    o.line("");
    // `is_set SMP && echo -n .. && is_enabled CPUSETS && echo`: the newline
    // only follows an enabled cpuset (the script's quirk, kept).
    if o.is_set("CONFIG_SMP") {
        o.put("Cgroup cpuset: ");
        if o.enabled("CONFIG_CPUSETS", false) {
            o.line("");
        }
    }
    o.line("");

    o.line("--- Misc ---");
    let modules = host
        .read("/proc/modules")
        .map(|m| String::from_utf8_lossy(&m).into_owned());
    let m = modules.as_deref();
    probed(&mut o, m, "Veth pair device: ", "CONFIG_VETH", "veth");
    o.line("");
    probed(&mut o, m, "Macvlan: ", "CONFIG_MACVLAN", "macvlan");
    o.line("");
    probed(&mut o, m, "Vlan: ", "CONFIG_VLAN_8021Q", "8021q");
    o.line("");
    probed(&mut o, m, "Bridges: ", "CONFIG_BRIDGE", "bridge");
    o.line("");
    probed(
        &mut o,
        m,
        "Advanced netfilter: ",
        "CONFIG_NETFILTER_ADVANCED",
        "nf_tables",
    );
    if gt(major, 3) && gt(minor, 6) && lt(major, 5) {
        o.line("");
        probed(
            &mut o,
            m,
            "CONFIG_NF_NAT_IPV4: ",
            "CONFIG_NF_NAT_IPV4",
            "nf_nat_ipv4",
        );
        o.line("");
        probed(
            &mut o,
            m,
            "CONFIG_NF_NAT_IPV6: ",
            "CONFIG_NF_NAT_IPV6",
            "nf_nat_ipv6",
        );
    }
    o.line("");
    for (name, module) in [
        ("CONFIG_IP_NF_TARGET_MASQUERADE", "nf_nat_masquerade_ipv4"),
        ("CONFIG_IP6_NF_TARGET_MASQUERADE", "nf_nat_masquerade_ipv6"),
        ("CONFIG_NETFILTER_XT_TARGET_CHECKSUM", "xt_CHECKSUM"),
        ("CONFIG_NETFILTER_XT_MATCH_COMMENT", "xt_comment"),
    ] {
        probed(&mut o, m, &format!("{name}: "), name, module);
        o.line("");
    }
    probed(
        &mut o,
        m,
        "FUSE (for use with lxcfs): ",
        "CONFIG_FUSE_FS",
        "fuse",
    );
    o.line("");
    o.line("");

    o.line("--- Checkpoint/Restore ---");
    o.check("checkpoint restore: ", "CONFIG_CHECKPOINT_RESTORE", false);
    for k in [
        "CONFIG_FHANDLE",
        "CONFIG_EVENTFD",
        "CONFIG_EPOLL",
        "CONFIG_UNIX_DIAG",
        "CONFIG_INET_DIAG",
        "CONFIG_PACKET_DIAG",
        "CONFIG_NETLINK_DIAG",
    ] {
        o.check(&format!("{k}: "), k, false);
    }
    o.put("File capabilities: ");
    if eq(major, 2) && lt(minor, 33) {
        o.enabled("CONFIG_SECURITY_FILE_CAPABILITIES", false);
        o.line("");
    } else {
        o.colored(GREEN, "enabled\n");
    }

    let fallbacks = kernel_fallbacks(host);
    if !fallbacks.is_empty() {
        o.line("");
        o.line("--- lxcbox kernel fallbacks in use ---");
        for f in &fallbacks {
            o.line(f);
        }
    }

    o.line("");
    o.line("Note : Before booting a new kernel, you can check its configuration");
    o.line(&format!("usage : CONFIG=/path/to/config {argv0}"));
    o.line("");
    rep.stdout = o.text;
    rep
}

/// `LABEL` and the verdict, then (when enabled and the kernel has
/// modules) whether MODULE is loaded: the script's `is_enabled && is_probed`.
fn probed(o: &mut Out<'_>, modules: Option<&str>, label: &str, name: &str, module: &str) {
    o.put(label);
    if o.enabled(name, false) {
        if let Some(m) = modules {
            o.put(if m.contains(module) {
                ", loaded"
            } else {
                ", not loaded"
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[derive(Default)]
    struct Fake {
        files: HashMap<String, Vec<u8>>,
        env: HashMap<String, String>,
        tools: HashMap<String, bool>,
    }

    impl Host for Fake {
        fn read(&self, path: &str) -> Option<Vec<u8>> {
            self.files.get(path).cloned()
        }
        fn is_file(&self, path: &str) -> bool {
            self.files.contains_key(path)
        }
        fn which(&self, prog: &str) -> Option<(String, bool)> {
            self.tools
                .get(prog)
                .map(|s| (format!("/usr/bin/{prog}"), *s))
        }
        fn kernel_release(&self) -> String {
            "6.18.0-test".into()
        }
        fn env(&self, key: &str) -> Option<String> {
            self.env.get(key).cloned()
        }
    }

    const MOUNTS: &str = "cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\ncgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0\ncgroup /sys/fs/cgroup/freezer cgroup rw,freezer 0 0\ncgroup /sys/fs/cgroup/systemd cgroup rw,name=systemd 0 0\n";

    fn host(config: &str) -> Fake {
        let mut f = Fake::default();
        f.files
            .insert("/proc/config.gz".into(), config.as_bytes().to_vec());
        f.files
            .insert("/proc/self/mounts".into(), MOUNTS.as_bytes().to_vec());
        f.files.insert("/proc/self/ns/cgroup".into(), Vec::new());
        f.files.insert(
            "/sys/fs/cgroup/cpu/cgroup.clone_children".into(),
            b"0\n".to_vec(),
        );
        f.tools.insert("newuidmap".into(), true);
        f.tools.insert("newgidmap".into(), true);
        f
    }

    const CONFIG: &str = "#\n# Automatically generated file; DO NOT EDIT.\n# Linux/x86 6.18.0 Kernel Configuration\n#\nCONFIG_NAMESPACES=y\nCONFIG_UTS_NS=y\nCONFIG_IPC_NS=y\nCONFIG_PID_NS=y\nCONFIG_USER_NS=y\nCONFIG_NET_NS=y\nCONFIG_CGROUPS=y\nCONFIG_CGROUP_DEVICE=y\nCONFIG_CGROUP_SCHED=y\nCONFIG_CGROUP_CPUACCT=y\nCONFIG_MEMCG=y\nCONFIG_SMP=y\nCONFIG_CPUSETS=y\nCONFIG_VETH=m\nCONFIG_MACVLAN=m\n# CONFIG_VLAN_8021Q is not set\nCONFIG_BRIDGE=m\nCONFIG_NETFILTER_ADVANCED=y\nCONFIG_IP_NF_TARGET_MASQUERADE=m\nCONFIG_IP6_NF_TARGET_MASQUERADE=m\nCONFIG_NETFILTER_XT_TARGET_CHECKSUM=m\nCONFIG_NETFILTER_XT_MATCH_COMMENT=m\nCONFIG_FUSE_FS=y\nCONFIG_CHECKPOINT_RESTORE=y\nCONFIG_FHANDLE=y\nCONFIG_EVENTFD=y\nCONFIG_EPOLL=y\nCONFIG_UNIX_DIAG=y\nCONFIG_INET_DIAG=y\nCONFIG_PACKET_DIAG=y\nCONFIG_NETLINK_DIAG=y\n";

    /// What LXC 5.0.2's script prints for CONFIG on this host (captured
    /// from /usr/bin/lxc-checkconfig with the same inputs).
    const EXPECTED: &str = "LXC version 5.0.2\n\n--- Namespaces ---\nNamespaces: enabled\nUtsname namespace: enabled\nIpc namespace: enabled\nPid namespace: enabled\nUser namespace: enabled\nNetwork namespace: enabled\n\n--- Control groups ---\nCgroups: enabled\nCgroup namespace: enabled\nCgroup v1 mount points: \n - /sys/fs/cgroup/cpu\n - /sys/fs/cgroup/freezer\n - /sys/fs/cgroup/systemd\nCgroup v2 mount points: \n - /sys/fs/cgroup/unified\nCgroup v1 clone_children flag: enabled\nCgroup device: enabled\nCgroup sched: enabled\nCgroup cpu account: enabled\nCgroup memory controller: enabled\nCgroup cpuset: enabled\n\n--- Misc ---\nVeth pair device: enabled\nMacvlan: enabled\nVlan: missing\nBridges: enabled\nAdvanced netfilter: enabled\nCONFIG_IP_NF_TARGET_MASQUERADE: enabled\nCONFIG_IP6_NF_TARGET_MASQUERADE: enabled\nCONFIG_NETFILTER_XT_TARGET_CHECKSUM: enabled\nCONFIG_NETFILTER_XT_MATCH_COMMENT: enabled\nFUSE (for use with lxcfs): enabled\n\n--- Checkpoint/Restore ---\ncheckpoint restore: enabled\nCONFIG_FHANDLE: enabled\nCONFIG_EVENTFD: enabled\nCONFIG_EPOLL: enabled\nCONFIG_UNIX_DIAG: enabled\nCONFIG_INET_DIAG: enabled\nCONFIG_PACKET_DIAG: enabled\nCONFIG_NETLINK_DIAG: enabled\nFile capabilities: enabled\n\nNote : Before booting a new kernel, you can check its configuration\nusage : CONFIG=/path/to/config /usr/bin/lxc-checkconfig\n\n";

    #[test]
    fn fallbacks_get_a_section_of_their_own() {
        struct Old(Fake);
        impl Host for Old {
            fn read(&self, path: &str) -> Option<Vec<u8>> {
                self.0.read(path)
            }
            fn is_file(&self, path: &str) -> bool {
                self.0.is_file(path)
            }
            fn which(&self, prog: &str) -> Option<(String, bool)> {
                self.0.which(prog)
            }
            fn kernel_release(&self) -> String {
                "4.19.0-test".into()
            }
            fn env(&self, key: &str) -> Option<String> {
                self.0.env(key)
            }
            fn missing_features(&self) -> Vec<crate::sys::kernel::Feature> {
                use crate::sys::kernel::Feature;
                vec![Feature::Clone3, Feature::Openat2, Feature::TimeNamespace]
            }
        }
        let r = run(&Old(host(CONFIG)), "/usr/bin/lxc-checkconfig", false);
        let section = "\n--- lxcbox kernel fallbacks in use ---\n\
            clone3: missing (Linux 5.3+), fallback: clone(2), or fork + unshare(2)\n\
            openat2: missing (Linux 5.6+), fallback: O_PATH|O_NOFOLLOW walk\n\
            time namespace: missing (Linux 5.6+), fallback: none: lxc.time.offset.* is refused\n\n\
            Note : Before booting";
        assert!(r.stdout.contains(section), "{}", r.stdout);
        // Everything else is LXC's report unchanged.
        let lxc_part = r.stdout.replacen(
            &section[..section.len() - "\nNote : Before booting".len()],
            "",
            1,
        );
        assert_eq!(lxc_part, EXPECTED);
    }

    #[test]
    fn the_scripts_report() {
        let r = run(&host(CONFIG), "/usr/bin/lxc-checkconfig", false);
        assert_eq!(r.code, 0);
        assert_eq!(r.stderr, "");
        assert_eq!(r.stdout, EXPECTED);
    }

    #[test]
    fn verdicts_colours_modules_and_quirks() {
        let cfg = CONFIG
            .replace("CONFIG_NAMESPACES=y\n", "")
            .replace("CONFIG_CPUSETS=y\n", "")
            .replace("CONFIG_UTS_NS=y\n", "");
        let mut h = host(&cfg);
        h.files.insert(
            "/proc/modules".into(),
            b"veth 40960 0 - Live 0x0\nbridge 311296 0 - Live 0x0\n".to_vec(),
        );
        h.tools.insert("newuidmap".into(), false);
        h.tools.remove("newgidmap");
        let r = run(&h, "lxc-checkconfig", true);
        assert!(
            r.stdout
                .contains("Namespaces: \x1b[1;31mrequired\x1b[0;39m\n"),
            "{}",
            r.stdout
        );
        assert!(r
            .stdout
            .contains("Utsname namespace: \x1b[1;33mmissing\x1b[0;39m\n"));
        assert!(r.stdout.contains("User namespace: \x1b[1;32menabled\x1b[0;39m\nWarning: newuidmap is not setuid-root\nnewgidmap is not installed\n"));
        // A missing cpuset eats the newline before the blank line, as the script.
        assert!(
            r.stdout
                .contains("Cgroup cpuset: \x1b[1;33mmissing\x1b[0;39m\n--- Misc ---\n"),
            "{}",
            r.stdout
        );
        assert!(r
            .stdout
            .contains("Veth pair device: \x1b[1;32menabled\x1b[0;39m, loaded\n"));
        assert!(r
            .stdout
            .contains("Macvlan: \x1b[1;32menabled\x1b[0;39m, not loaded\n"));
        assert!(r.stdout.contains("Vlan: \x1b[1;33mmissing\x1b[0;39m\n"));
        assert!(r
            .stdout
            .contains("File capabilities: \x1b[1;32menabled\n\x1b[0;39m\n"));
        assert!(r
            .stdout
            .ends_with("usage : CONFIG=/path/to/config lxc-checkconfig\n\n"));
    }

    #[test]
    fn pure_v2_and_old_kernels() {
        let mut h = host(&CONFIG.replace("6.18.0", "4.9.110"));
        h.files.insert(
            "/proc/self/mounts".into(),
            b"cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n".to_vec(),
        );
        let r = run(&h, "lxc-checkconfig", false);
        assert!(
            r.stdout
                .contains("Cgroup v2 mount points: \n - /sys/fs/cgroup\nCgroup device:"),
            "{}",
            r.stdout
        );
        assert!(!r.stdout.contains("systemd controller"));
        assert!(r.stdout.contains("Advanced netfilter: enabled\nCONFIG_NF_NAT_IPV4: missing\nCONFIG_NF_NAT_IPV6: missing\nCONFIG_IP_NF"), "{}", r.stdout);
        let h = host(&CONFIG.replace("6.18.0", "4.4.1"));
        let r = run(&h, "x", false);
        assert!(r
            .stdout
            .contains("Network namespace: enabled\nMultiple /dev/pts instances: missing\n\n"));
        assert!(!r.stdout.contains("Cgroup v1 systemd controller"));
        let h = host(&CONFIG.replace("# Linux/x86 6.18.0 Kernel Configuration\n", ""));
        let r = run(&h, "x", false);
        assert!(r.stdout.contains("LXC version 5.0.2\nWARNING: Unable to detect version from configuration, assuming latest\n\n\n--- Namespaces ---"), "{}", r.stdout);
    }

    #[test]
    fn finding_the_configuration() {
        let mut h = host(CONFIG);
        let text = h.files.remove("/proc/config.gz").unwrap();
        h.files
            .insert("/boot/config-6.18.0-test".into(), text.clone());
        let r = run(&h, "lxc-checkconfig", false);
        assert!(r.stdout.starts_with("LXC version 5.0.2\nKernel configuration not found at /proc/config.gz; searching...\nKernel configuration found at /boot/config-6.18.0-test\n\n--- Namespaces ---\n"), "{}", r.stdout);
        // CONFIG=path, gzip or not.
        let mut h = host(CONFIG);
        h.files.remove("/proc/config.gz");
        h.files
            .insert("/tmp/cfg.gz".into(), gzip(CONFIG.as_bytes()));
        h.env.insert("CONFIG".into(), "/tmp/cfg.gz".into());
        assert_eq!(run(&h, "/usr/bin/lxc-checkconfig", false).stdout, EXPECTED);
        // Nowhere: the script's message on stderr, exit 1.
        let mut h = host(CONFIG);
        h.files.remove("/proc/config.gz");
        h.files.insert(
            "/lib/modules/6.18.0-test/kernel/kernel/configs.ko.xz".into(),
            Vec::new(),
        );
        let r = run(&h, "/usr/bin/lxc-checkconfig", false);
        assert_eq!(r.code, 1);
        assert_eq!(
            r.stdout,
            "LXC version 5.0.2\nKernel configuration not found at /proc/config.gz; searching...\n"
        );
        assert_eq!(r.stderr, "lxc-checkconfig: unable to retrieve kernel configuration\n\nTry modprobe configs module, or\nTry recompiling with IKCONFIG_PROC, installing the kernel headers,\nor specifying the kernel configuration path with:\n  CONFIG=<path> lxc-checkconfig\n");
    }

    /// A gzip member (with a file name) holding one stored deflate block.
    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut g = vec![0x1f, 0x8b, 8, 8, 0, 0, 0, 0, 0, 3];
        g.extend_from_slice(b"config\0");
        for (i, chunk) in data.chunks(65535).enumerate() {
            let last = (i + 1) * 65535 >= data.len();
            g.push(u8::from(last));
            g.extend_from_slice(&(chunk.len() as u16).to_le_bytes());
            g.extend_from_slice(&(!(chunk.len() as u16)).to_le_bytes());
            g.extend_from_slice(chunk);
        }
        g.extend_from_slice(&inflate::crc32(data).to_le_bytes());
        g.extend_from_slice(&(data.len() as u32).to_le_bytes());
        g
    }

    #[test]
    fn plain_or_gzip() {
        assert_eq!(config_text(&gzip(b"CONFIG_X=y\n")), "CONFIG_X=y\n");
        assert_eq!(config_text(b"plain\n"), "plain\n");
    }
}
