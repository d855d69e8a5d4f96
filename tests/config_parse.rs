//! Parser tests over fixtures: every key group, legacy aliases, includes,
//! quotes, clearing, round trip through the writer.

use std::path::{Path, PathBuf};

use lxcbox::config::{write, AutoMode, Config, NetType};
use lxcbox::namespace::Namespace;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config")
        .join(name)
}

fn parse(text: &str) -> Config {
    Config::parse_str(text, "t.conf", Path::new("/nonexistent"))
        .unwrap_or_else(|e| panic!("parse failed: {e:#}"))
}

fn roundtrip(c: &Config) {
    let text = write(c);
    let again = parse(&text);
    assert_eq!(&again, c, "round trip changed the config; written:\n{text}");
    // Writing is stable.
    assert_eq!(write(&again), text);
}

#[test]
fn modern_every_group() {
    let c = Config::load(&fixture("modern_all.conf")).unwrap();
    // general
    assert_eq!(c.arch.as_deref(), Some("x86_64"));
    assert_eq!(c.uts_name.as_deref(), Some("bb1"));
    assert!(c.ephemeral && c.sched_core);
    assert_eq!(c.keyring_session, Some(false));
    assert_eq!(c.time_offset_boot.as_deref(), Some("-1h"));
    // init
    assert_eq!(c.init_cmd.as_deref(), Some("/sbin/init --debug"));
    assert_eq!((c.init_uid, c.init_gid), (Some(1000), Some(100)));
    assert_eq!(c.init_groups, [10, 20, 30]);
    assert_eq!(c.execute_cmd.as_deref(), Some("/bin/sh"));
    // signals
    assert_eq!(
        (c.signal_halt, c.signal_reboot, c.signal_stop),
        (Some(30), Some(37), Some(9))
    );
    // rootfs with type prefix
    assert_eq!(c.rootfs.backend.as_deref(), Some("dir"));
    assert_eq!(c.rootfs.path.as_deref(), Some("/var/lib/lxc/bb1/rootfs"));
    assert_eq!(c.rootfs.options.as_deref(), Some("ro"));
    assert_eq!(c.rootfs.managed, Some(false));
    // mounts: the second mount.auto line adds tokens
    assert_eq!(c.mount_entries.len(), 2);
    assert_eq!(c.mount_auto.proc, Some(AutoMode::Rw));
    assert_eq!(c.mount_auto.sys, Some(AutoMode::Ro));
    let cg = c.mount_auto.cgroup.unwrap();
    assert!(cg.full && cg.force && cg.mode == Some(AutoMode::Mixed));
    assert_eq!(
        c.mount_auto.shmounts,
        Some(("/run/host".into(), Some("/run/cont".into())))
    );
    assert_eq!((c.autodev, c.autodev_tmpfs_size), (Some(true), Some(1000)));
    // tty / console
    assert_eq!((c.tty_max, c.pty_max), (4, Some(1024)));
    assert_eq!(c.tty_dir.as_deref(), Some("lxc"));
    assert_eq!(c.console.size, Some(65536));
    assert_eq!(c.console.buffer_size, None);
    assert!(c.console.rotate);
    // idmap, caps, namespaces
    assert_eq!(c.idmap.len(), 2);
    assert_eq!(c.idmap[1].kind, 'g');
    assert_eq!(
        c.cap_drop,
        ["mac_admin", "mac_override", "sys_time", "sys_module"]
    );
    assert_eq!(c.namespace_clone.to_string(), "mnt pid");
    assert_eq!(
        c.namespace_share.get(&Namespace::Uts).map(String::as_str),
        Some("/proc/1/ns/uts")
    );
    // network
    let idx: Vec<u32> = c.net.iter().map(|n| n.index).collect();
    assert_eq!(idx, [0, 1, 2, 3, 4, 5, 7]);
    let n0 = &c.net[0];
    assert_eq!(n0.kind, NetType::Veth);
    assert!(n0.up && n0.l2proxy);
    assert_eq!(n0.ipv4_addresses, ["10.0.3.2/24 10.0.3.255", "10.0.4.2/24"]);
    assert_eq!(n0.veth_vlan_tagged, [20, 30]);
    assert_eq!(n0.ipv6_gateway.as_deref(), Some("fd00::1"));
    assert_eq!(c.net[3].vlan_id, Some(100));
    assert_eq!(c.net[6].kind, NetType::None);
    assert!(c.wants_netns());
    // cgroups
    assert_eq!(c.cgroup_v1.len(), 4);
    assert_eq!(c.cgroup_v1[2], ("devices.allow".into(), "c 1:5 rwm".into()));
    assert_eq!(c.cgroup_v2[0], ("memory.high".into(), "128M".into()));
    assert_eq!(c.cgroup_dir_container_inner.as_deref(), Some("inner"));
    assert_eq!(c.cgroup_relative, Some(true));
    // prlimit: a later value of the same resource replaces in place
    assert_eq!(
        c.prlimit,
        [
            ("nofile".into(), "2048".into()),
            ("core".into(), "unlimited".into())
        ]
    );
    assert_eq!(c.sysctl[0].0, "net.ipv4.ip_forward");
    // LSM
    assert!(c.apparmor_allow_nesting && c.seccomp_allow_nesting && c.no_new_privs);
    assert_eq!(c.apparmor_raw, ["mount fstype=nfs*,"]);
    // hooks
    assert_eq!(c.hook_version, 1);
    assert_eq!(c.hooks.len(), 10);
    assert_eq!(
        c.hooks_of("post-stop").collect::<Vec<_>>(),
        ["/bin/post-stop"]
    );
    // environment, autostart, logging, monitor
    assert_eq!(c.environment, ["PATH=/bin:/usr/bin", "TERM"]);
    assert_eq!((c.start_auto, c.start_delay, c.start_order), (true, 5, -10));
    assert_eq!(c.groups, ["onboot", "web"]);
    assert_eq!(c.log_level.as_deref(), Some("DEBUG"));
    assert_eq!(c.monitor_signal_pdeath, Some(9));
    roundtrip(&c);
    // The typed config serialises (lxc-info --json and friends).
    let json = serde_json::to_value(&c).unwrap();
    assert_eq!(json["uts_name"], "bb1");
    assert_eq!(json["net"][0]["kind"], "veth");
    assert_eq!(json["signal_reboot"], 37);
}

