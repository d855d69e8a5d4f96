//! LXC's command line: GNU `getopt_long` as LXC's tools call it, driven by
//! an option table built from the applet's own argh definition
//! (`argh::ArgsInfo`) followed by LXC's common options.
//!
//! What it reproduces: options anywhere before `--` (argv is permuted),
//! bundled short options (`-kW`), values glued on (`-nfoo`, `--name=foo`)
//! or in the next word (`-n foo`, `-t -1`), unambiguous prefixes of long
//! options (`--na foo`), optional arguments only glued on (`-eCAP`,
//! `--nesting=3`), the first table entry winning when an applet option
//! shadows a common one (lxc-attach's `-f, --rcfile`), and GNU's wording for
//! each mistake.

use argh::{FlagInfoKind, Optionality};

/// Whether an option takes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HasArg {
    No,
    Required,
    /// Only when glued on: `-eLIST`, `--opt=LIST`.
    Optional,
}

/// LXC's common options (`LXC_COMMON_OPTIONS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommonOpt {
    Name,
    Help,
    /// `-?`: getopt's error character, so LXC prints the help and exits 1.
    HelpQuestion,
    Usage,
    Version,
    Quiet,
    Logfile,
    Logpriority,
    Lxcpath,
    Rcfile,
}

/// Who an option belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Common(CommonOpt),
    /// The applet's argh flag, by its canonical spelling (`--timeout`, or
    /// `-t` when it has no long name).
    Applet {
        spelling: &'static str,
        repeating: bool,
    },
}

/// One row of the option table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opt {
    pub short: Option<char>,
    /// Without the leading `--`.
    pub long: Option<&'static str>,
    pub has_arg: HasArg,
    pub target: Target,
}

/// LXC_COMMON_OPTIONS, in LXC's order.
pub const COMMON: &[Opt] = &[
    common(Some('n'), "name", HasArg::Required, CommonOpt::Name),
    common(Some('h'), "help", HasArg::No, CommonOpt::Help),
    common(Some('?'), "help", HasArg::No, CommonOpt::HelpQuestion),
    common(None, "usage", HasArg::No, CommonOpt::Usage),
    common(None, "version", HasArg::No, CommonOpt::Version),
    common(Some('q'), "quiet", HasArg::No, CommonOpt::Quiet),
    common(Some('o'), "logfile", HasArg::Required, CommonOpt::Logfile),
    common(
        Some('l'),
        "logpriority",
        HasArg::Required,
        CommonOpt::Logpriority,
    ),
    common(Some('P'), "lxcpath", HasArg::Required, CommonOpt::Lxcpath),
    common(None, "rcfile", HasArg::Required, CommonOpt::Rcfile),
];

const fn common(short: Option<char>, long: &'static str, has_arg: HasArg, c: CommonOpt) -> Opt {
    Opt {
        short,
        long: Some(long),
        has_arg,
        target: Target::Common(c),
    }
}

/// The applet's options (from its argh definition) followed by the common
/// ones. An option whose `arg_name` is written `[NAME]` takes an optional
/// argument; argh's implicit `--help` is left to the common `--help`.
pub fn table(info: &argh::CommandInfoWithArgs) -> Vec<Opt> {
    let mut t: Vec<Opt> = info
        .flags
        .iter()
        .filter(|f| f.long != "--help")
        .map(|f| {
            let has_arg = match f.kind {
                FlagInfoKind::Switch => HasArg::No,
                FlagInfoKind::Option { arg_name } if arg_name.starts_with('[') => HasArg::Optional,
                FlagInfoKind::Option { .. } => HasArg::Required,
            };
            let long = f.long.strip_prefix("--").filter(|l| !l.is_empty());
            Opt {
                short: f.short,
                long,
                has_arg,
                target: Target::Applet {
                    spelling: f.long,
                    repeating: f.optionality == Optionality::Repeating,
                },
            }
        })
        .collect();
    t.extend_from_slice(COMMON);
    t
}

/// One option found on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub opt: Opt,
    pub value: Option<String>,
}

/// The command line split into options (in order) and operands.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub options: Vec<Found>,
    /// Operands in order: the words that are not options, then everything
    /// after `--` (as GNU getopt's permutation leaves them).
    pub operands: Vec<String>,
}

/// A mistake on the command line, worded as GNU getopt words it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mistake {
    UnknownLong(String),
    UnknownShort(char),
    Ambiguous(String, Vec<&'static str>),
    LongNeedsValue(&'static str),
    ShortNeedsValue(char),
    LongTakesNoValue(&'static str),
}

impl std::fmt::Display for Mistake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mistake::UnknownLong(o) => write!(f, "unrecognized option '--{o}'"),
            Mistake::UnknownShort(c) => write!(f, "invalid option -- '{c}'"),
            Mistake::Ambiguous(o, all) => {
                write!(f, "option '--{o}' is ambiguous; possibilities:")?;
                for a in all {
                    write!(f, " '--{a}'")?;
                }
                Ok(())
            }
            Mistake::LongNeedsValue(o) => write!(f, "option '--{o}' requires an argument"),
            Mistake::ShortNeedsValue(c) => write!(f, "option requires an argument -- '{c}'"),
            Mistake::LongTakesNoValue(o) => write!(f, "option '--{o}' doesn't allow an argument"),
        }
    }
}

