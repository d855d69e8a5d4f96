//! From a parsed profile to per-architecture rule sets, with LXC 5's
//! semantics (seccomp.c parse_config_v2, do_resolve_add_rule) and
//! libseccomp's rule merging:
//!
//! - a version-2 profile filters the native ABI and its compat ABIs
//!   (x86_64: i386 and x32; arm64: arm). A section header only decides
//!   whether its lines are read on this host; a rule that is read applies
//!   to every filtered ABI that has the syscall.
//! - a syscall name unknown to every ABI is skipped (LXC logs it at INFO;
//!   we warn, it is usually a typo); one that some filtered ABI lacks is
//!   skipped there only.
//! - a rule whose action is the default action is refused (libseccomp
//!   returns EACCES, so LXC refuses the profile).
//! - per syscall the first unconditional rule wins and makes the others
//!   moot; conditional rules that compare the same arguments in the same
//!   way with different actions conflict (libseccomp's EEXIST).
//! - on i386 a rule without argument filters on a socket or SysV IPC call
//!   also covers socketcall(2) / ipc(2) with that call (libseccomp's).
//! - a version-1 profile is an allowlist of native syscall numbers.

use std::collections::BTreeMap;

use super::arch::Arch;
use super::profile::{Action, ArgCmp, CmpOp, ParseError, Profile, RuleKind};

/// i386 reaches socket and SysV IPC calls through two multiplexers too:
/// socketcall(2) and ipc(2), with the call number as first argument
/// (linux/net.h SYS_*, linux/ipc.h). Like libseccomp, a rule without
/// argument filters on such a call also covers its multiplexed form, so a
/// 32-bit process cannot go around it.
const SOCKETCALL: [(&str, u64); 20] = [
    ("socket", 1),
    ("bind", 2),
    ("connect", 3),
    ("listen", 4),
    ("accept", 5),
    ("getsockname", 6),
    ("getpeername", 7),
    ("socketpair", 8),
    ("send", 9),
    ("recv", 10),
    ("sendto", 11),
    ("recvfrom", 12),
    ("shutdown", 13),
    ("setsockopt", 14),
    ("getsockopt", 15),
    ("sendmsg", 16),
    ("recvmsg", 17),
    ("accept4", 18),
    ("recvmmsg", 19),
    ("sendmmsg", 20),
];
const IPC: [(&str, u64); 12] = [
    ("semop", 1),
    ("semget", 2),
    ("semctl", 3),
    ("semtimedop", 4),
    ("msgsnd", 11),
    ("msgrcv", 12),
    ("msgget", 13),
    ("msgctl", 14),
    ("shmat", 21),
    ("shmdt", 22),
    ("shmget", 23),
    ("shmctl", 24),
];

/// The multiplexer syscall and call number of `name` on i386.
fn multiplexed(name: &str) -> Option<(&'static str, u64)> {
    SOCKETCALL
        .iter()
        .map(|&(n, c)| (n, "socketcall", c))
        .chain(IPC.iter().map(|&(n, c)| (n, "ipc", c)))
        .find(|(n, _, _)| *n == name)
        .map(|(_, m, c)| (m, c))
}

/// MNT_FORCE (linux/fs.h).
const MNT_FORCE: u64 = 1;
const EACCES: u16 = 13;

/// LXC hands notifications to lxc.seccomp.notify.proxy; lxcbox has no proxy
/// client, and a notify rule without one would block its caller forever.
const NOTIFY_UNSUPPORTED: &str = "the notify action needs a seccomp notify proxy \
    (lxc.seccomp.notify.proxy), which lxcbox does not support";

/// One conditional rule of a syscall: all comparisons must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CondRule {
    pub args: Vec<ArgCmp>,
    pub action: Action,
    pub line: usize,
}

/// Everything the filter does with one syscall of one ABI.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyscallRules {
    /// An unconditional action: nothing else matters then.
    pub uncond: Option<Action>,
    /// Tried in order; the first whose comparisons all hold decides.
    pub cond: Vec<CondRule>,
}

/// The rules for one ABI, by syscall number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchRules {
    pub arch: Arch,
    pub syscalls: BTreeMap<u32, SyscallRules>,
}