#[test]
fn legacy_aliases_equal_modern() {
    let legacy = Config::load(&fixture("legacy_all.conf")).unwrap();
    let modern = Config::load(&fixture("legacy_all.modern.conf")).unwrap();
    assert_eq!(legacy, modern);
    assert_eq!(legacy.net.len(), 3);
    assert_eq!(legacy.net[1].kind, NetType::Macvlan);
    assert_eq!(legacy.net[1].link.as_deref(), Some("eth0"));
    assert_eq!(legacy.net[2].index, 5);
    assert_eq!(legacy.log_level.as_deref(), Some("DEBUG"));
    assert_eq!(legacy.signal_reboot, Some(38));
    roundtrip(&legacy);
}

#[test]
fn unindexed_network_keys_follow_the_latest_type_line() {
    let c = parse(
        "lxc.network.type = veth\nlxc.net.5.type = phys\nlxc.network.link = br0\n\
         lxc.network.type = macvlan\nlxc.network.link = eth0\n",
    );
    let got: Vec<(u32, Option<&str>)> =
        c.net.iter().map(|n| (n.index, n.link.as_deref())).collect();
    assert_eq!(got, [(0, Some("br0")), (5, None), (6, Some("eth0"))]);
    // With no type line in this parse (-s), the highest interface is meant.
    let mut c = c;
    c.set_item("lxc.network.name", "x0").unwrap();
    assert_eq!(c.net[2].name.as_deref(), Some("x0"));
}

#[test]
fn classic_app_container() {
    let legacy = Config::load(&fixture("classic_app.conf")).unwrap();
    let mut modern = Config::load(&fixture("classic_app.modern.conf")).unwrap();
    // The modern file spells the (implied) dir backend out, as LXC's
    // lxc-update-config writes it.
    assert_eq!(modern.rootfs.backend.take().as_deref(), Some("dir"));
    assert_eq!(legacy, modern);
    assert_eq!(legacy.uts_name.as_deref(), Some("app1"));
    assert_eq!(legacy.mount_fstab.as_deref(), Some("./fstab"));
    assert_eq!(legacy.rootfs.path.as_deref(), Some("./rootfs"));
    assert_eq!(legacy.net[0].ipv4_addresses, ["10.0.2.16/24"]);
    assert_eq!(legacy.net[0].name.as_deref(), Some("eth0"));
}

