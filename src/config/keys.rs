//! THE key table: one row per modern key (or key family), driving parsing
//! (`set`), getting and writing (`emit`). Legacy spellings are mapped onto
//! these rows by [`super::legacy`].

use std::collections::HashMap;

use once_cell::sync::Lazy;

use super::names;
use super::net;
use super::special::*;
use super::types::Config;
use super::values::{self as val, VResult};

/// Lines produced by an emitter: (full key, value).
#[derive(Default)]
pub struct Out(pub Vec<(String, String)>);

impl Out {
    pub fn push(&mut self, k: impl Into<String>, v: impl Into<String>) {
        self.0.push((k.into(), v.into()));
    }
}

/// Sets a value. `sub` is what follows the family name ("" for exact keys
/// and for the bare family name, e.g. `lxc.cgroup`).
pub type Setter = fn(&mut Config, &str, &str) -> VResult<()>;
/// Emits the lines that reproduce the key's state; `name` is the row's name.
pub type Emitter = fn(&Config, &'static str, &mut Out);

pub struct Key {
    pub name: &'static str,
    /// A family: `name.<anything>` is handled by this row.
    pub family: bool,
    pub set: Setter,
    pub emit: Emitter,
    /// What get_item prints when the key emits nothing.
    pub unset: &'static str,
    /// What setting it does (checked by `tests/config_effects.rs`).
    pub effect: Effect,
}

/// What a key does once parsed: no key is accepted and silently dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Acted upon: by a start, or by the tools that read it (lxc-ls,
    /// lxc-destroy, ...).
    Enforced,
    /// Not implemented yet: a start refuses a config that sets it, with
    /// this reason.
    Refused(&'static str),
    /// Deliberately without effect (LXC ignores it too); a start logs a
    /// warning with this reason when it is set. docs/config.md says so.
    Ignored(&'static str),
    /// Only meaningful with this LSM: refused when the host runs it (its
    /// support is not built yet), ignored with a warning otherwise, as
    /// LXC's "nop" LSM does on such a host.
    Lsm(Lsm),
}

/// Linux security modules a key can belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lsm {
    AppArmor,
    SeLinux,
}

/// A row with another effect than [`Effect::Enforced`] (no row needs it
/// now that every refused key is implemented; kept for the next one).
#[allow(dead_code)]
const fn with(k: Key, effect: Effect) -> Key {
    Key { effect, ..k }
}

/// How a field's value is printed.
pub trait Text {
    fn text(&self) -> String;
}
macro_rules! text_display {
    ($($t:ty),*) => { $(impl Text for $t { fn text(&self) -> String { self.to_string() } })* };
}
text_display!(String, u16, u32, u64, i32);
impl Text for super::types::IdMap {
    fn text(&self) -> String {
        format!(
            "{} {} {} {}",
            self.kind, self.ns_id, self.host_id, self.range
        )
    }
}
impl Text for bool {
    fn text(&self) -> String {
        if *self { "1" } else { "0" }.to_string()
    }
}

fn string(v: &str) -> VResult<String> {
    Ok(v.to_string())
}

/// Option<T>: empty value resets to None. The optional last argument is
/// what get_item prints when unset (LXC prints its internal default).
macro_rules! opt {
    ($name:literal, $($f:ident).+, $parse:expr) => {
        opt!($name, $($f).+, $parse, "")
    };
    ($name:literal, $($f:ident).+, $parse:expr, $unset:literal) => {
        Key {
            name: $name,
            family: false,
            unset: $unset,
            effect: Effect::Enforced,
            set: |c, _, v| {
                c.$($f).+ = if v.is_empty() { None } else { Some(($parse)(v)?) };
                Ok(())
            },
            emit: |c, k, o| {
                if let Some(x) = &c.$($f).+ {
                    o.push(k, x.text())
                }
            },
        }
    };
}

/// Plain value with a zero default (bool false, number 0): empty resets it.
macro_rules! plain {
    ($name:literal, $($f:ident).+, $parse:expr) => {
        Key {
            name: $name,
            family: false,
            unset: "0",
            effect: Effect::Enforced,
            set: |c, _, v| {
                c.$($f).+ = if v.is_empty() { Default::default() } else { ($parse)(v)? };
                Ok(())
            },
            emit: |c, k, o| {
                if !is_default(&c.$($f).+) {
                    o.push(k, c.$($f).+.text())
                }
            },
        }
    };
}

/// Vec<String>, one item per line: empty value clears.
macro_rules! list {
    ($name:literal, $($f:ident).+, $parse:expr) => {
        Key {
            name: $name,
            family: false,
            unset: "",
            effect: Effect::Enforced,
            set: |c, _, v| {
                if v.is_empty() {
                    c.$($f).+.clear();
                } else {
                    let x = ($parse)(v)?;
                    c.$($f).+.push(x);
                }
                Ok(())
            },
            emit: |c, k, o| {
                for x in &c.$($f).+ {
                    o.push(k, x.text())
                }
            },
        }
    };
}

/// Vec<String> of whitespace-separated tokens (caps, namespaces): lines
/// add tokens, empty value clears, written as one line.
macro_rules! words {
    ($name:literal, $($f:ident).+, $parse:expr) => {
        Key {
            name: $name,
            family: false,
            unset: "",
            effect: Effect::Enforced,
            set: |c, _, v| {
                if v.is_empty() {
                    c.$($f).+.clear();
                    return Ok(());
                }
                for w in v.split_whitespace() {
                    let t = ($parse)(&*c, w)?;
                    if !c.$($f).+.contains(&t) {
                        c.$($f).+.push(t);
                    }
                }
                Ok(())
            },
            emit: |c, k, o| {
                if !c.$($f).+.is_empty() {
                    o.push(k, c.$($f).+.join(" "))
                }
            },
        }
    };
}

/// A `name.<sub> = value` family stored as Vec<(sub, value)>. `append`:
/// repeated subkeys accumulate (cgroup device rules); otherwise a later
/// value replaces the earlier one in place (prlimit, sysctl, proc).
/// `name = ` clears the family, `name.<sub> = ` removes that subkey.
macro_rules! family {
    ($name:literal, $f:ident, $check_sub:expr, $check_val:expr, $append:expr) => {
        Key {
            name: $name,
            family: true,
            unset: "",
            effect: Effect::Enforced,
            set: |c, sub, v| {
                if sub.is_empty() {
                    if !v.is_empty() {
                        return Err(format!(
                            "expected {}.<name>, or an empty value to clear",
                            $name
                        ));
                    }
                    c.$f.clear();
                    return Ok(());
                }
                ($check_sub)(sub)?;
                if v.is_empty() {
                    c.$f.retain(|(k, _)| k != sub);
                    return Ok(());
                }
                let v: String = ($check_val)(v)?;
                match c.$f.iter_mut().find(|(k, _)| k == sub) {
                    Some(slot) if !$append => slot.1 = v,
                    _ => c.$f.push((sub.to_string(), v)),
                }
                Ok(())
            },
            emit: |c, k, o| {
                for (s, v) in &c.$f {
                    o.push(format!("{k}.{s}"), v.clone())
                }
            },
        }
    };
}

/// Every key, in the order the writer emits them.
pub static KEYS: &[Key] = &[
    // general
    opt!("lxc.arch", arch, val::arch),
    opt!("lxc.uts.name", uts_name, val::hostname),
    // destroyed at stop: src/store/ephemeral.rs
    plain!("lxc.ephemeral", ephemeral, val::boolean),
    opt!("lxc.keyring.session", keyring_session, val::boolean, "0"),
    plain!("lxc.sched.core", sched_core, val::boolean),
    opt!("lxc.time.offset.boot", time_offset_boot, val::time_offset),
    opt!(
        "lxc.time.offset.monotonic",
        time_offset_monotonic,
        val::time_offset
    ),
    // init
    opt!("lxc.init.cmd", init_cmd, string),
    opt!("lxc.init.cwd", init_cwd, string),
    opt!("lxc.init.uid", init_uid, val::number::<u32>, "0"),
    opt!("lxc.init.gid", init_gid, val::number::<u32>, "0"),
    Key {
        name: "lxc.init.groups",
        family: false,
        unset: "",
        effect: Effect::Enforced,
        set: groups_set,
        emit: groups_emit,
    },
    opt!("lxc.execute.cmd", execute_cmd, string),
    // signals
    opt!("lxc.signal.halt", signal_halt, names::signal, "0"),
    opt!("lxc.signal.reboot", signal_reboot, names::signal, "0"),
    opt!("lxc.signal.stop", signal_stop, names::signal, "0"),
    // rootfs
    Key {
        name: "lxc.rootfs.path",
        family: false,
        unset: "",
        effect: Effect::Enforced,
        set: rootfs_path_set,
        emit: rootfs_path_emit,
    },
    opt!("lxc.rootfs.mount", rootfs.mount, string),
    opt!("lxc.rootfs.options", rootfs.options, string),
    opt!("lxc.rootfs.managed", rootfs.managed, val::boolean, "1"),
    // mounts
    opt!("lxc.mount.fstab", mount_fstab, string),
    Key {
        name: "lxc.mount.auto",
        family: false,
        unset: "",
        effect: Effect::Enforced,
        set: mount_auto_set,
        emit: mount_auto_emit,
    },
    list!("lxc.mount.entry", mount_entries, string),
    opt!("lxc.autodev", autodev, val::boolean, "1"),
    opt!(
        "lxc.autodev.tmpfs.size",
        autodev_tmpfs_size,
        val::number::<u64>,
        "0"
    ),
    // tty / pty / console
    plain!("lxc.tty.max", tty_max, val::number::<u32>),
    opt!("lxc.tty.dir", tty_dir, string),
    opt!("lxc.pty.max", pty_max, val::number::<u32>, "0"),
    opt!("lxc.console.path", console.path, string),
    opt!("lxc.console.logfile", console.logfile, string),
    plain!("lxc.console.rotate", console.rotate, val::boolean),
    Key {
        name: "lxc.console.size",
        family: false,
        unset: "0",
        effect: Effect::Enforced,
        set: |c, _, v| {
            c.console.size = if v.is_empty() { None } else { console_size(v)? };
            Ok(())
        },
        emit: |c, k, o| {
            if let Some(s) = c.console.size {
                o.push(k, s.to_string())
            }
        },
    },
    Key {
        name: "lxc.console.buffer.size",
        family: false,
        unset: "0",
        effect: Effect::Enforced,
        set: |c, _, v| {
            c.console.buffer_size = if v.is_empty() { None } else { console_size(v)? };
            Ok(())
        },
        emit: |c, k, o| {
            if let Some(s) = c.console.buffer_size {
                o.push(k, s.to_string())
            }
        },
    },
    // user namespace
    list!("lxc.idmap", idmap, val::idmap),
    // capabilities
    words!("lxc.cap.drop", cap_drop, |c: &Config, w| cap(c, w, false)),
    words!("lxc.cap.keep", cap_keep, |c: &Config, w| cap(c, w, true)),
    // namespaces
    Key {
        name: "lxc.namespace.clone",
        family: false,
        unset: "",
        effect: Effect::Enforced,
        set: |c, _, v| ns_list_set(c, v, false),
        emit: |c, k, o| ns_list_emit(c.namespace_clone, k, o),
    },
    Key {
        name: "lxc.namespace.keep",
        family: false,
        unset: "",
        effect: Effect::Enforced,
        set: |c, _, v| ns_list_set(c, v, true),
        emit: |c, k, o| ns_list_emit(c.namespace_keep, k, o),
    },
    Key {
        name: "lxc.namespace.share",
        family: true,
        unset: "",
        effect: Effect::Enforced,
        set: share_set,
        emit: share_emit,
    },
    // network
    Key {
        name: "lxc.net",
        family: true,
        unset: "",
        effect: Effect::Enforced,
        set: net::set,
        emit: net::emit,
    },
    // cgroups
    opt!("lxc.cgroup.dir", cgroup_dir, string),
    opt!("lxc.cgroup.dir.monitor", cgroup_dir_monitor, string),
    opt!(
        "lxc.cgroup.dir.monitor.pivot",
        cgroup_dir_monitor_pivot,
        string
    ),
    opt!("lxc.cgroup.dir.container", cgroup_dir_container, string),
    opt!(
        "lxc.cgroup.dir.container.inner",
        cgroup_dir_container_inner,
        string
    ),
    opt!("lxc.cgroup.relative", cgroup_relative, val::boolean, "0"),
    family!("lxc.cgroup", cgroup_v1, any_sub, string, true),
    family!("lxc.cgroup2", cgroup_v2, any_sub, string, true),
    // limits, sysctl, /proc
    family!(
        "lxc.prlimit",
        prlimit,
        prlimit_sub,
        val::prlimit_value,
        false
    ),
    family!("lxc.sysctl", sysctl, any_sub, string, false),
    family!("lxc.proc", proc, any_sub, string, false),
    // LSM / seccomp: src/lsm and src/confine act on them (and warn or refuse
    // where LXC's nop driver or missing notify proxy would)
    opt!("lxc.apparmor.profile", apparmor_profile, string),
    plain!(
        "lxc.apparmor.allow_incomplete",
        apparmor_allow_incomplete,
        val::boolean
    ),
    plain!(
        "lxc.apparmor.allow_nesting",
        apparmor_allow_nesting,
        val::boolean
    ),
    list!("lxc.apparmor.raw", apparmor_raw, string),
    opt!("lxc.selinux.context", selinux_context, string),
    opt!(
        "lxc.selinux.context.keyring",
        selinux_context_keyring,
        string
    ),
    opt!("lxc.seccomp.profile", seccomp_profile, string),
    plain!(
        "lxc.seccomp.allow_nesting",
        seccomp_allow_nesting,
        val::boolean
    ),
    opt!("lxc.seccomp.notify.proxy", seccomp_notify_proxy, string),
    opt!("lxc.seccomp.notify.cookie", seccomp_notify_cookie, string),
    plain!("lxc.no_new_privs", no_new_privs, val::boolean),
    // hooks
    plain!("lxc.hook.version", hook_version, hook_version),
    Key {
        name: "lxc.hook",
        family: true,
        unset: "",
        effect: Effect::Enforced,
        set: hook_set,
        emit: hook_emit,
    },
    // environment
    list!("lxc.environment", environment, string),
    list!("lxc.environment.runtime", environment_runtime, string),
    list!("lxc.environment.hooks", environment_hooks, string),
    // autostart: read by lxc-autostart (src/autostart.rs), as LXC's start ignores them
    plain!("lxc.start.auto", start_auto, val::boolean),
    plain!("lxc.start.delay", start_delay, val::number::<u32>),
    plain!("lxc.start.order", start_order, val::number::<i32>),
    list!("lxc.group", groups, string),
    // logging
    opt!("lxc.log.level", log_level, val::log_level, "NOTSET"),
    opt!("lxc.log.file", log_file, string),
    opt!("lxc.log.syslog", log_syslog, val::syslog_facility),
    // monitor
    plain!("lxc.monitor.unshare", monitor_unshare, val::boolean),
    opt!(
        "lxc.monitor.signal.pdeath",
        monitor_signal_pdeath,
        names::signal,
        "9"
    ),
    // legacy-only keys with no modern spelling: accepted, never written.
    Key {
        name: "lxc.rootfs.backend",
        family: false,
        unset: "",
        effect: Effect::Enforced,
        set: backend_set,
        emit: no_emit,
    },
    Key {
        name: "lxc.pivotdir",
        family: false,
        unset: "",
        effect: Effect::Ignored("obsolete: pivot_root needs no directory (LXC 2.x ignored it too)"),
        set: |c, _, v| seen(c, "lxc.pivotdir", v),
        emit: no_emit,
    },
    Key {
        name: "lxc.kmsg",
        family: false,
        unset: "",
        effect: Effect::Ignored("obsolete: no /dev/kmsg link is made (LXC 2.x ignored it too)"),
        set: |c, _, v| seen(c, "lxc.kmsg", v),
        emit: no_emit,
    },
];

static EXACT: Lazy<HashMap<&'static str, &'static Key>> =
    Lazy::new(|| KEYS.iter().map(|k| (k.name, k)).collect());

/// Find the row of a modern key and the sub-key part for families.
pub fn lookup(key: &str) -> Option<(&'static Key, &str)> {
    if let Some(k) = EXACT.get(key) {
        return Some((k, ""));
    }
    // Longest family name wins (lxc.cgroup2.x is not lxc.cgroup's).
    KEYS.iter()
        .filter(|k| k.family)
        .filter_map(|k| {
            let rest = key.strip_prefix(k.name)?.strip_prefix('.')?;
            (!rest.is_empty()).then_some((k, rest))
        })
        .max_by_key(|(k, _)| k.name.len())
}

/// True when a value equals its type's default (spelled as a function so
/// the comparison's type is fixed: other crates add `PartialEq` impls for
/// primitives, which makes `x != Default::default()` ambiguous).
fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}
