//! Every option LXC 5.0.2's tools accept, read from the installed LXC's own
//! `--usage` (its complete getopt table) and `--help`, is driven through
//! lxcbox's applet of the same name, in every spelling getopt allows; any
//! option lxcbox refuses fails the test. Needs LXC installed (.ci/run and
//! tests/setup.sh install it).

use std::collections::BTreeSet;
use std::process::{Command, Output};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_lxcbox")
}

/// LXC's tools that are not getopt programs (their `--usage` is no
/// option table: lxc-checkconfig would even run its checks).
const NOT_GETOPT: &[&str] = &[
    "lxc-config",
    "lxc-update-config",
    "lxc-checkconfig",
    "lxc-usernsexec",
];

/// Our applets that LXC 5.0.2 also ships as getopt tools.
fn shared_applets() -> Vec<String> {
    let o = Command::new(bin()).arg("--list").output().unwrap();
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|a| a.starts_with("lxc-") && !NOT_GETOPT.contains(a))
        .filter(|a| std::path::Path::new(&format!("/usr/bin/{a}")).exists())
        .map(str::to_string)
        .collect()
}

/// One option of LXC's table.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct LxcOpt {
    short: Option<char>,
    long: String,
    /// None: no argument; Some(false): required; Some(true): optional.
    arg: Option<bool>,
}

/// Parse `[-t|--timeout=TIMEOUT]`, `[--nesting[=NESTING]]`, `[--nokill]`.
fn parse_usage(text: &str) -> BTreeSet<LxcOpt> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(start) = rest.find("[-") {
        let after = &rest[start + 1..];
        let end = after.find("] ").or_else(|| after.rfind(']')).unwrap();
        let mut item = &after[..end];
        rest = &after[end..];
        let mut short = None;
        if let Some(s) = item.strip_prefix('-').filter(|s| !s.starts_with('-')) {
            short = s.chars().next();
            item = s.split_once('|').map(|(_, l)| l).unwrap_or("");
        }
        let Some(long) = item.strip_prefix("--") else {
            continue;
        };
        let (name, arg) = if let Some((n, _)) = long.split_once("[=") {
            (n, Some(true))
        } else if let Some((n, _)) = long.split_once('=') {
            (n, Some(false))
        } else {
            (long, None)
        };
        out.insert(LxcOpt {
            short,
            long: name.to_string(),
            arg,
        });
    }
    out
}

/// The long names `--help` documents (`  -t, --timeout=T   ...`).
fn help_longs(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let t = line.trim_start();
        let t = if t.len() > 4 && t.starts_with('-') && t.as_bytes()[2] == b',' {
            t[3..].trim_start()
        } else {
            t
        };
        if let Some(l) = t.strip_prefix("--") {
            let name: String = l
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            // "--share-[net|ipc|uts|pid]" is a pattern, not a name.
            if !name.is_empty() && !name.ends_with('-') {
                out.insert(name);
            }
        }
    }
    out
}

fn lxc_text(applet: &str, flag: &str) -> String {
    let o = Command::new(applet).arg(flag).output().unwrap_or_else(|e| {
        panic!("running LXC's {applet} {flag} (install lxc: tests/setup.sh): {e}")
    });
    String::from_utf8_lossy(&o.stderr).into_owned() + &String::from_utf8_lossy(&o.stdout)
}

/// A value LXC would accept for this option.
fn value_for(long: &str) -> &'static str {
    match long {
        "timeout" | "tty" | "delay" | "uid" | "gid" | "nesting" => "1",
        "sort" => "n",
        "state" => "RUNNING",
        "elevated-privileges" => "CAP",
        "namespaces" => "NETWORK",
        "escape" => "a",
        "fssize" => "1G",
        "define" => "lxc.uts.name=x",
        "set-var" => "A=b",
        "logpriority" => "DEBUG",
        "fancy-format" => "NAME,STATE",
        "template" => "none",
        "bdev" => "dir",
        _ => "x",
    }
}

/// Arguments the applet needs besides the option under test.
fn base_args(applet: &str) -> Vec<&'static str> {
    match applet {
        "lxc-wait" => vec!["-s", "RUNNING"],
        "lxc-device" => vec!["add", "eth9"],
        "lxc-cgroup" => vec!["memory.max"],
        _ => vec![],
    }
}

fn parse_only(applet: &str, args: &[String]) -> Output {
    Command::new(bin())
        .arg(applet)
        .args(args)
        .env("LXCBOX_PARSE_ONLY", "1")
        .output()
        .unwrap()
}

/// Every spelling of `o` that getopt_long accepts.
fn spellings(o: &LxcOpt) -> Vec<Vec<String>> {
    let v = value_for(&o.long).to_string();
    let long = format!("--{}", o.long);
    let mut forms = Vec::new();
    match o.arg {
        None => {
            forms.push(vec![long.clone()]);
            if let Some(c) = o.short {
                forms.push(vec![format!("-{c}")]);
            }
        }
        Some(false) => {
            forms.push(vec![long.clone(), v.clone()]);
            forms.push(vec![format!("{long}={v}")]);
            if let Some(c) = o.short {
                forms.push(vec![format!("-{c}"), v.clone()]);
                forms.push(vec![format!("-{c}{v}")]);
            }
        }
        Some(true) => {
            forms.push(vec![long.clone()]);
            forms.push(vec![format!("{long}={v}")]);
            if let Some(c) = o.short {
                forms.push(vec![format!("-{c}")]);
                forms.push(vec![format!("-{c}{v}")]);
            }
        }
    }
    forms
}

