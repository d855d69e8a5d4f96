//! No key is accepted and silently dropped: every row of the key table is
//! enforced, refused at start with a message naming it, or a documented
//! no-op that a start warns about. This walks the table.

#[path = "common/env.rs"]
mod env;
#[path = "common/rootfs.rs"]
mod rootfs;

use env::{stderr, Env};
use lxcbox::config::effects::findings;
use lxcbox::config::{key_effects, Config, Effect};

/// A value that sets each key that is not enforced (a key added to the
/// table as refused or ignored needs one here).
const SAMPLES: &[(&str, &str)] = &[
    ("lxc.apparmor.profile", "unconfined"),
    ("lxc.apparmor.allow_incomplete", "1"),
    ("lxc.apparmor.allow_nesting", "1"),
    ("lxc.apparmor.raw", "mount,"),
    ("lxc.selinux.context", "system_u:system_r:lxc_t:s0:c22"),
    (
        "lxc.selinux.context.keyring",
        "system_u:system_r:lxc_t:s0:c22",
    ),
    (
        "lxc.seccomp.profile",
        "/usr/share/lxc/config/common.seccomp",
    ),
    ("lxc.seccomp.allow_nesting", "1"),
    ("lxc.seccomp.notify.proxy", "unix:/run/proxy.sock"),
    ("lxc.seccomp.notify.cookie", "c"),
    ("lxc.start.delay", "5"),
    ("lxc.start.order", "3"),
    ("lxc.pivotdir", "lxc_putold"),
    ("lxc.kmsg", "0"),
];

fn doc() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/config.md")).unwrap()
}

/// The paragraph or table row of docs/config.md that mentions `key`.
fn doc_about(doc: &str, key: &str) -> Option<String> {
    let tick = format!("`{key}`");
    doc.split("\n\n")
        .flat_map(|para| {
            if para.starts_with('|') {
                para.lines().map(str::to_string).collect::<Vec<_>>()
            } else {
                vec![para.to_string()]
            }
        })
        .find(|chunk| chunk.contains(&tick))
}

#[test]
fn every_key_is_enforced_refused_or_a_documented_no_op() {
    let doc = doc();
    let mut problems = Vec::new();
    for (name, effect) in key_effects() {
        if effect == Effect::Enforced {
            continue;
        }
        let Some((_, value)) = SAMPLES.iter().find(|(k, _)| *k == name) else {
            problems.push(format!(
                "{name}: {effect:?} but no sample value in this test"
            ));
            continue;
        };
        let mut cfg = Config::default();
        cfg.set_item(&name, value).unwrap();
        let f = findings(&cfg);
        let Some(found) = f.iter().find(|f| f.key == name) else {
            problems.push(format!("{name} = {value}: a start would not say a word"));
            continue;
        };
        let words = match (effect, found.refuse) {
            (Effect::Refused(_), true) => "refused",
            (Effect::Ignored(_), false) => "ignored",
            (Effect::Lsm(_), true) => "refused",
            (Effect::Lsm(_), false) => "ignored",
            _ => {
                problems.push(format!("{name}: {effect:?} but the start {found:?}"));
                continue;
            }
        };
        match doc_about(&doc, &name) {
            Some(text) if text.to_lowercase().contains(words) => {}
            Some(text) => problems.push(format!(
                "{name} is {words} but docs/config.md does not say so: {text}"
            )),
            None => problems.push(format!("{name} is not in docs/config.md")),
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    // Unset, nothing is reported.
    assert!(findings(&Config::default()).is_empty());
}

#[test]
fn a_start_refuses_a_refused_key_by_name_and_warns_about_ignored_ones() {
    let e = Env::new("effects");
    // The refused half needs a key the table still refuses (none is left
    // once every helper has implemented theirs).
    let refused = key_effects().find_map(|(k, eff)| match eff {
        Effect::Refused(why) => Some((k, why)),
        _ => None,
    });
    if let Some((key, why)) = refused {
        let (_, value) = SAMPLES
            .iter()
            .find(|(k, _)| *k == key)
            .expect("every refused key has a sample");
        e.define("fx-refused", &format!("{key} = {value}\n"));
        let o = e.run("lxc-execute", &["-n", "fx-refused", "--", "/bin/true"]);
        assert_eq!(o.status.code(), Some(1));
        let err = stderr(&o);
        assert!(err.contains(&format!("{key}: {why}")), "{err}");
    }
    e.define("fx-ignored", "lxc.kmsg = 1\nlxc.pivotdir = x\n");
    // As LXC's stderr, lxcbox's shows errors only unless -l asks for more.
    let o = e.run("lxc-execute", &["-n", "fx-ignored", "--", "/bin/true"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stderr(&o), "");
    let o = e.run(
        "lxc-execute",
        &["-n", "fx-ignored", "-l", "WARN", "--", "/bin/true"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("lxc.kmsg: ignored") && err.contains("lxc.pivotdir: ignored"),
        "{err}"
    );
}