#[test]
fn includes_files_and_dirs_sorted() {
    let c = Config::load(&fixture("include/main.conf")).unwrap();
    // sub.conf overrides main's earlier line; conf.d/*.conf in name order;
    // 30-ignored.txt is not a .conf file.
    assert_eq!(c.uts_name.as_deref(), Some("sub"));
    assert_eq!(c.tty_max, 6);
    assert_eq!(c.cap_drop, ["sys_module", "mknod", "sys_time"]);
}

#[test]
fn include_loop_is_an_error() {
    let e = Config::load(&fixture("loop/a.conf")).unwrap_err();
    let msg = format!("{e:#}");
    assert!(msg.contains("include loop"), "{msg}");
    assert!(msg.contains("a.conf:2: lxc.include"), "{msg}");
    assert!(msg.contains("b.conf -> "), "{msg}");
}

#[test]
fn missing_include_is_an_error_missing_dir_is_not() {
    let e = parse_err("lxc.include = /nonexistent/x.conf\n");
    assert!(
        e.starts_with("t.conf:1: lxc.include: reading /nonexistent/x.conf"),
        "{e}"
    );
    parse("lxc.include = /nonexistent/conf.d/\n");
}

#[test]
fn quotes_comments_whitespace_martians() {
    let c = parse(
        "# comment\n\n   \t lxc.uts.name   =   \"bb1\"  \nfoo = bar\nnot a key\nlxc.tty.max='3'\nlxc.init.cmd = \"a 'b'\"\n",
    );
    assert_eq!(c.uts_name.as_deref(), Some("bb1"));
    assert_eq!(c.tty_max, 3);
    assert_eq!(c.init_cmd.as_deref(), Some("a 'b'"));
}

#[test]
fn empty_values_clear() {
    let c = parse(
        "lxc.cap.drop = sys_time\nlxc.cap.drop =\nlxc.cap.keep = sys_admin\n\
         lxc.cgroup.devices.allow = a\nlxc.cgroup.devices.deny = b\nlxc.cgroup.devices.allow =\n\
         lxc.cgroup2.x = 1\nlxc.cgroup2 =\n\
         lxc.mount.auto = proc sys\nlxc.mount.auto =\nlxc.mount.auto = cgroup\n\
         lxc.net.0.type = veth\nlxc.net.1.type = veth\nlxc.net.0 =\n\
         lxc.hook.start = a\nlxc.hook.stop = b\nlxc.hook.start =\n\
         lxc.uts.name = x\nlxc.uts.name =\nlxc.tty.max = 4\nlxc.tty.max =\n\
         lxc.environment = A=1\nlxc.environment =\nlxc.prlimit.nofile = 1\nlxc.prlimit =\n",
    );
    assert!(c.cap_drop.is_empty());
    assert_eq!(c.cap_keep, ["sys_admin"]);
    assert_eq!(c.cgroup_v1, [("devices.deny".into(), "b".into())]);
    assert!(c.cgroup_v2.is_empty());
    assert_eq!(c.mount_auto.proc, None);
    assert!(c.mount_auto.cgroup.is_some());
    assert_eq!(c.net.len(), 1);
    assert_eq!(c.net[0].index, 1);
    assert_eq!(c.hooks.len(), 1);
    assert_eq!(c.uts_name, None);
    assert_eq!(c.tty_max, 0);
    assert!(c.environment.is_empty() && c.prlimit.is_empty());
    let c = parse("lxc.net.0.type = veth\nlxc.network.type = veth\nlxc.net =\n");
    assert!(c.net.is_empty());
    let c = parse("lxc.network.type = veth\nlxc.network =\nlxc.network.type = phys\n");
    assert_eq!(c.net.len(), 1);
    assert_eq!((c.net[0].index, c.net[0].kind), (0, NetType::Phys));
}

fn parse_err(text: &str) -> String {
    match Config::parse_str(text, "t.conf", Path::new("/nonexistent")) {
        Ok(c) => panic!("accepted {text:?}: {c:?}"),
        Err(e) => format!("{e:#}"),
    }
}