#[test]
fn every_lxc_option_is_accepted() {
    let applets = shared_applets();
    assert!(
        applets.len() >= 15,
        "LXC 5.0.2 is not installed (tests/setup.sh installs it): only {applets:?}"
    );
    let mut refused = Vec::new();
    let mut tried = 0;
    for applet in &applets {
        let table = parse_usage(&lxc_text(applet, "--usage"));
        assert!(!table.is_empty(), "no options parsed from {applet} --usage");
        let longs: BTreeSet<String> = table.iter().map(|o| o.long.clone()).collect();
        for documented in help_longs(&lxc_text(applet, "--help")) {
            assert!(
                longs.contains(&documented),
                "{applet}: --help documents --{documented}, --usage does not list it"
            );
        }
        for o in &table {
            // Acting options end the parse; checked below.
            if ["help", "usage", "version"].contains(&o.long.as_str()) {
                continue;
            }
            for form in spellings(o) {
                let mut args: Vec<String> = Vec::new();
                if o.long != "name" {
                    args.extend(["-n".to_string(), "c1".to_string()]);
                }
                args.extend(form.iter().cloned());
                args.extend(base_args(applet).iter().map(|s| s.to_string()));
                tried += 1;
                let out = parse_only(applet, &args);
                let stdout = String::from_utf8_lossy(&out.stdout);
                if out.status.code() != Some(0) || !stdout.starts_with('{') {
                    refused.push(format!(
                        "{applet} {}: exit {:?}: {}",
                        args.join(" "),
                        out.status.code(),
                        String::from_utf8_lossy(&out.stderr)
                            .lines()
                            .next()
                            .unwrap_or("")
                    ));
                }
            }
        }
    }
    assert!(
        refused.is_empty(),
        "{} of {tried} refused:\n{}",
        refused.len(),
        refused.join("\n")
    );
}

#[test]
fn acting_options_behave_as_lxcs() {
    for applet in shared_applets() {
        let run = |a: &str| {
            Command::new(bin())
                .args([applet.as_str(), a])
                .output()
                .unwrap()
        };
        let h = run("--help");
        assert_eq!(h.status.code(), Some(0), "{applet} --help");
        assert!(String::from_utf8_lossy(&h.stderr).starts_with(&format!("Usage: {applet} ")));
        // -? is getopt's error character: LXC prints the help and exits 1.
        assert_eq!(run("-?").status.code(), Some(1), "{applet} -?");
        let u = run("--usage");
        assert_eq!(u.status.code(), Some(0), "{applet} --usage");
        // The same options, in LXC's table order where LXC has them.
        let ours = parse_usage(&String::from_utf8_lossy(&u.stderr));
        let theirs = parse_usage(&lxc_text(&applet, "--usage"));
        let missing: Vec<_> = theirs.difference(&ours).collect();
        assert!(missing.is_empty(), "{applet} --usage lacks {missing:?}");
        let v = run("--version");
        assert_eq!(String::from_utf8_lossy(&v.stdout), "5.0.2\n");
    }
}

#[test]
fn usage_errors_in_lxcs_words() {
    let run = |args: &[&str]| Command::new(bin()).args(args).output().unwrap();
    let check = |args: &[&str], first_line: &str| {
        let o = run(args);
        let lxc = Command::new(args[0]).args(&args[1..]).output().unwrap();
        let ours = String::from_utf8_lossy(&o.stderr);
        let theirs = String::from_utf8_lossy(&lxc.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {ours}");
        assert_eq!(lxc.status.code(), Some(1), "LXC {args:?}: {theirs}");
        assert_eq!(ours.lines().next().unwrap_or(""), first_line, "{args:?}");
        assert_eq!(
            theirs.lines().next().unwrap_or(""),
            first_line,
            "LXC {args:?}"
        );
    };
    check(
        &["lxc-stop", "--bogus=3"],
        "lxc-stop: unrecognized option '--bogus=3'",
    );
    check(&["lxc-stop", "-kZ"], "lxc-stop: invalid option -- 'Z'");
    check(
        &["lxc-stop", "-n", "x", "-t"],
        "lxc-stop: option requires an argument -- 't'",
    );
    check(
        &["lxc-info", "--config"],
        "lxc-info: option '--config' requires an argument",
    );
    check(
        &["lxc-stop", "--kill=1"],
        "lxc-stop: option '--kill' doesn't allow an argument",
    );
    check(
        &["lxc-stop", "--no"],
        "lxc-stop: option '--no' is ambiguous; possibilities: '--nowait' '--nokill' '--nolock'",
    );
    check(&["lxc-stop"], "lxc-stop: No container name specified");
    check(&["lxc-info", "-q"], "");
    check(
        &["lxc-info", "-P", "/a", "-P", "/b", "x"],
        "This command only accepts 1 -P,--lxcpath arguments",
    );
}

#[test]
fn positional_names_and_glued_forms() {
    for (args, name, options) in [
        (&["lxc-info", "foo", "-s"][..], "foo", &["--state"][..]),
        (
            &["lxc-info", "-sp", "--name=bar"],
            "bar",
            &["--state", "--pid"],
        ),
        (
            &["lxc-stop", "-nbaz", "-kW"],
            "baz",
            &["--kill", "--nowait"],
        ),
        (
            &["lxc-stop", "--na", "q", "--ti=5"],
            "q",
            &["--timeout", "5"],
        ),
        (&["lxc-freeze", "c9"], "c9", &[]),
    ] {
        let out = parse_only(
            args[0],
            &args[1..].iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        );
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["common"]["name"], name, "{args:?}");
        let opts: Vec<&str> = v["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap())
            .collect();
        assert_eq!(opts, options, "{args:?}");
    }
}
