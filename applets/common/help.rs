//! `--help` and `--usage` in LXC's layout, generated from the option table
//! and the applet's argh definition (both go to stderr, as LXC's do).

use std::fmt::Write as _;

use argh::{CommandInfoWithArgs, FlagInfoKind, Optionality};

use super::getopt::{HasArg, Opt};
use super::{NameArg, Spec};

/// LXC's `--usage`: every row of the option table, four to a line.
pub fn usage(applet: &str, table: &[Opt]) -> String {
    let mut out = format!("Usage: {applet} ");
    for (i, o) in table.iter().enumerate() {
        out.push('[');
        if let Some(c) = o.short {
            let _ = write!(out, "-{c}|");
        }
        let long = o.long.unwrap_or_default();
        let _ = write!(out, "--{long}");
        let upper = long.to_ascii_uppercase();
        match o.has_arg {
            HasArg::No => {}
            HasArg::Required => {
                let _ = write!(out, "={upper}");
            }
            HasArg::Optional => {
                let _ = write!(out, "[={upper}]");
            }
        }
        out.push_str("] ");
        if (i + 1) % 4 == 0 {
            out.push_str("\n\t");
        }
    }
    out.push('\n');
    out
}

/// LXC's common-options block, as every LXC tool prints it.
const COMMON_HELP: &str = "\
Common options :
  -o, --logfile=FILE               Output log to FILE instead of stderr
  -l, --logpriority=LEVEL          Set log priority to LEVEL
  -q, --quiet                      Don't produce any output
  -P, --lxcpath=PATH               Use specified container path
  -?, --help                       Give this help list
      --usage                      Give a short usage message
      --version                    Print the version number

Mandatory or optional arguments to long options are also mandatory or optional
for any corresponding short options.
";

/// The full help: synopsis, description, the applet's options, the common
/// options.
pub fn help(spec: &Spec, info: &CommandInfoWithArgs, table: &[Opt]) -> String {
    let applet = spec.applet;
    let mut out = format!("Usage: {applet} {}\n\n", synopsis(spec, info));
    let _ = writeln!(out, "{}\n", info.description.trim());

    let mut rows: Vec<(String, String)> = Vec::new();
    if spec.name != NameArg::Optional || shadows(table, 'n', "name") {
        rows.push(("-n, --name=NAME".into(), "NAME of the container".into()));
    }
    for f in info
        .flags
        .iter()
        .filter(|f| f.long != "--help" && !f.hidden)
    {
        let mut left = match f.short {
            Some(c) => format!("-{c}, {}", f.long),
            None => format!("    {}", f.long),
        };
        if let FlagInfoKind::Option { arg_name } = f.kind {
            match arg_name.strip_prefix('[') {
                Some(inner) => {
                    let _ = write!(left, "[={}]", inner.trim_end_matches(']'));
                }
                None => {
                    let _ = write!(left, "={}", arg_name.to_ascii_uppercase());
                }
            }
        }
        rows.push((left, f.description.to_string()));
    }
    if !info.flags.iter().any(|f| f.long == "--rcfile") {
        rows.push((
            "    --rcfile=FILE".into(),
            "Load configuration file FILE".into(),
        ));
    }
    for p in info
        .positionals
        .iter()
        .filter(|p| !p.hidden && !p.description.is_empty())
    {
        rows.push((format!("    {}", p.name), p.description.to_string()));
    }
    out.push_str("Options :\n");
    out.push_str(&columns(&rows));
    out.push('\n');
    out.push_str(COMMON_HELP);
    let _ = writeln!(
        out,
        "\nSee the {applet} man page for further information.\n"
    );
    out
}

/// Whether the applet itself defines `-c` or `--long`.
fn shadows(table: &[Opt], c: char, long: &str) -> bool {
    table
        .iter()
        .take_while(|o| !matches!(o.target, super::getopt::Target::Common(_)))
        .any(|o| o.short == Some(c) || o.long == Some(long))
}

/// `--name=NAME [OPTION...] positionals`.
fn synopsis(spec: &Spec, info: &CommandInfoWithArgs) -> String {
    let mut parts: Vec<String> = Vec::new();
    match spec.name {
        NameArg::Required => parts.push("--name=NAME".into()),
        NameArg::Optional => parts.push("[--name=NAME]".into()),
    }
    if info.flags.iter().any(|f| f.long != "--help") {
        parts.push("[OPTION...]".into());
    }
    for p in info.positionals.iter().filter(|p| !p.hidden) {
        parts.push(match p.optionality {
            Optionality::Required => p.name.to_string(),
            Optionality::Optional => format!("[{}]", p.name),
            Optionality::Repeating | Optionality::Greedy => format!("[-- {}...]", p.name),
        });
    }
    parts.join(" ")
}

/// Two columns, the second wrapped at 80 characters.
fn columns(rows: &[(String, String)]) -> String {
    let width = rows
        .iter()
        .map(|(l, _)| l.len())
        .filter(|&l| l <= 26)
        .max()
        .unwrap_or(0)
        + 2;
    let mut out = String::new();
    for (left, text) in rows {
        let mut line = format!("  {left}");
        if line.len() > width + 2 {
            out.push_str(&line);
            out.push('\n');
            line = String::new();
        }
        let indent = width + 2;
        let mut col = line.len();
        line.push_str(&" ".repeat(indent - col));
        col = indent;
        for word in text.split_whitespace() {
            if col > indent && col + 1 + word.len() > 80 {
                out.push_str(line.trim_end());
                out.push('\n');
                line = " ".repeat(indent);
                col = indent;
            }
            if col > indent {
                line.push(' ');
                col += 1;
            }
            line.push_str(word);
            col += word.len();
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
