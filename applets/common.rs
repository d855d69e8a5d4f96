//! What every applet shares: argv normalisation, LXC's common options
//! (-n -P -o -l -q --rcfile --version -h), and error printing.

use std::ffi::OsString;

use argh::FromArgs;
use lxcbox::log::{self, LogSetup};

/// LXC's common options, taken out of argv before the applet's own parser sees it.
#[derive(Debug, Default, Clone)]
pub struct Common {
    /// The applet's full name, e.g. `lxc-start`.
    pub applet: &'static str,
    pub name: Option<String>,
    pub lxcpaths: Vec<String>,
    pub logfile: Option<String>,
    pub logpriority: Option<String>,
    pub quiet: bool,
    pub rcfile: Option<String>,
}

#[allow(dead_code)] // used by the container applets
impl Common {
    /// The first `-P`, else the global default.
    pub fn lxcpath(&self) -> String {
        match self.lxcpaths.first() {
            Some(p) => p.clone(),
            None => lxcbox::paths::default_lxcpath(),
        }
    }

    /// The container name, or LXC's error when `-n` is missing.
    pub fn name(&self) -> anyhow::Result<&str> {
        match self.name.as_deref() {
            Some(n) if !n.is_empty() => Ok(n),
            _ => anyhow::bail!("missing container name, use --name option"),
        }
    }

    pub fn log_setup(&self) -> LogSetup {
        LogSetup {
            file: self.logfile.clone(),
            priority: self.logpriority.clone(),
            quiet: self.quiet,
        }
    }
}

/// Help text appended to every applet's own.
pub const COMMON_HELP: &str = "\
Common options:
  -n, --name NAME         NAME of the container
  -P, --lxcpath PATH      use specified container path
  -o, --logfile FILE      output log to FILE instead of stderr (\"none\" disables)
  -l, --logpriority LEVEL set log priority to LEVEL (TRACE DEBUG INFO NOTICE WARN
                          ERROR CRIT ALERT FATAL)
  -q, --quiet             don't produce any output
      --rcfile FILE       load configuration file FILE
  -h, -?, --help          show this help
      --version           print the version number";

/// Turn the OS arguments into UTF-8 strings, or say which one is not.
pub fn utf8_args(applet: &str, args: Vec<OsString>) -> Result<Vec<String>, String> {
    args.into_iter()
        .enumerate()
        .map(|(i, a)| {
            a.into_string().map_err(|bad| {
                format!("{applet}: argument {} is not valid UTF-8: {:?}", i + 1, bad)
            })
        })
        .collect()
}

/// Rewrite argv into the exact forms argh accepts: `--opt=value` becomes
/// `--opt value`, `-nfoo` becomes `-n foo`, bundled switches `-dF` become
/// `-d -F`, `-?` and `--usage` become `--help`. `value_shorts` lists the
/// short options (common and the applet's own) that take a value; the word
/// after such an option is passed through untouched, so `-t -1` works.
/// Nothing after `--` is changed.
pub fn normalize(args: &[String], value_shorts: &str) -> Vec<String> {
    let takes_value = |c: char| "nPol".contains(c) || value_shorts.contains(c);
    let mut out = Vec::with_capacity(args.len() + 2);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--" {
            out.push(a.clone());
            out.extend(it.cloned());
            break;
        }
        if a == "-?" || a == "--usage" {
            out.push("--help".into());
        } else if let Some(long) = a.strip_prefix("--") {
            match long.split_once('=') {
                Some((k, v)) => {
                    out.push(format!("--{k}"));
                    out.push(v.to_string());
                }
                None => {
                    out.push(a.clone());
                    if long_takes_value(long) {
                        if let Some(v) = it.next() {
                            out.push(v.clone());
                        }
                    }
                }
            }
        } else if a.len() > 1 && a.starts_with('-') && !is_number(a) {
            let body = &a[1..];
            for (i, c) in body.char_indices() {
                out.push(format!("-{c}"));
                if takes_value(c) {
                    let rest = &body[i + c.len_utf8()..];
                    if !rest.is_empty() {
                        out.push(rest.to_string());
                    } else if let Some(v) = it.next() {
                        out.push(v.clone());
                    }
                    break;
                }
            }
        } else {
            out.push(a.clone());
        }
    }
    out
}

fn is_number(a: &str) -> bool {
    a[1..].chars().all(|c| c.is_ascii_digit())
}

/// Common long options that take a value (their argument is never re-split).
fn long_takes_value(opt: &str) -> bool {
    matches!(
        opt,
        "name" | "lxcpath" | "logfile" | "logpriority" | "rcfile"
    )
}

/// Outcome of taking the common options out of argv.
pub enum Extracted {
    /// Continue with these remaining arguments.
    Rest(Common, Vec<String>),
    /// `--version` was asked for.
    Version,
}