/// A whole filter, ready to compile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// For syscalls no rule matches.
    pub default: Action,
    /// For a process of an ABI the filter does not cover (libseccomp's
    /// default: kill).
    pub bad_arch: Action,
    /// Native first.
    pub arches: Vec<ArchRules>,
}

impl Filter {
    /// The ABIs of the filter (for messages and tests).
    pub fn arch_rules(&self, a: Arch) -> Option<&ArchRules> {
        self.arches.iter().find(|r| r.arch == a)
    }
}

/// Build the filter of `profile` for a host whose native ABI is `native`.
pub fn build(profile: &Profile, native: Arch) -> Result<Filter, ParseError> {
    let abis: &[Arch] = if profile.version == 1 {
        std::slice::from_ref(native.filtered().first().unwrap_or(&native))
    } else {
        native.filtered()
    };
    let mut arches: Vec<ArchRules> = abis
        .iter()
        .map(|&arch| ArchRules {
            arch,
            syscalls: BTreeMap::new(),
        })
        .collect();
    let default = profile.default_action;
    if default == Action::Notify {
        return Err(ParseError {
            line: profile.policy_line,
            msg: NOTIFY_UNSUPPORTED.into(),
        });
    }
    for rule in &profile.rules {
        let fail = |msg: String| ParseError {
            line: rule.line,
            msg,
        };
        match &rule.kind {
            RuleKind::Number(nr) => {
                add(&mut arches[0], *nr, &[], Action::Allow, rule.line).map_err(fail)?;
            }
            RuleKind::RejectForceUmount => {
                let action = Action::Errno(EACCES);
                refuse_default(action, default).map_err(&fail)?;
                let args = [ArgCmp {
                    index: 1,
                    op: CmpOp::MaskedEq,
                    value: MNT_FORCE,
                    mask: MNT_FORCE,
                }];
                for ar in &mut arches {
                    if let Some(nr) = ar.arch.syscall("umount2") {
                        add(ar, nr, &args, action, rule.line).map_err(fail)?;
                    }
                }
                log::info!("seccomp: set a rule to reject force umounts");
            }
            RuleKind::Syscall { name, action, args } => {
                refuse_default(*action, default).map_err(&fail)?;
                if *action == Action::Notify {
                    return Err(fail(NOTIFY_UNSUPPORTED.into()));
                }
                if !super::arch::known_anywhere(name) && multiplexed(name).is_none() {
                    log::warn!(
                        "seccomp profile line {}: unknown syscall \"{name}\" on {}: rule skipped (as LXC does)",
                        rule.line,
                        abi_names(abis)
                    );
                    continue;
                }
                let mut added = false;
                for ar in &mut arches {
                    if let Some(nr) = ar.arch.syscall(name) {
                        log::info!(
                            "seccomp: adding rule for syscall[{nr}:{name}] action[{action}] arch[{}]",
                            ar.arch.name()
                        );
                        add(ar, nr, args, *action, rule.line).map_err(fail)?;
                        added = true;
                    }
                    if let (Arch::I386, Some((mux, call)), true) =
                        (ar.arch, multiplexed(name), args.is_empty())
                    {
                        if let Some(nr) = ar.arch.syscall(mux) {
                            let by_call = [ArgCmp {
                                index: 0,
                                op: CmpOp::Eq,
                                value: call,
                                mask: 0,
                            }];
                            add(ar, nr, &by_call, *action, rule.line).map_err(fail)?;
                            added = true;
                        }
                    }
                }
                if !added {
                    log::debug!(
                        "seccomp profile line {}: {name} is not a syscall on {}",
                        rule.line,
                        abi_names(abis)
                    );
                }
            }
        }
    }
    Ok(Filter {
        default,
        bad_arch: Action::Kill,
        arches,
    })
}

fn abi_names(abis: &[Arch]) -> String {
    abis.iter().map(|a| a.name()).collect::<Vec<_>>().join(", ")
}

fn refuse_default(action: Action, default: Action) -> Result<(), String> {
    if action == default {
        return Err(format!(
            "the rule's action ({action}) is the profile's default action; libseccomp (and so LXC) refuses such a rule"
        ));
    }
    Ok(())
}