#[test]
fn error_forms_name_file_line_key() {
    let cases: &[(&str, &str)] = &[
        ("\nlxc.tty.max = abc\n", "t.conf:2: lxc.tty.max: expected a number, got \"abc\""),
        ("lxc.tty = -1\n", "t.conf:1: lxc.tty: expected a number, got \"-1\""),
        ("lxc.ephemeral = yes\n", "t.conf:1: lxc.ephemeral: expected 0 or 1, got \"yes\""),
        (
            "#\n#\nlxc.signal.halt = SIGFOO\n",
            "t.conf:3: lxc.signal.halt: expected a signal name or number, got \"SIGFOO\"",
        ),
        ("lxc.cap.drop = sys_admin bogus\n", "t.conf:1: lxc.cap.drop: unknown capability \"bogus\""),
        (
            "lxc.cap.drop = sys_admin\nlxc.cap.keep = mknod\n",
            "t.conf:2: lxc.cap.keep: lxc.cap.drop and lxc.cap.keep are mutually exclusive",
        ),
        (
            "lxc.idmap = u 0 100000\n",
            "t.conf:1: lxc.idmap: expected \"u|g NSID HOSTID RANGE\", got \"u 0 100000\"",
        ),
        (
            "lxc.mount.auto = proc cgroup:bad\n",
            "t.conf:1: lxc.mount.auto: unknown lxc.mount.auto token \"cgroup:bad\"",
        ),
        ("lxc.net.0.type = bridge\n", "t.conf:1: lxc.net.0.type: unknown network type \"bridge\""),
        (
            "lxc.net.0.hwaddr = 00:11\n",
            "t.conf:1: lxc.net.0.hwaddr: expected a MAC address like 00:16:3e:xx:xx:xx, got \"00:11\"",
        ),
        ("lxc.foo = 1\n", "t.conf:1: unsupported config key \"lxc.foo\""),
        ("lxc.net.0.bogus = 1\n", "t.conf:1: lxc.net.0.bogus: unknown network key \"bogus\""),
        ("lxc.net.x.type = veth\n", "t.conf:1: lxc.net.x.type: expected an interface index"),
        ("lxc.hook.bogus = /bin/x\n", "t.conf:1: lxc.hook.bogus: unknown hook type \"bogus\""),
        ("lxc.prlimit.bogus = 1\n", "t.conf:1: lxc.prlimit.bogus: unknown resource limit"),
        ("\n\nlxc.uts.name\n", "t.conf:3: expected \"key = value\", got \"lxc.uts.name\""),
        (
            "lxc.network.link = br0\n",
            "t.conf:1: lxc.network.link: no interface to apply this to",
        ),
        ("lxc.net.0.ipv4.address = 10.0.0.300/24\n", "t.conf:1: lxc.net.0.ipv4.address: expected an IPv4 address"),
        ("lxc.net.0.name = this-is-too-long0\n", "t.conf:1: lxc.net.0.name: invalid interface name"),
        (
            "lxc.namespace.clone = pid mnt\nlxc.namespace.keep = net\n",
            "t.conf:2: lxc.namespace.keep: cannot set both lxc.namespace.clone and lxc.namespace.keep",
        ),
        ("lxc.namespace.keep = net mount\n", "t.conf:1: lxc.namespace.keep: unknown namespace \"mount\""),
        ("lxc.namespace.share.bogus = 1\n", "t.conf:1: lxc.namespace.share.bogus: unknown namespace \"bogus\""),
    ];
    for (text, want) in cases {
        let got = parse_err(text);
        assert!(
            got.starts_with(want),
            "for {text:?}\n got: {got}\nwant: {want}"
        );
    }
}

