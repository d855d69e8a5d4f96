//! LXC's seccomp profile language, parsed exactly as LXC 5 reads it
//! (src/lxc/seccomp.c: parse_config, parse_config_v1, parse_config_v2),
//! into a typed [`Profile`]. No host knowledge here: which rules apply on
//! which architecture is [`super::filter`]'s job.
//!
//! ```text
//! 2                                  version: 1 or 2
//! denylist [ACTION]                  v2: allowlist|denylist (whitelist|blacklist),
//!                                    optional default action; v1: allowlist
//! reject_force_umount                umount2(.., MNT_FORCE) fails with EACCES
//! [all]                              section: all, x86, x32, x86_64, arm, arm64, ...
//! kexec_load errno 1                 NAME [ACTION] [[INDEX,VALUE,OP(,MASK)]...]
//! mount errno 1 [2,0x1000,&=,0x1000]
//! # comment
//! ```
//!
//! ACTION is `kill`, `errno N`, `allow`, `trap`, `notify` (or `log`, which
//! LXC lacks). Like LXC, an action word is matched by its prefix and a
//! version-1 body is one syscall number per line.

use anyhow::{bail, Result};
use nom::branch::alt;
use nom::bytes::complete::tag;
use nom::character::complete::{char, digit1, hex_digit1, oct_digit0, one_of};
use nom::combinator::{all_consuming, map_res, opt, recognize};
use nom::sequence::preceded;
use nom::{IResult, Parser};

/// What a seccomp filter does with a syscall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// SECCOMP_RET_KILL_THREAD (libseccomp's SCMP_ACT_KILL, which LXC uses).
    Kill,
    /// SIGSYS to the caller.
    Trap,
    /// Fail with this errno (the low 16 bits of what the profile says, as
    /// libseccomp's SCMP_ACT_ERRNO keeps them; the kernel caps it at 4095).
    Errno(u16),
    /// Ask a user-space supervisor (SECCOMP_RET_USER_NOTIF).
    Notify,
    /// Allow, and log through the audit subsystem (SECCOMP_RET_LOG).
    Log,
    Allow,
}

impl Action {
    /// The filter's return value (linux/seccomp.h SECCOMP_RET_*).
    pub fn ret(self) -> u32 {
        match self {
            Action::Kill => 0x0000_0000,
            Action::Trap => 0x0003_0000,
            Action::Errno(e) => 0x0005_0000 | u32::from(e),
            Action::Notify => 0x7fc0_0000,
            Action::Log => 0x7ffc_0000,
            Action::Allow => 0x7fff_0000,
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Action::Kill => f.write_str("kill"),
            Action::Trap => f.write_str("trap"),
            Action::Errno(e) => write!(f, "errno {e}"),
            Action::Notify => f.write_str("notify"),
            Action::Log => f.write_str("log"),
            Action::Allow => f.write_str("allow"),
        }
    }
}

/// An argument comparison operator (libseccomp's SCMP_CMP_*).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    Ne,
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
    /// `(arg & mask) == value`
    MaskedEq,
}

/// `[INDEX,VALUE,OP]` or `[INDEX,VALUE,OP,MASK]`: all 64 bits of syscall
/// argument INDEX compared (unsigned) with VALUE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArgCmp {
    pub index: u8,
    pub op: CmpOp,
    pub value: u64,
    /// Only for [`CmpOp::MaskedEq`] (LXC's default mask is 0).
    pub mask: u64,
}

/// allowlist (default kill, rules allow) or denylist (default allow, rules kill).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    Allow,
    Deny,
}

/// A `[...]` section header: which host architectures read the rules
/// below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// Rules before the first header.
    Initial,
    All,
    /// One of LXC's architecture names, lower case (`x86`, `arm64`, ...).
    Arch(&'static str),
}

/// Section names LXC 5 knows (and `riscv64`, which it lacks).
const SECTIONS: &[&str] = &[
    "x86",
    "x32",
    "x86_64",
    "arm",
    "arm64",
    "ppc64le",
    "ppc64",
    "ppc",
    "mips64",
    "mips64n32",
    "mips",
    "mipsel64",
    "mipsel64n32",
    "mipsel",
    "s390x",
    "s390",
    "loongarch64",
    "riscv64",
];

