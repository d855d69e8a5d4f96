//! What every applet shares: LXC's command line (parsed from the applet's
//! own argh definition, see [`getopt`]), LXC's common options, help and
//! usage text, logging set-up and error printing.
//!
//! An applet describes itself once:
//!
//! ```ignore
//! //applet: lxc-stop main stop a container
//! const SPEC: Spec = Spec::new("lxc-stop");
//! /// lxc-stop stops a container with the identifier NAME
//! #[derive(FromArgs, ArgsInfo)]
//! struct Args { /* LXC's options as argh fields */ }
//! pub fn main(args: Vec<OsString>) -> i32 {
//!     common::main(&SPEC, args, |c, a: Args| { /* one library call */ })
//! }
//! ```

pub mod getopt;
mod help;

use std::ffi::OsString;

use argh::{ArgsInfo, FromArgs};
use lxcbox::config::global;
use lxcbox::log::{self, LogSetup};
use serde::Serialize;

use getopt::{CommonOpt, Found, Target};

/// Whether the applet works on one named container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameArg {
    /// `-n NAME`, or else the first operand (`lxc-info foo`); LXC's
    /// "No container name specified" when neither is given.
    Required,
    /// `-n NAME` only; operands all belong to the applet (lxc-ls's regex,
    /// lxc-monitor, lxc-top, ...).
    Optional,
}

/// The few facts about an applet's command line that its argh definition
/// cannot carry.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// The applet's name, e.g. `lxc-stop`: prefix of every message.
    pub applet: &'static str,
    pub name: NameArg,
    /// Accept `-P` more than once (LXC: lxc-monitor, lxc-top; lxcbox also
    /// lxc-ls). Otherwise a second `-P` is LXC's usage error.
    pub many_lxcpaths: bool,
    /// Warnings reach stderr without `-l` (LXC's C tools show errors only;
    /// lxcbox's own service tools, whose LXC counterparts are scripts that
    /// say what they do, show warnings too).
    pub warnings: bool,
}

impl Spec {
    /// An applet on one named container, with one lxcpath.
    pub const fn new(applet: &'static str) -> Spec {
        Spec {
            applet,
            name: NameArg::Required,
            many_lxcpaths: false,
            warnings: false,
        }
    }

    /// Show warnings on stderr by default (see [`Spec::warnings`]).
    pub const fn warnings_on_stderr(mut self) -> Spec {
        self.warnings = true;
        self
    }

    /// `-n` is optional and operands are never taken as the name.
    pub const fn name_optional(mut self) -> Spec {
        self.name = NameArg::Optional;
        self
    }

    /// `-P` may be given several times.
    pub const fn many_lxcpaths(mut self) -> Spec {
        self.many_lxcpaths = true;
        self
    }
}

/// LXC's common options, as given on the command line.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Common {
    /// The applet's full name, e.g. `lxc-start`.
    pub applet: &'static str,
    pub name: Option<String>,
    pub lxcpaths: Vec<String>,
    pub logfile: Option<String>,
    pub logpriority: Option<String>,
    pub quiet: bool,
    pub rcfile: Option<String>,
    /// [`Spec::warnings`].
    pub warnings: bool,
}

#[allow(dead_code)] // each method is used by some applets
impl Common {
    /// The first `-P`, else `lxc.lxcpath` of the global configuration.
    pub fn lxcpath(&self) -> String {
        match self.lxcpaths.first() {
            Some(p) => p.clone(),
            // run() has read the global configuration before the body, and
            // failed the applet if it could not: this is never the fallback.
            None => global::current()
                .map(|g| g.lxcpath())
                .unwrap_or_else(|_| global::DEFAULT_LXCPATH.to_string()),
        }
    }

    /// Every `-P` given, else the default lxcpath.
    pub fn all_lxcpaths(&self) -> Vec<String> {
        if self.lxcpaths.is_empty() {
            vec![self.lxcpath()]
        } else {
            self.lxcpaths.clone()
        }
    }

    /// The container name, or LXC's error when it is missing.
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
            warnings: self.warnings,
        }
    }
}

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