fn add(
    ar: &mut ArchRules,
    nr: u32,
    args: &[ArgCmp],
    action: Action,
    line: usize,
) -> Result<(), String> {
    let sc = ar.syscalls.entry(nr).or_default();
    if sc.uncond.is_some() {
        // libseccomp: an existing unconditional rule covers everything.
        return Ok(());
    }
    if args.is_empty() {
        sc.uncond = Some(action);
        sc.cond.clear();
        return Ok(());
    }
    let mut sorted = args.to_vec();
    sorted.sort_by_key(|a| a.index);
    if let Some(same) = sc.cond.iter().find(|c| c.args == sorted) {
        if same.action == action {
            return Ok(());
        }
        return Err(format!(
            "the rule conflicts with line {} (same argument filter, action {} instead of {action})",
            same.line, same.action
        ));
    }
    // libseccomp's decision tree looks at lower argument numbers first.
    let pos = sc
        .cond
        .iter()
        .position(|c| c.args[0].index > sorted[0].index)
        .unwrap_or(sc.cond.len());
    sc.cond.insert(
        pos,
        CondRule {
            args: sorted,
            action,
            line,
        },
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::profile::{parse, Section};
    use super::*;

    fn build_for(text: &str, native: Arch) -> Result<Filter, ParseError> {
        let active = |s: Section| super::super::section_active(s, native);
        build(&parse(text, active)?, native)
    }

    #[test]
    fn debian_common_on_x86_64() {
        let f = build_for(
            "2\ndenylist\nreject_force_umount  # c\n[all]\nkexec_load errno 1\nopen_by_handle_at errno 1\ninit_module errno 1\nfinit_module errno 1\ndelete_module errno 1\n",
            Arch::X86_64,
        )
        .unwrap();
        assert_eq!(f.default, Action::Allow);
        let abis: Vec<Arch> = f.arches.iter().map(|a| a.arch).collect();
        assert_eq!(abis, [Arch::X86_64, Arch::I386, Arch::X32]);
        let x64 = f.arch_rules(Arch::X86_64).unwrap();
        assert_eq!(x64.syscalls[&246].uncond, Some(Action::Errno(1)));
        assert_eq!(x64.syscalls[&175].uncond, Some(Action::Errno(1)));
        let um = &x64.syscalls[&166];
        assert_eq!(um.uncond, None);
        assert_eq!(um.cond[0].action, Action::Errno(13));
        assert_eq!(um.cond[0].args[0].mask, 1);
        let x86 = f.arch_rules(Arch::I386).unwrap();
        assert_eq!(x86.syscalls[&283].uncond, Some(Action::Errno(1)));
        assert!(x86.syscalls.contains_key(&52)); // umount2
        let x32 = f.arch_rules(Arch::X32).unwrap();
        assert_eq!(
            x32.syscalls[&(super::super::arch::X32_SYSCALL_BIT + 528)].uncond,
            Some(Action::Errno(1))
        );
        assert_eq!(x64.syscalls.len(), 6);
    }

    #[test]
    fn sections_and_abis() {
        // On x86_64, [x86] rules are read and apply wherever the syscall
        // exists (LXC does not restrict them to i386).
        let f = build_for(
            "2\ndenylist\n[x86]\nsocketcall errno 1\nmkdir errno 2\n[arm]\nmkdir errno 3\n",
            Arch::X86_64,
        )
        .unwrap();
        let x64 = f.arch_rules(Arch::X86_64).unwrap();
        assert_eq!(x64.syscalls[&83].uncond, Some(Action::Errno(2)));
        assert_eq!(x64.syscalls.len(), 1, "socketcall is not an x86_64 syscall");
        let x86 = f.arch_rules(Arch::I386).unwrap();
        assert_eq!(x86.syscalls[&102].uncond, Some(Action::Errno(1)));
        // On arm64 the [arm] section is read, [x86] is not.
        let f = build_for(
            "2\ndenylist\n[x86]\nmkdir errno 2\n[arm]\nmkdir errno 3\n",
            Arch::Aarch64,
        )
        .unwrap();
        assert!(f.arch_rules(Arch::Aarch64).unwrap().syscalls.is_empty());
        assert_eq!(
            f.arch_rules(Arch::Arm).unwrap().syscalls[&39].uncond,
            Some(Action::Errno(3))
        );
        // i386 hosts filter i386 only.
        let f = build_for("2\nallowlist\nread\n", Arch::I386).unwrap();
        assert_eq!(f.arches.len(), 1);
        // Version 1: native numbers only.
        let f = build_for("1\nallowlist\n0\n1\n", Arch::X86_64).unwrap();
        assert_eq!(f.arches.len(), 1);
        assert_eq!(f.arches[0].syscalls[&1].uncond, Some(Action::Allow));
        assert_eq!(f.default, Action::Kill);
    }

    #[test]
    fn merging_like_libseccomp() {
        let f = build_for(
            "2\ndenylist\nioctl errno 1 [1,0x5412,==]\nioctl errno 2 [0,3,==]\nioctl errno 1 [1,0x5412,==]\nmount errno 5 [0,1,==]\nmount errno 6\nmount errno 7\numount2 errno 1\numount2 errno 2 [0,1,==]\n",
            Arch::X86_64,
        )
        .unwrap();
        let x64 = f.arch_rules(Arch::X86_64).unwrap();
        let ioctl = &x64.syscalls[&16];
        assert_eq!(ioctl.cond.len(), 2, "duplicates merge");
        assert_eq!(ioctl.cond[0].args[0].index, 0, "lower argument first");
        assert_eq!(x64.syscalls[&165].uncond, Some(Action::Errno(6)));
        assert!(x64.syscalls[&165].cond.is_empty());
        assert_eq!(x64.syscalls[&166].uncond, Some(Action::Errno(1)));
        assert!(x64.syscalls[&166].cond.is_empty());
        let e = build_for(
            "2\ndenylist\nioctl errno 1 [1,2,==]\nioctl errno 2 [1,2,==]\n",
            Arch::X86_64,
        )
        .unwrap_err();
        assert_eq!(e.line, 4);
        assert!(e.msg.contains("conflicts with line 3"), "{}", e.msg);
    }

    #[test]
    fn default_action_rules_are_refused() {
        let e = build_for("2\ndenylist\nread allow\n", Arch::X86_64).unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.msg.contains("default action"), "{}", e.msg);
        let e =
            build_for("2\nallowlist errno 13\nreject_force_umount\n", Arch::X86_64).unwrap_err();
        assert_eq!(e.line, 3);
        assert!(build_for("2\nallowlist\nread kill\n", Arch::X86_64).is_err());
    }

    #[test]
    fn i386_multiplexers_are_covered() {
        let f = build_for(
            "2\ndenylist\nsocket errno 97\nsend errno 1\nshmat errno 1\nconnect errno 1 [0,3,==]\n",
            Arch::X86_64,
        )
        .unwrap();
        let x86 = f.arch_rules(Arch::I386).unwrap();
        assert_eq!(
            x86.syscalls[&359].uncond,
            Some(Action::Errno(97)),
            "direct socket"
        );
        let sc = &x86.syscalls[&102];
        let calls: Vec<u64> = sc.cond.iter().map(|c| c.args[0].value).collect();
        assert_eq!(
            calls,
            [1, 9],
            "socketcall(SYS_SOCKET), socketcall(SYS_SEND)"
        );
        assert_eq!(x86.syscalls[&117].cond[0].args[0].value, 21, "ipc(SHMAT)");
        // With argument filters only the direct call (the multiplexed
        // arguments are in memory).
        assert!(x86.syscalls[&362].cond.len() == 1);
        assert!(!calls.contains(&3));
        // x86_64 has no multiplexer.
        assert!(!f
            .arch_rules(Arch::X86_64)
            .unwrap()
            .syscalls
            .contains_key(&102));
    }

    #[test]
    fn notify_is_refused_clearly() {
        let e = build_for("2\ndenylist\nread\nmount notify\n", Arch::X86_64).unwrap_err();
        assert_eq!(e.line, 4);
        assert!(e.msg.contains("notify proxy"), "{}", e.msg);
        let e = build_for("2\nallowlist notify\nread\n", Arch::X86_64).unwrap_err();
        assert_eq!(e.line, 2);
    }

    #[test]
    fn unknown_names_are_skipped() {
        let f = build_for(
            "2\ndenylist\nno_such_call errno 1\n\nrmdir errno 1\n",
            Arch::X86_64,
        )
        .unwrap();
        let x64 = f.arch_rules(Arch::X86_64).unwrap();
        assert_eq!(x64.syscalls.keys().copied().collect::<Vec<_>>(), [84]);
    }
}