/// Take LXC's common options out of a normalised argv.
pub fn extract(applet: &'static str, args: Vec<String>) -> Result<Extracted, String> {
    let mut c = Common {
        applet,
        ..Default::default()
    };
    let mut rest = Vec::with_capacity(args.len());
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let mut value = |what: &str| {
            it.next()
                .ok_or_else(|| format!("{applet}: option '{a}' requires an argument ({what})"))
        };
        match a.as_str() {
            "--" => {
                rest.push(a);
                rest.extend(it);
                break;
            }
            "-n" | "--name" => c.name = Some(value("NAME")?),
            "-P" | "--lxcpath" => c.lxcpaths.push(value("PATH")?),
            "-o" | "--logfile" => c.logfile = Some(value("FILE")?),
            "-l" | "--logpriority" => c.logpriority = Some(value("LEVEL")?),
            "--rcfile" => c.rcfile = Some(value("FILE")?),
            "-q" | "--quiet" => c.quiet = true,
            "--version" => return Ok(Extracted::Version),
            _ => rest.push(a),
        }
    }
    Ok(Extracted::Rest(c, rest))
}

/// Parse an applet's command line: normalise, take the common options out,
/// hand the rest to argh. `Err(code)` means "exit now with code" (help
/// printed, usage error reported).
pub fn parse<T: FromArgs>(
    applet: &'static str,
    value_shorts: &str,
    args: Vec<OsString>,
) -> Result<(Common, T), i32> {
    let args = match utf8_args(applet, args) {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("{msg}");
            return Err(1);
        }
    };
    let norm = normalize(&args, value_shorts);
    let (common, rest) = match extract(applet, norm) {
        Ok(Extracted::Rest(c, r)) => (c, r),
        Ok(Extracted::Version) => {
            println!("{}", lxcbox::LXC_COMPAT_VERSION);
            return Err(0);
        }
        Err(msg) => {
            eprintln!("{msg}");
            return Err(1);
        }
    };
    let refs: Vec<&str> = rest.iter().map(String::as_str).collect();
    match T::from_args(&[applet], &refs) {
        Ok(t) => Ok((common, t)),
        Err(early) => {
            if early.status.is_ok() {
                // --help: argh's text plus the common options.
                println!("{}\n{COMMON_HELP}", early.output.trim_end());
                Err(0)
            } else {
                eprint!("{applet}: {}", early.output);
                if !early.output.ends_with('\n') {
                    eprintln!();
                }
                eprintln!("Run '{applet} --help' for usage.");
                Err(1)
            }
        }
    }
}

/// Run an applet body with logging set up; print errors as
/// `lxc-NAME: CONTAINER: message` and turn them into exit status 1.
pub fn run(common: &Common, body: impl FnOnce() -> anyhow::Result<i32>) -> i32 {
    if let Err(e) = log::init(common.applet, common.name.as_deref(), &common.log_setup()) {
        report(common, &e);
        return 1;
    }
    match body() {
        Ok(code) => code,
        Err(e) => {
            report(common, &e);
            1
        }
    }
}

/// Print an error the way LXC does (unless -q).
pub fn report(common: &Common, e: &anyhow::Error) {
    // The log file gets every failure too; on stderr it is printed once, here.
    if lxcbox::log::logs_to_file() {
        ::log::error!("{e:#}");
    }
    if common.quiet {
        return;
    }
    match common.name.as_deref() {
        Some(n) => eprintln!("{}: {n}: {e:#}", common.applet),
        None => eprintln!("{}: {e:#}", common.applet),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(args: &[&str], vs: &str) -> Vec<String> {
        let v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        normalize(&v, vs)
    }

    #[test]
    fn normalise_forms() {
        assert_eq!(n(&["--name=foo"], ""), ["--name", "foo"]);
        assert_eq!(n(&["-nfoo"], ""), ["-n", "foo"]);
        assert_eq!(n(&["-n", "foo"], ""), ["-n", "foo"]);
        assert_eq!(n(&["-dF"], ""), ["-d", "-F"]);
        assert_eq!(n(&["-qnfoo"], ""), ["-q", "-n", "foo"]);
        assert_eq!(n(&["-t", "-1"], "t"), ["-t", "-1"]);
        assert_eq!(n(&["-e", "-1"], "e"), ["-e", "-1"]);
        assert_eq!(n(&["-1"], ""), ["-1"]);
        assert_eq!(n(&["-?"], ""), ["--help"]);
        assert_eq!(
            n(&["-n", "x", "--", "-nfoo", "--a=b"], ""),
            ["-n", "x", "--", "-nfoo", "--a=b"]
        );
        // the value of -n is never split, even when it looks like options
        assert_eq!(n(&["-n", "-dF"], ""), ["-n", "-dF"]);
        assert_eq!(n(&["--name", "--x=y"], ""), ["--name", "--x=y"]);
    }

    #[test]
    fn extract_common() {
        let v: Vec<String> = ["-n", "a", "-P", "/p", "-P", "/q", "-q", "-x", "--", "-n"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let Ok(Extracted::Rest(c, rest)) = extract("lxc-t", v) else {
            panic!("extract failed")
        };
        assert_eq!(c.name.as_deref(), Some("a"));
        assert_eq!(c.lxcpaths, ["/p", "/q"]);
        assert!(c.quiet);
        assert_eq!(rest, ["-x", "--", "-n"]);
        assert!(extract("lxc-t", vec!["-n".into()]).is_err());
    }
}