/// What one rule line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleKind {
    /// A syscall by name (v2). The name is kept verbatim: LXC cuts it at
    /// the first space, so leading blanks leave it empty.
    Syscall {
        name: String,
        action: Action,
        args: Vec<ArgCmp>,
    },
    /// `reject_force_umount`: umount2 with MNT_FORCE fails with EACCES.
    RejectForceUmount,
    /// A native syscall number (v1).
    Number(u32),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// 1-based line in the profile file.
    pub line: usize,
    pub section: Section,
    pub kind: RuleKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub version: u32,
    /// The line of the allowlist/denylist policy line.
    pub policy_line: usize,
    pub list: ListKind,
    /// What a syscall no rule matches gets.
    pub default_action: Action,
    pub rules: Vec<Rule>,
}

/// A profile error with its 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub msg: String,
}

type PResult<T> = std::result::Result<T, ParseError>;

fn err<T>(line: usize, msg: impl Into<String>) -> PResult<T> {
    Err(ParseError {
        line,
        msg: msg.into(),
    })
}

/// Parse a profile. `section_active` tells whether the rules of a section
/// are read on this host: LXC skips the lines of another architecture's
/// section without looking at them, so their mistakes go unreported.
pub fn parse(text: &str, section_active: impl Fn(Section) -> bool) -> PResult<Profile> {
    // fscanf("%d\n"): the version, then any whitespace, newlines included;
    // what follows up to the end of that line is the policy line.
    let start = text.len() - text.trim_start().len();
    let (version, after) = match scanf_int(&text[start..]) {
        Some((v, rest)) => (v, rest),
        None => return err(line_at(text, start), "invalid version (expected 1 or 2)"),
    };
    if version != 1 && version != 2 {
        return err(
            line_at(text, start),
            format!("invalid version {version} (expected 1 or 2)"),
        );
    }
    let ws = after.len() - after.trim_start().len();
    let policy_off = text.len() - after.len() + ws;
    let policy_no = line_at(text, policy_off);
    let rest = &text[policy_off..];
    if rest.is_empty() {
        return err(policy_no, "missing the policy line (allowlist or denylist)");
    }
    let (policy, body) = match rest.split_once('\n') {
        Some((p, b)) => (p, Some(b)),
        None => (rest, None),
    };
    if policy.contains("debug") {
        return err(policy_no, "the debug directive is not implemented");
    }
    let body_lines = body
        .unwrap_or("")
        .split_inclusive('\n')
        .enumerate()
        .map(|(i, l)| (policy_no + 1 + i, l.strip_suffix('\n').unwrap_or(l)));
    if version == 1 {
        if !policy.contains("allowlist") && !policy.contains("whitelist") {
            return err(policy_no, "version 1 profiles must be an allowlist");
        }
        return parse_v1(policy_no, body_lines);
    }
    let list = if policy.starts_with("denylist") || policy.starts_with("blacklist") {
        ListKind::Deny
    } else if policy.starts_with("allowlist") || policy.starts_with("whitelist") {
        ListKind::Allow
    } else {
        return err(
            policy_no,
            format!("bad seccomp policy style \"{policy}\" (expected allowlist or denylist)"),
        );
    };
    // The default action follows the first space; LXC reads it with the
    // newline still attached, so "denylist " is an unrecognised action.
    let explicit = match policy.find(' ') {
        Some(i) => {
            let tail = if body.is_some() {
                format!("{}\n", &policy[i + 1..])
            } else {
                policy[i + 1..].to_string()
            };
            action_word(&tail).map_err(|m| ParseError {
                line: policy_no,
                msg: m,
            })?
        }
        None => None,
    };
    let (default_action, rule_default) = match list {
        ListKind::Deny => (explicit.unwrap_or(Action::Allow), Action::Kill),
        ListKind::Allow => (explicit.unwrap_or(Action::Kill), Action::Allow),
    };
    let mut rules = Vec::new();
    let mut section = Section::Initial;
    for (no, line) in body_lines {
        if line.starts_with('#') {
            continue;
        }
        if line.starts_with('[') {
            section = parse_section(line).ok_or_else(|| ParseError {
                line: no,
                msg: format!("unsupported architecture \"{line}\""),
            })?;
            continue;
        }
        if !section_active(section) {
            continue;
        }
        let kind = parse_rule(line, rule_default).map_err(|m| ParseError { line: no, msg: m })?;
        rules.push(Rule {
            line: no,
            section,
            kind,
        });
    }
    Ok(Profile {
        version: 2,
        policy_line: policy_no,
        list,
        default_action,
        rules,
    })
}