/// With this variable set, an applet prints how it understood its command
/// line (as JSON) and exits 0 without doing anything: a debugging aid, and
/// what the option test drives every LXC option through.
pub const PARSE_ONLY_ENV: &str = "LXCBOX_PARSE_ONLY";

/// Parse an applet's command line as LXC's tools do. `Err(code)` means
/// "exit now with code": help, usage or version printed, or a usage error
/// reported in LXC's words.
pub fn parse<T: FromArgs + ArgsInfo>(spec: &Spec, args: Vec<OsString>) -> Result<(Common, T), i32> {
    let applet = spec.applet;
    let args = utf8_args(applet, args).map_err(|msg| {
        eprintln!("{msg}");
        1
    })?;
    let info = T::get_args_info();
    let table = getopt::table(&info);
    let is_action = |f: &Found| {
        matches!(
            f.opt.target,
            Target::Common(
                CommonOpt::Help | CommonOpt::HelpQuestion | CommonOpt::Usage | CommonOpt::Version
            )
        )
    };
    let parsed = getopt::parse(&table, &args, is_action).map_err(|mistake| {
        eprintln!("{applet}: {mistake}");
        eprint!("{}", help::help(spec, &info, &table));
        1
    })?;

    let mut c = Common {
        applet,
        warnings: spec.warnings,
        ..Default::default()
    };
    for f in &parsed.options {
        let Target::Common(which) = f.opt.target else {
            continue;
        };
        let value = f.value.clone().unwrap_or_default();
        match which {
            CommonOpt::Name => c.name = Some(value),
            CommonOpt::Quiet => c.quiet = true,
            CommonOpt::Logfile => c.logfile = Some(value),
            CommonOpt::Logpriority => c.logpriority = Some(value),
            CommonOpt::Rcfile => c.rcfile = Some(value),
            CommonOpt::Lxcpath => {
                if !spec.many_lxcpaths && !c.lxcpaths.is_empty() {
                    eprintln!("This command only accepts 1 -P,--lxcpath arguments");
                    return Err(1);
                }
                c.lxcpaths.push(without_trailing_slashes(value));
            }
            CommonOpt::Help | CommonOpt::HelpQuestion => {
                eprint!("{}", help::help(spec, &info, &table));
                return Err(if which == CommonOpt::Help { 0 } else { 1 });
            }
            CommonOpt::Usage => {
                eprint!("{}", help::usage(applet, &table));
                return Err(0);
            }
            CommonOpt::Version => {
                println!("{}", lxcbox::LXC_COMPAT_VERSION);
                return Err(0);
            }
        }
    }

    let mut operands = parsed.operands;
    if spec.name == NameArg::Required && c.name.is_none() {
        if operands.is_empty() {
            if !c.quiet {
                eprintln!("{applet}: No container name specified");
            }
            return Err(1);
        }
        c.name = Some(operands.remove(0));
    }

    let argv = getopt::argh_argv(&parsed.options, &operands);
    let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
    match T::from_args(&[applet], &refs) {
        Ok(t) => {
            if std::env::var_os(PARSE_ONLY_ENV).is_some() {
                let options = &argv[..argv.len() - operands.len() - 1];
                let out =
                    serde_json::json!({ "common": c, "options": options, "operands": operands });
                println!("{out}");
                return Err(0);
            }
            Ok((c, t))
        }
        Err(early) => {
            if !c.quiet {
                for line in early
                    .output
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                {
                    eprintln!("{applet}: {line}");
                }
                eprintln!("{applet}: could not parse command line");
            }
            Err(1)
        }
    }
}

/// LXC strips trailing slashes from `-P` (remove_trailing_slashes); `/`
/// stays `/`.
fn without_trailing_slashes(mut p: String) -> String {
    while p.len() > 1 && p.ends_with('/') {
        p.pop();
    }
    p
}

/// Parse the command line, then run `body` as [`run`] does.
pub fn main<T: FromArgs + ArgsInfo>(
    spec: &Spec,
    args: Vec<OsString>,
    body: impl FnOnce(&Common, T) -> anyhow::Result<i32>,
) -> i32 {
    match parse::<T>(spec, args) {
        Ok((c, a)) => run(&c, || body(&c, a)),
        Err(code) => code,
    }
}