/// Split `args` the way `getopt_long(argc, argv, shortopts, table)` does.
/// `stop` is asked after each option and ends the scan early when it says
/// so (LXC acts on `--help`, `--usage` and `--version` as soon as getopt
/// returns them, before later mistakes are seen).
pub fn parse(
    table: &[Opt],
    args: &[String],
    mut stop: impl FnMut(&Found) -> bool,
) -> Result<Parsed, Mistake> {
    let mut p = Parsed::default();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if a == "--" {
            p.operands.extend(args[i..].iter().cloned());
            break;
        }
        let found = if let Some(body) = a.strip_prefix("--") {
            vec![long_option(table, body, args, &mut i)?]
        } else if a.len() > 1 && a.starts_with('-') {
            short_cluster(table, &a[1..], args, &mut i)?
        } else {
            p.operands.push(a.clone());
            continue;
        };
        for f in found {
            let done = stop(&f);
            p.options.push(f);
            if done {
                return Ok(p);
            }
        }
    }
    Ok(p)
}

fn long_option(
    table: &[Opt],
    body: &str,
    args: &[String],
    i: &mut usize,
) -> Result<Found, Mistake> {
    let (name, glued) = match body.split_once('=') {
        Some((n, v)) => (n, Some(v.to_string())),
        None => (body, None),
    };
    let opt = find_long(table, name).map_err(|e| match e {
        None => Mistake::UnknownLong(body.to_string()),
        Some(all) => Mistake::Ambiguous(name.to_string(), all),
    })?;
    let long = opt.long.unwrap_or_default();
    let value = match (opt.has_arg, glued) {
        (HasArg::No, Some(_)) => return Err(Mistake::LongTakesNoValue(long)),
        (HasArg::No, None) => None,
        (HasArg::Optional, v) => v,
        (HasArg::Required, Some(v)) => Some(v),
        (HasArg::Required, None) => {
            let v = args.get(*i).ok_or(Mistake::LongNeedsValue(long))?;
            *i += 1;
            Some(v.clone())
        }
    };
    Ok(Found { opt, value })
}

/// An exact long name, else the one option it is a prefix of.
/// `Err(None)`: no such option; `Err(Some(names))`: ambiguous.
fn find_long(table: &[Opt], name: &str) -> Result<Opt, Option<Vec<&'static str>>> {
    if name.is_empty() {
        return Err(None);
    }
    if let Some(o) = table.iter().find(|o| o.long == Some(name)) {
        return Ok(*o);
    }
    let matches: Vec<&Opt> = table
        .iter()
        .filter(|o| o.long.is_some_and(|l| l.starts_with(name)))
        .collect();
    match matches.as_slice() {
        [] => Err(None),
        [one, rest @ ..] if rest.iter().all(|o| o.long == one.long) => Ok(**one),
        many => {
            let mut names: Vec<&'static str> = Vec::new();
            for o in many {
                let l = o.long.unwrap_or_default();
                if !names.contains(&l) {
                    names.push(l);
                }
            }
            Err(Some(names))
        }
    }
}

fn short_cluster(
    table: &[Opt],
    body: &str,
    args: &[String],
    i: &mut usize,
) -> Result<Vec<Found>, Mistake> {
    let mut out = Vec::new();
    for (at, c) in body.char_indices() {
        let opt = *table
            .iter()
            .find(|o| o.short == Some(c))
            .ok_or(Mistake::UnknownShort(c))?;
        let rest = &body[at + c.len_utf8()..];
        match opt.has_arg {
            HasArg::No => out.push(Found { opt, value: None }),
            HasArg::Optional => {
                let value = (!rest.is_empty()).then(|| rest.to_string());
                out.push(Found { opt, value });
                break;
            }
            HasArg::Required => {
                let value = if !rest.is_empty() {
                    rest.to_string()
                } else {
                    let v = args.get(*i).ok_or(Mistake::ShortNeedsValue(c))?;
                    *i += 1;
                    v.clone()
                };
                out.push(Found {
                    opt,
                    value: Some(value),
                });
                break;
            }
        }
    }
    Ok(out)
}