fn parse_v1<'a>(
    policy_line: usize,
    lines: impl Iterator<Item = (usize, &'a str)>,
) -> PResult<Profile> {
    let mut rules = Vec::new();
    for (no, line) in lines {
        // sscanf("%d"): text after the number is ignored.
        let nr = match scanf_int(line.trim_start()) {
            Some((n, _)) if n >= 0 => n as u32,
            Some((n, _)) => return err(no, format!("invalid syscall number {n}")),
            None => return err(no, format!("expected a syscall number, found \"{line}\"")),
        };
        rules.push(Rule {
            line: no,
            section: Section::Initial,
            kind: RuleKind::Number(nr),
        });
    }
    Ok(Profile {
        version: 1,
        policy_line,
        list: ListKind::Allow,
        default_action: Action::Kill,
        rules,
    })
}

/// `[x86_64]` or `[X86_64]` (exactly; LXC compares the whole line).
fn parse_section(line: &str) -> Option<Section> {
    let inner = line.strip_prefix('[')?.strip_suffix(']')?;
    if inner == "all" || inner == "ALL" {
        return Some(Section::All);
    }
    SECTIONS
        .iter()
        .find(|s| inner == **s || inner == s.to_ascii_uppercase())
        .map(|s| Section::Arch(s))
}

/// One v2 rule line: `NAME [ACTION] [ARGS...]`.
fn parse_rule(line: &str, rule_default: Action) -> std::result::Result<RuleKind, String> {
    let (name, after) = match line.split_once(' ') {
        Some((n, a)) => (n, Some(a)),
        None => (line, None),
    };
    let action = match after {
        Some(a) => {
            let a = a.trim_start_matches(' ');
            if a.is_empty() || a.starts_with('#') {
                rule_default
            } else {
                action_word(a)?.unwrap_or(rule_default)
            }
        }
        None => rule_default,
    };
    let mut args: Vec<ArgCmp> = Vec::new();
    if line.contains('[') {
        // strtok(line, "]"): every piece up to six must hold one "[...".
        for piece in line.split(']').filter(|p| !p.is_empty()).take(6) {
            let Some(i) = piece.find('[') else {
                return Err(format!("invalid argument filter \"{}\"", piece.trim()));
            };
            let cmp = arg_cmp(&piece[i..])?;
            if args.iter().any(|a| a.index == cmp.index) {
                // libseccomp refuses two comparisons of one argument (EINVAL).
                return Err(format!(
                    "argument {} is compared twice in one rule",
                    cmp.index
                ));
            }
            args.push(cmp);
        }
    }
    if name.starts_with("reject_force_umount") {
        return Ok(RuleKind::RejectForceUmount);
    }
    Ok(RuleKind::Syscall {
        name: name.to_string(),
        action,
        args,
    })
}

/// An action word at the start of `s` (LXC's get_v2_default_action: matched
/// by prefix, so `killall` is `kill`). `Ok(None)`: `s` is empty.
fn action_word(s: &str) -> std::result::Result<Option<Action>, String> {
    let s = s.trim_start_matches(' ');
    let a = if s.starts_with("kill") {
        Action::Kill
    } else if let Some(n) = s.strip_prefix("errno") {
        match scanf_int(n.trim_start()) {
            // SCMP_ACT_ERRNO keeps the low 16 bits.
            Some((e, _)) => Action::Errno(e as u16),
            None => {
                return Err(format!(
                    "failed to parse the errno value of \"{}\"",
                    s.trim_end()
                ))
            }
        }
    } else if s.starts_with("allow") {
        Action::Allow
    } else if s.starts_with("trap") {
        Action::Trap
    } else if s.starts_with("notify") {
        Action::Notify
    } else if s.starts_with("log") {
        Action::Log
    } else if s.is_empty() {
        return Ok(None);
    } else {
        return Err(format!(
            "unrecognized seccomp action \"{}\" (expected kill, errno N, allow, trap, notify or log)",
            s.trim_end()
        ));
    };
    Ok(Some(a))
}