/// Run an applet body with logging set up and the global configuration
/// read (a broken one fails the applet here, naming file and line); print
/// errors as `lxc-NAME: CONTAINER: message` and turn them into exit status 1.
pub fn run(common: &Common, body: impl FnOnce() -> anyhow::Result<i32>) -> i32 {
    if let Err(e) = log::init(common.applet, common.name.as_deref(), &common.log_setup()) {
        report(common, &e);
        return 1;
    }
    if let Err(e) = global::current() {
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

    /// lxc-stop's options, as a test applet.
    #[derive(FromArgs, ArgsInfo, Debug)]
    /// test applet
    struct Stop {
        /// reboot
        #[argh(switch, short = 'r')]
        reboot: bool,
        /// timeout
        #[argh(option, short = 't', default = "60")]
        timeout: i64,
        /// kill
        #[argh(switch, short = 'k')]
        kill: bool,
        /// the rest
        #[argh(positional, greedy)]
        rest: Vec<String>,
    }

    fn run_parse(spec: &Spec, args: &[&str]) -> Result<(Common, Stop), i32> {
        parse::<Stop>(spec, args.iter().map(OsString::from).collect())
    }

    #[test]
    fn positional_name_and_lxc_forms() {
        let spec = Spec::new("lxc-t");
        let (c, a) = run_parse(&spec, &["foo", "-kt", "-1", "--", "x", "-n"]).unwrap();
        assert_eq!(c.name.as_deref(), Some("foo"));
        assert!(a.kill && !a.reboot);
        assert_eq!(a.timeout, -1);
        assert_eq!(a.rest, ["x", "-n"]);

        let (c, a) = run_parse(
            &spec,
            &["--name=bar", "-P", "/p//", "a", "--timeout=5", "-t3"],
        )
        .unwrap();
        assert_eq!(c.name.as_deref(), Some("bar"));
        assert_eq!(c.lxcpaths, ["/p"]);
        assert_eq!(a.timeout, 3, "the last -t wins");
        assert_eq!(a.rest, ["a"]);
    }

    #[test]
    fn usage_errors_exit_1_and_help_0() {
        let spec = Spec::new("lxc-t");
        assert_eq!(run_parse(&spec, &[]).unwrap_err(), 1, "no name");
        assert_eq!(run_parse(&spec, &["-n", "x", "--bogus"]).unwrap_err(), 1);
        assert_eq!(run_parse(&spec, &["-n", "x", "-t", "abc"]).unwrap_err(), 1);
        assert_eq!(
            run_parse(&spec, &["-n", "x", "-P", "/a", "-P", "/b"]).unwrap_err(),
            1
        );
        assert_eq!(run_parse(&spec, &["--help"]).unwrap_err(), 0);
        assert_eq!(run_parse(&spec, &["-?"]).unwrap_err(), 1);
        assert_eq!(run_parse(&spec, &["--usage", "--bogus"]).unwrap_err(), 0);
        assert_eq!(run_parse(&spec, &["--bogus", "--usage"]).unwrap_err(), 1);
        let many = Spec::new("lxc-t").name_optional().many_lxcpaths();
        let (c, a) = run_parse(&many, &["-P", "/a", "-P", "/b", "foo"]).unwrap();
        assert_eq!(c.lxcpaths, ["/a", "/b"]);
        assert_eq!(c.name, None);
        assert_eq!(a.rest, ["foo"]);
    }

    #[test]
    fn usage_line_is_lxcs() {
        let info = Stop::get_args_info();
        let table = getopt::table(&info);
        let u = help::usage("lxc-t", &table);
        assert!(
            u.starts_with("Usage: lxc-t [-r|--reboot] [-t|--timeout=TIMEOUT] [-k|--kill] [-n|--name=NAME] \n\t[-h|--help] [-?|--help] [--usage] [--version] \n\t"),
            "{u}"
        );
        assert!(u.ends_with("[--rcfile=RCFILE] \n"), "{u}");
    }
}