#[test]
fn set_and_get_items() {
    let mut c = Config::load(&fixture("modern_all.conf")).unwrap();
    assert_eq!(c.get_item("lxc.uts.name").unwrap(), "bb1");
    assert_eq!(c.get_item("lxc.utsname").unwrap(), "bb1");
    assert_eq!(
        c.get_item("lxc.rootfs.path").unwrap(),
        "/var/lib/lxc/bb1/rootfs"
    );
    assert_eq!(
        c.get_item("lxc.idmap").unwrap(),
        "u 0 100000 65536\ng 0 100000 65536"
    );
    assert_eq!(
        c.get_item("lxc.cgroup.devices.allow").unwrap(),
        "c 1:3 rwm\nc 1:5 rwm"
    );
    assert_eq!(c.get_item("lxc.net.0.type").unwrap(), "veth");
    assert_eq!(
        c.get_item("lxc.net.3").unwrap(),
        "lxc.net.3.type = vlan\nlxc.net.3.vlan.id = 100"
    );
    assert_eq!(c.get_item("lxc.signal.reboot").unwrap(), "37");
    assert_eq!(
        c.get_item("lxc.mount.auto").unwrap(),
        "proc:rw sys:ro cgroup-full:mixed:force shmounts:/run/host:/run/cont"
    );
    assert_eq!(
        c.get_item("lxc.cap.drop").unwrap(),
        "mac_admin\nmac_override\nsys_time\nsys_module"
    );
    // Values and forms checked against LXC 5.0.2's `lxc-info -c`.
    assert_eq!(c.get_item("lxc.namespace.clone").unwrap(), "mnt\npid");
    assert_eq!(
        c.get_item("lxc.net").unwrap(),
        "veth\nmacvlan\nipvlan\nvlan\nphys\nempty\nnone"
    );
    assert_eq!(c.get_item("lxc.net.1.hwaddr").unwrap(), "");
    assert!(c.get_item("lxc.net.6.type").is_err());
    assert_eq!(c.get_item("lxc.log.level").unwrap(), "DEBUG");
    assert_eq!(c.get_item("lxc.hook.start").unwrap(), "/bin/start");
    assert_eq!(c.get_item("lxc.execute.cmd").unwrap(), "/bin/sh");
    assert!(c
        .get_item("lxc.cgroup")
        .unwrap()
        .starts_with("lxc.cgroup.devices.deny = a\n"));
    assert!(c.get_item("lxc.nope").is_err());

    let mut fresh = Config::default();
    assert_eq!(fresh.get_item("lxc.tty.max").unwrap(), "0");
    assert_eq!(fresh.get_item("lxc.uts.name").unwrap(), "");
    for (k, v) in [
        ("lxc.pty.max", "0"),
        ("lxc.init.uid", "0"),
        ("lxc.signal.halt", "0"),
        ("lxc.autodev", "1"),
        ("lxc.rootfs.managed", "1"),
        ("lxc.monitor.signal.pdeath", "9"),
        ("lxc.log.level", "NOTSET"),
        ("lxc.console.size", "0"),
        ("lxc.arch", ""),
        ("lxc.idmap", ""),
        ("lxc.net", ""),
    ] {
        assert_eq!(fresh.get_item(k).unwrap(), v, "{k}");
    }
    fresh.set_item("lxc.tty.max", " 5 ").unwrap();
    fresh.set_item("lxc.uts.name", "\"q\"").unwrap();
    fresh.set_item("lxc.network.type", "veth").unwrap();
    fresh.set_item("lxc.network.link", "br0").unwrap();
    assert_eq!((fresh.tty_max, fresh.uts_name.as_deref()), (5, Some("q")));
    assert_eq!(fresh.net[0].link.as_deref(), Some("br0"));
    fresh.define("lxc.init.cmd=/bin/sh -c 'a=b'").unwrap();
    assert_eq!(fresh.init_cmd.as_deref(), Some("/bin/sh -c 'a=b'"));
    assert!(fresh.define("lxc.tty.max").is_err());
    fresh
        .set_item(
            "lxc.include",
            &fixture("include/sub.conf").display().to_string(),
        )
        .unwrap();
    assert_eq!(fresh.tty_max, 2);
    let e = fresh.set_item("lxc.tty.max", "x").unwrap_err().to_string();
    assert_eq!(e, "lxc.tty.max: expected a number, got \"x\"");
    assert!(fresh
        .set_item("lxc.uts.name", "a\nlxc.tty.max = 1")
        .is_err());
    assert!(c
        .set_item("lxc.bogus", "1")
        .unwrap_err()
        .to_string()
        .contains("unsupported config key"));
    c.set_item("lxc.cap.drop", "").unwrap();
    c.set_item("lxc.cap.keep", "none").unwrap();
    assert_eq!(c.get_item("lxc.cap.keep").unwrap(), "none");
}

#[test]
fn writer_quotes_and_empty_interfaces_roundtrip() {
    let mut c = Config {
        uts_name: Some("\"quoted\"".into()),
        ..Default::default()
    };
    c.set_item("lxc.net.2.type", "").unwrap();
    roundtrip(&c);
    assert!(write(&c).contains("lxc.uts.name = \"\"quoted\"\""));
}

#[test]
fn signals_public() {
    use lxcbox::config::parse_signal;
    assert_eq!(parse_signal("SIGRTMIN+3").unwrap(), 37);
    assert_eq!(parse_signal("sigterm").unwrap(), 15);
    assert_eq!(parse_signal("30").unwrap(), 30);
    assert!(parse_signal("99").is_err());
}