/// `[INDEX,VALUE,OP]` / `[INDEX,VALUE,OP,MASK]` as LXC reads it: INDEX as
/// `%i` (decimal, 0x hex or 0 octal), VALUE and MASK as unsigned 64-bit
/// numbers in any base, OP as a libseccomp name or symbol.
fn arg_cmp(s: &str) -> std::result::Result<ArgCmp, String> {
    let bad = || {
        format!(
            "invalid argument filter \"{s}]\" (expected [INDEX,VALUE,OP] or [INDEX,VALUE,OP,MASK])"
        )
    };
    let body = s.strip_prefix('[').ok_or_else(bad)?;
    let fields: Vec<&str> = body.split(',').collect();
    if fields.len() != 3 && fields.len() != 4 {
        return Err(bad());
    }
    let index = c_int(fields[0].trim()).ok_or_else(bad)?;
    if !(0..6).contains(&index) {
        return Err(format!("argument index {index} out of range (0 to 5)"));
    }
    let value =
        c_u64(fields[1]).ok_or_else(|| format!("invalid argument value \"{}\"", fields[1]))?;
    let op = match fields[2].trim() {
        "SCMP_CMP_NE" | "!=" => CmpOp::Ne,
        "SCMP_CMP_LT" | "<" => CmpOp::Lt,
        "SCMP_CMP_LE" | "<=" => CmpOp::Le,
        "SCMP_CMP_EQ" | "==" => CmpOp::Eq,
        "SCMP_CMP_GE" | ">=" => CmpOp::Ge,
        "SCMP_CMP_GT" | ">" => CmpOp::Gt,
        "SCMP_CMP_MASKED_EQ" | "&=" => CmpOp::MaskedEq,
        o => return Err(format!("invalid argument operator \"{o}\"")),
    };
    let mask = match fields.get(3) {
        Some(m) => c_u64(m).ok_or_else(|| format!("invalid argument mask \"{m}\""))?,
        None => 0,
    };
    Ok(ArgCmp {
        index: index as u8,
        op,
        value,
        mask,
    })
}

/// sscanf("%d"): optional sign and decimal digits; the rest is returned.
fn scanf_int(s: &str) -> Option<(i64, &str)> {
    let r: IResult<&str, &str> = recognize((opt(one_of("+-")), digit1)).parse(s);
    let (rest, num) = r.ok()?;
    let v = num.parse::<i64>().ok()?;
    Some((v.clamp(i32::MIN.into(), i32::MAX.into()), rest))
}

/// A whole C integer literal as strtol(.., 0) reads it: 0x hex, 0 octal,
/// decimal, optional sign.
fn c_int(s: &str) -> Option<i64> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let v = i64::try_from(c_unsigned(digits)?).ok()?;
    Some(if neg { -v } else { v })
}

/// lxc_safe_uint64(s, .., 0): leading blanks, no sign, then a whole
/// number in base 0.
fn c_u64(s: &str) -> Option<u64> {
    let s = s.trim_start();
    if s.starts_with('-') {
        return None;
    }
    c_unsigned(s.strip_prefix('+').unwrap_or(s))
}

fn c_unsigned(s: &str) -> Option<u64> {
    let hex = preceded(alt((tag("0x"), tag("0X"))), hex_digit1)
        .map_res(|h: &str| u64::from_str_radix(h, 16));
    let oct = preceded(char('0'), oct_digit0).map_res(|o: &str| {
        if o.is_empty() {
            Ok(0)
        } else {
            u64::from_str_radix(o, 8)
        }
    });
    let dec = map_res(digit1, |d: &str| d.parse::<u64>());
    let r: IResult<&str, u64> = all_consuming(alt((hex, oct, dec))).parse(s);
    r.ok().map(|(_, v)| v)
}

/// 1-based line number of byte offset `off`.
fn line_at(text: &str, off: usize) -> usize {
    text[..off.min(text.len())].matches('\n').count() + 1
}