/// The applet's options as argh accepts them: canonical spelling, the value
/// as its own word (an optional argument left out becomes ""), the last
/// occurrence of a non-repeating option winning as with getopt, then `--`
/// and the operands.
pub fn argh_argv(options: &[Found], operands: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let applet: Vec<(&'static str, bool, &Found)> = options
        .iter()
        .filter_map(|f| match f.opt.target {
            Target::Applet {
                spelling,
                repeating,
            } => Some((spelling, repeating, f)),
            Target::Common(_) => None,
        })
        .collect();
    for (n, (spelling, repeating, f)) in applet.iter().enumerate() {
        let later = applet[n + 1..].iter().any(|(s, _, _)| s == spelling);
        if later && !repeating {
            continue;
        }
        out.push(spelling.to_string());
        if f.opt.has_arg != HasArg::No {
            out.push(f.value.clone().unwrap_or_default());
        }
    }
    out.push("--".into());
    out.extend(operands.iter().cloned());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tbl() -> Vec<Opt> {
        let mut t = vec![
            Opt {
                short: Some('t'),
                long: Some("timeout"),
                has_arg: HasArg::Required,
                target: Target::Applet {
                    spelling: "--timeout",
                    repeating: false,
                },
            },
            Opt {
                short: Some('k'),
                long: Some("kill"),
                has_arg: HasArg::No,
                target: Target::Applet {
                    spelling: "--kill",
                    repeating: false,
                },
            },
            Opt {
                short: None,
                long: Some("nokill"),
                has_arg: HasArg::No,
                target: Target::Applet {
                    spelling: "--nokill",
                    repeating: false,
                },
            },
            Opt {
                short: None,
                long: Some("nolock"),
                has_arg: HasArg::No,
                target: Target::Applet {
                    spelling: "--nolock",
                    repeating: false,
                },
            },
            Opt {
                short: Some('e'),
                long: Some("elevated"),
                has_arg: HasArg::Optional,
                target: Target::Applet {
                    spelling: "--elevated",
                    repeating: false,
                },
            },
        ];
        t.extend_from_slice(COMMON);
        t
    }

    fn p(args: &[&str]) -> Result<Parsed, Mistake> {
        let v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        parse(&tbl(), &v, |_| false)
    }

    fn words(p: &Parsed) -> Vec<String> {
        let mut out = Vec::new();
        for f in &p.options {
            out.push(match (f.opt.short, f.opt.long) {
                (_, Some(l)) => format!("--{l}"),
                (Some(c), None) => format!("-{c}"),
                _ => unreachable!(),
            });
            if let Some(v) = &f.value {
                out.push(format!("={v}"));
            }
        }
        out.push("|".into());
        out.extend(p.operands.iter().cloned());
        out
    }

    #[test]
    fn forms() {
        let w = |a: &[&str]| words(&p(a).unwrap());
        assert_eq!(w(&["--name=foo"]), ["--name", "=foo", "|"]);
        assert_eq!(
            w(&["-nfoo", "-kq"]),
            ["--name", "=foo", "--kill", "--quiet", "|"]
        );
        assert_eq!(w(&["-qnfoo"]), ["--quiet", "--name", "=foo", "|"]);
        assert_eq!(w(&["-t", "-1"]), ["--timeout", "=-1", "|"]);
        assert_eq!(w(&["-n", "-kW"]), ["--name", "=-kW", "|"]);
        assert_eq!(w(&["--na", "x"]), ["--name", "=x", "|"]);
        assert_eq!(w(&["--nok"]), ["--nokill", "|"]);
        assert_eq!(w(&["foo", "-k", "bar"]), ["--kill", "|", "foo", "bar"]);
        assert_eq!(w(&["a", "--", "-n", "--x=y"]), ["|", "a", "-n", "--x=y"]);
        assert_eq!(w(&["-e", "x"]), ["--elevated", "|", "x"]);
        assert_eq!(w(&["-eCAP"]), ["--elevated", "=CAP", "|"]);
        assert_eq!(
            w(&["--elevated=CAP", "-"]),
            ["--elevated", "=CAP", "|", "-"]
        );
        assert_eq!(w(&["--he"]), ["--help", "|"]);
        assert_eq!(w(&["-?"]), ["--help", "|"]);
    }

    #[test]
    fn mistakes_in_gnu_words() {
        let e = |a: &[&str]| p(a).unwrap_err().to_string();
        assert_eq!(e(&["--bogus=3"]), "unrecognized option '--bogus=3'");
        assert_eq!(e(&["-kZ"]), "invalid option -- 'Z'");
        assert_eq!(e(&["-t"]), "option requires an argument -- 't'");
        assert_eq!(e(&["--timeout"]), "option '--timeout' requires an argument");
        assert_eq!(
            e(&["--kill=1"]),
            "option '--kill' doesn't allow an argument"
        );
        assert_eq!(
            e(&["--no"]),
            "option '--no' is ambiguous; possibilities: '--nokill' '--nolock'"
        );
        assert_eq!(e(&["--=x"]), "unrecognized option '--=x'");
    }

    #[test]
    fn last_value_wins_for_argh() {
        let parsed = p(&["-t", "1", "-k", "--timeout=2", "x"]).unwrap();
        assert_eq!(
            argh_argv(&parsed.options, &parsed.operands),
            ["--kill", "--timeout", "2", "--", "x"]
        );
        let parsed = p(&["-e"]).unwrap();
        assert_eq!(
            argh_argv(&parsed.options, &parsed.operands),
            ["--elevated", "", "--"]
        );
    }
}