#[test]
fn hostile_input_errors_never_panics() {
    let nasty = [
        "lxc.net.4294967295.type = veth\nlxc.network.type = veth\n",
        "lxc.net.99999999999.type = veth\n",
        "lxc.signal.halt = RTMIN+2147483647\n",
        "lxc.idmap = u 4294967295 0 1\nlxc.idmap = u 1 2 4294967295\n",
        "lxc.console.size = 99999999999999999999GB\n",
        "lxc.console.size = 18014398509481984GB\n",
        "lxc.net.0.ipv4.address = /\n",
        "lxc.mount.auto = shmounts::\n",
        "lxc. = x\nlxc.=\n",
        "lxc.net.0.type = véth\nlxc.uts.name = ünï\n",
        "lxc.rootfs.path = dir:\n",
        "lxc.cgroup. = x\n",
        "lxc.hook. = x\n",
        "lxc.include = \0\n",
    ];
    for text in nasty {
        // Either outcome is fine; a panic fails the test.
        let _ = Config::parse_str(text, "t.conf", Path::new("/nonexistent"));
        let _ = lxcbox::config::update_legacy(text, "t.conf");
    }
    let e = parse_err("lxc.net.4294967295.type = veth\nlxc.network.type = veth\n");
    assert!(
        e.starts_with("t.conf:2: lxc.network.type: no interface index left"),
        "{e}"
    );
}

/// A deterministic stand-in for the fuzz target: shuffled and mutated
/// fixture lines must never panic, and whatever parses must round trip.
#[test]
fn mutated_configs_roundtrip_or_error() {
    let mut lines: Vec<String> = Vec::new();
    for f in ["modern_all.conf", "legacy_all.conf", "classic_app.conf"] {
        let text = std::fs::read_to_string(fixture(f)).unwrap();
        lines.extend(text.lines().map(str::to_string));
    }
    let noise = [
        " ", "\"", "'", "=", ":", "0", "9", "-", ".", "x", "\t", "#", "é",
    ];
    let mut seed: u64 = 0x5eed;
    let mut rnd = |n: usize| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 33) as usize) % n
    };
    let (mut parsed, mut failed) = (0, 0);
    for _ in 0..3000 {
        let mut text = String::new();
        for _ in 0..rnd(12) + 1 {
            let mut l = lines[rnd(lines.len())].clone();
            if rnd(2) == 0 && !l.is_empty() {
                let mut pos = rnd(l.len() + 1);
                while !l.is_char_boundary(pos) {
                    pos -= 1;
                }
                l.insert_str(pos, noise[rnd(noise.len())]);
            }
            text.push_str(&l);
            text.push('\n');
        }
        let _ = lxcbox::config::update_legacy(&text, "m");
        match Config::parse_str(&text, "m", Path::new("/nonexistent")) {
            Ok(c) => {
                parsed += 1;
                let again = Config::parse_str(&write(&c), "w", Path::new("/"))
                    .unwrap_or_else(|e| panic!("written form of {text:?} fails: {e:#}"));
                assert_eq!(again, c, "round trip of {text:?}");
            }
            Err(_) => failed += 1,
        }
    }
    // Both outcomes must actually occur for this test to mean anything.
    assert!(
        parsed > 100 && failed > 100,
        "parsed {parsed}, failed {failed}"
    );
}

#[test]
fn default_conf_from_global_config() {
    use lxcbox::config::global::{GlobalConfig, Scope};
    use lxcbox::config::load_default_conf;
    let path = fixture("classic_app.modern.conf");
    let text = format!("lxc.default_config = {}\n", path.display());
    let g = GlobalConfig::parse(&text, "g", Scope::Root).unwrap();
    let mut c = load_default_conf(&g).unwrap();
    assert_eq!(c.uts_name.as_deref(), Some("app1"));
    // A container's own config goes on top of the defaults.
    c.merge_str("lxc.uts.name = mine\nlxc.net =\n", "config", Path::new("/"))
        .unwrap();
    assert_eq!(c.uts_name.as_deref(), Some("mine"));
    assert!(c.net.is_empty() && c.mount_fstab.is_some());
    let text = "lxc.default_config = /nonexistent/default.conf\n";
    let g = GlobalConfig::parse(text, "g", Scope::Root).unwrap();
    assert_eq!(load_default_conf(&g).unwrap(), Config::default());
}