/// Read and parse the profile at `path`; errors are `path:line: message`.
pub fn load(path: &str, section_active: impl Fn(Section) -> bool) -> Result<Profile> {
    let text = match std::fs::read(path) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) => bail!("lxc.seccomp.profile: failed to open seccomp policy file {path}: {e}"),
    };
    parse(&text, section_active).map_err(|e| anyhow::anyhow!("{path}:{}: {}", e.line, e.msg))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> PResult<Profile> {
        parse(text, |s| !matches!(s, Section::Arch("arm" | "arm64")))
    }

    fn sys(name: &str, action: Action, args: Vec<ArgCmp>) -> RuleKind {
        RuleKind::Syscall {
            name: name.into(),
            action,
            args,
        }
    }

    #[test]
    fn debian_common_seccomp() {
        let text = "2\ndenylist\nreject_force_umount  # comment this to allow umount -f;  not recommended\n[all]\nkexec_load errno 1\nopen_by_handle_at errno 1\ninit_module errno 1\nfinit_module errno 1\ndelete_module errno 1\n";
        let prof = p(text).unwrap();
        assert_eq!(prof.version, 2);
        assert_eq!(prof.list, ListKind::Deny);
        assert_eq!(prof.default_action, Action::Allow);
        assert_eq!(prof.rules.len(), 6);
        assert_eq!(prof.rules[0].kind, RuleKind::RejectForceUmount);
        assert_eq!(prof.rules[0].section, Section::Initial);
        assert_eq!(prof.rules[1].line, 5);
        assert_eq!(prof.rules[1].section, Section::All);
        assert_eq!(
            prof.rules[1].kind,
            sys("kexec_load", Action::Errno(1), vec![])
        );
    }

    #[test]
    fn defaults_and_actions() {
        let prof =
            p("2\nallowlist\nread\nwrite errno 5\nopen kill\nclose trap\nstat notify\nx log\n")
                .unwrap();
        assert_eq!(prof.default_action, Action::Kill);
        let acts: Vec<Action> = prof
            .rules
            .iter()
            .map(|r| match &r.kind {
                RuleKind::Syscall { action, .. } => *action,
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(
            acts,
            [
                Action::Allow,
                Action::Errno(5),
                Action::Kill,
                Action::Trap,
                Action::Notify,
                Action::Log
            ]
        );
        // Denylist: rules kill by default; an explicit policy default.
        let prof = p("2\nblacklist errno 38\nmount\n").unwrap();
        assert_eq!(prof.list, ListKind::Deny);
        assert_eq!(prof.default_action, Action::Errno(38));
        assert_eq!(prof.rules[0].kind, sys("mount", Action::Kill, vec![]));
        let prof = p("2\nwhitelist trap\nread # c\nwrite   errno   7\n").unwrap();
        assert_eq!(prof.default_action, Action::Trap);
        assert_eq!(prof.rules[0].kind, sys("read", Action::Allow, vec![]));
        assert_eq!(prof.rules[1].kind, sys("write", Action::Errno(7), vec![]));
        // Prefix matching and the low 16 bits, as LXC/libseccomp.
        let prof = p("2\ndenylist\na killall\nb errno 65537\nc errno -1\n").unwrap();
        assert_eq!(prof.rules[0].kind, sys("a", Action::Kill, vec![]));
        assert_eq!(prof.rules[1].kind, sys("b", Action::Errno(1), vec![]));
        assert_eq!(prof.rules[2].kind, sys("c", Action::Errno(0xffff), vec![]));
        assert_eq!(Action::Errno(13).ret(), 0x0005_000d);
        assert_eq!(Action::Allow.ret(), 0x7fff_0000);
    }

    #[test]
    fn argument_filters() {
        let prof = p("2\ndenylist\nmount errno 1 [2,0x1000,&=,0x1000]\nioctl errno 1 [1,0x5412,==][0,3,SCMP_CMP_GE]\nclone errno 1 [0, 010,<=]\n").unwrap();
        assert_eq!(
            prof.rules[0].kind,
            sys(
                "mount",
                Action::Errno(1),
                vec![ArgCmp {
                    index: 2,
                    op: CmpOp::MaskedEq,
                    value: 0x1000,
                    mask: 0x1000
                }]
            )
        );
        let RuleKind::Syscall { args, .. } = &prof.rules[1].kind else {
            panic!()
        };
        assert_eq!(args.len(), 2);
        assert_eq!(
            (args[0].index, args[0].op, args[0].value),
            (1, CmpOp::Eq, 0x5412)
        );
        assert_eq!(
            (args[1].index, args[1].op, args[1].value),
            (0, CmpOp::Ge, 3)
        );
        let RuleKind::Syscall { args, .. } = &prof.rules[2].kind else {
            panic!()
        };
        assert_eq!((args[0].op, args[0].value), (CmpOp::Le, 8));
    }

    #[test]
    fn errors_name_the_line() {
        let e = p("3\ndenylist\n").unwrap_err();
        assert_eq!(e.line, 1);
        let e = p("2\nmaybelist\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.msg.contains("bad seccomp policy style"), "{}", e.msg);
        let e = p("2\ndenylist\nread\nmkdir sometimes\n").unwrap_err();
        assert_eq!(e.line, 4);
        assert!(e.msg.contains("unrecognized seccomp action"), "{}", e.msg);
        let e = p("2\ndenylist\n[sparc]\n").unwrap_err();
        assert_eq!(
            (e.line, e.msg.contains("unsupported architecture")),
            (3, true)
        );
        let e = p("2\ndenylist\nmount errno 1 [6,1,==]\n").unwrap_err();
        assert_eq!(e.line, 3);
        let e = p("2\ndenylist\nmount errno 1 [1,1,=~]\n").unwrap_err();
        assert!(e.msg.contains("operator"), "{}", e.msg);
        let e = p("2\ndenylist\nmount errno 1 [1,-1,==]\n").unwrap_err();
        assert!(e.msg.contains("value"), "{}", e.msg);
        let e = p("2\ndenylist\nmount errno 1 [1,1,==][1,2,==]\n").unwrap_err();
        assert!(e.msg.contains("twice"), "{}", e.msg);
        let e = p("2\ndenylist\nmount errno 1 [1,1,==] trailing\n").unwrap_err();
        assert!(e.msg.contains("invalid argument filter"), "{}", e.msg);
        let e = p("2\ndenylist\nmount [1,1,==]\n").unwrap_err();
        assert!(e.msg.contains("unrecognized"), "{}", e.msg);
        let e = p("2\ndenylist\nmount errno x\n").unwrap_err();
        assert!(e.msg.contains("errno"), "{}", e.msg);
        let e = p("2\ndenylist debug\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(p("2\n").is_err());
        assert!(p("x\n").is_err());
        // "denylist " leaves only the newline as the action: LXC refuses it.
        assert!(p("2\ndenylist \nread\n").is_err());
    }

    #[test]
    fn sections_of_other_architectures_are_not_read() {
        let prof =
            p("2\ndenylist\n[arm]\nthis is not checked\n[x86_64]\nread\n[ALL]\nwrite\n").unwrap();
        assert_eq!(prof.rules.len(), 2);
        assert_eq!(prof.rules[0].section, Section::Arch("x86_64"));
        assert_eq!(prof.rules[1].section, Section::All);
        // Only the exact lower or upper case spelling is a section.
        assert!(p("2\ndenylist\n[X86_64 ]\n").is_err());
        assert!(p("2\ndenylist\n[Arm]\n").is_err());
    }

    #[test]
    fn lines_lxc_skips_or_refuses() {
        // A blank line gives an empty name (skipped later); '#' comments
        // only at the start of a line; an indented rule leaves its name as
        // the "action" and is refused, as by LXC.
        let prof = p("2\ndenylist\n\n#x\nwrite\n").unwrap();
        let names: Vec<&str> = prof
            .rules
            .iter()
            .map(|r| match &r.kind {
                RuleKind::Syscall { name, .. } => name.as_str(),
                _ => "",
            })
            .collect();
        assert_eq!(names, ["", "write"]);
        assert_eq!(prof.rules[1].line, 5);
        let e = p("2\ndenylist\nread\n  write\n").unwrap_err();
        assert_eq!(e.line, 4);
    }

    #[test]
    fn version_one() {
        let prof = p("1\nallowlist\n0\n1 # write\n  60\n").unwrap();
        let nrs: Vec<RuleKind> = prof.rules.into_iter().map(|r| r.kind).collect();
        assert_eq!(
            nrs,
            [
                RuleKind::Number(0),
                RuleKind::Number(1),
                RuleKind::Number(60)
            ]
        );
        assert_eq!(prof.default_action, Action::Kill);
        assert!(p("1\nwhitelist\n0\n").is_ok());
        let e = p("1\ndenylist\n0\n").unwrap_err();
        assert_eq!(e.line, 2);
        let e = p("1\nallowlist\n0\nread\n").unwrap_err();
        assert_eq!(e.line, 4);
        // fscanf("%d\n") skips blank lines after the version.
        let prof = p("  1\n\n\nallowlist\n3\n").unwrap();
        assert_eq!(prof.rules[0].line, 5);
    }

    #[test]
    fn numbers() {
        assert_eq!(c_u64("0x10"), Some(16));
        assert_eq!(c_u64("010"), Some(8));
        assert_eq!(c_u64("0"), Some(0));
        assert_eq!(c_u64(" 7"), Some(7));
        assert_eq!(c_u64("7 "), None);
        assert_eq!(c_u64("-1"), None);
        assert_eq!(c_u64("18446744073709551615"), Some(u64::MAX));
        assert_eq!(c_u64("18446744073709551616"), None);
        assert_eq!(c_int("-3"), Some(-3));
        assert_eq!(c_int("0x2"), Some(2));
        assert_eq!(scanf_int("12abc"), Some((12, "abc")));
        assert_eq!(scanf_int("abc"), None);
    }
}
