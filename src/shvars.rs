//! The shell-variable files of /etc/default (lxc-net, lxc): the subset of
//! sh that such files use, parsed, never executed.
//!
//! Accepted lines: blank lines and comments; `NAME=VALUE` (optionally after
//! `export `) where VALUE is a sequence of unquoted text, '...' and "..."
//! with `$NAME` / `${NAME}` expanded from earlier assignments, followed by
//! an optional comment; and the include idioms `. FILE`, `source FILE`,
//! `[ -f FILE ] && . FILE` and `[ ! -f FILE ] || . FILE` (Debian's
//! /etc/default/lxc uses the last). Anything else is an error naming
//! file:line, since running it is what the real sh would do.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use nom::branch::alt;
use nom::bytes::complete::{is_not, tag, take_while, take_while1};
use nom::character::complete::{char, space0, space1};
use nom::combinator::{opt, recognize};
use nom::sequence::{delimited, pair, preceded};
use nom::{IResult, Parser};

/// One assignment, with where it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assign {
    pub name: String,
    pub value: String,
    pub file: String,
    pub line: usize,
}

impl Assign {
    /// `file:line`, for messages about this value.
    pub fn at(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

enum Line {
    Empty,
    Set(String, String),
    Source { path: String, if_exists: bool },
}

fn name(i: &str) -> IResult<&str, &str> {
    recognize(pair(
        take_while1(|c: char| c.is_ascii_alphabetic() || c == '_'),
        take_while(|c: char| c.is_ascii_alphanumeric() || c == '_'),
    ))
    .parse(i)
}

/// `$NAME` or `${NAME}` → the value assigned so far (empty if none).
fn expansion<'a>(vars: &HashMap<String, String>, i: &'a str) -> IResult<&'a str, String> {
    let (i, n) = preceded(
        char('$'),
        alt((delimited(char('{'), name, char('}')), name)),
    )
    .parse(i)?;
    Ok((i, vars.get(n).cloned().unwrap_or_default()))
}

/// A shell word: unquoted text, '...' and "..." pieces, no blank between.
fn word<'a>(vars: &HashMap<String, String>, mut i: &'a str) -> IResult<&'a str, String> {
    let mut out = String::new();
    loop {
        if let Ok((r, s)) = delimited(
            char::<&str, nom::error::Error<&str>>('\''),
            opt(is_not("'")),
            char('\''),
        )
        .parse(i)
        {
            out.push_str(s.unwrap_or(""));
            i = r;
        } else if let Some(r) = i.strip_prefix('"') {
            let mut rest = r;
            loop {
                let Some(c) = rest.chars().next() else {
                    return Err(nom::Err::Error(nom::error::Error::new(
                        i,
                        nom::error::ErrorKind::Char,
                    )));
                };
                if c == '"' {
                    rest = &rest[1..];
                    break;
                }
                if c == '\\' && rest[1..].starts_with(['$', '`', '"', '\\']) {
                    out.push_str(&rest[1..2]);
                    rest = &rest[2..];
                } else if c == '$' {
                    let (r, v) = expansion(vars, rest)?;
                    out.push_str(&v);
                    rest = r;
                } else if c == '`' {
                    return Err(nom::Err::Failure(nom::error::Error::new(
                        rest,
                        nom::error::ErrorKind::Verify,
                    )));
                } else {
                    out.push(c);
                    rest = &rest[c.len_utf8()..];
                }
            }
            i = rest;
        } else if i.starts_with('$') {
            let (r, v) = expansion(vars, i)?;
            out.push_str(&v);
            i = r;
        } else if let Some(r) = i.strip_prefix('\\') {
            let Some(c) = r.chars().next() else { break };
            out.push(c);
            i = &r[c.len_utf8()..];
        } else {
            let (r, s) =
                take_while(|c: char| !c.is_whitespace() && !"'\"$\\;&|<>()`#".contains(c))(i)?;
            if s.is_empty() {
                break;
            }
            out.push_str(s);
            i = r;
        }
    }
    Ok((i, out))
}

fn end_of_line(i: &str) -> IResult<&str, ()> {
    let (i, _) = space0(i)?;
    let (i, _) = opt(preceded(char(';'), space0)).parse(i)?;
    let (i, _) = opt(preceded(char('#'), take_while(|_| true))).parse(i)?;
    if i.is_empty() {
        Ok((i, ()))
    } else {
        Err(nom::Err::Error(nom::error::Error::new(
            i,
            nom::error::ErrorKind::Eof,
        )))
    }
}

fn source<'a>(vars: &HashMap<String, String>, i: &'a str) -> IResult<&'a str, String> {
    let (i, _) = alt((tag("."), tag("source"))).parse(i)?;
    let (i, _) = space1(i)?;
    word(vars, i)
}

fn line<'a>(vars: &HashMap<String, String>, i: &'a str) -> IResult<&'a str, Line> {
    let (i, _) = space0(i)?;
    if let Ok((r, ())) = end_of_line(i) {
        return Ok((r, Line::Empty));
    }
    // [ -f FILE ] && . FILE   /   [ ! -f FILE ] || . FILE
    let mut test_f = (
        preceded(pair(char('['), space1), opt(pair(char('!'), space1))),
        pair(tag("-f"), space1),
    );
    let tested: IResult<&str, _> = test_f.parse(i);
    if let Ok((r, (neg, _))) = tested {
        let (r, tested) = word(vars, r)?;
        let (r, _) = (space1, char(']'), space1).parse(r)?;
        let (r, _) = if neg.is_some() {
            tag("||")(r)?
        } else {
            tag("&&")(r)?
        };
        let (r, _) = space1(r)?;
        let (r, path) = source(vars, r)?;
        let (r, ()) = end_of_line(r)?;
        if path != tested {
            return Err(nom::Err::Failure(nom::error::Error::new(
                i,
                nom::error::ErrorKind::Verify,
            )));
        }
        return Ok((
            r,
            Line::Source {
                path,
                if_exists: true,
            },
        ));
    }
    if let Ok((r, path)) = source(vars, i) {
        let (r, ()) = end_of_line(r)?;
        return Ok((
            r,
            Line::Source {
                path,
                if_exists: false,
            },
        ));
    }
    let (i, _) = opt(pair(tag("export"), space1)).parse(i)?;
    let (i, n) = name(i)?;
    let (i, _) = char('=')(i)?;
    let (i, v) = word(vars, i)?;
    let (i, ()) = end_of_line(i)?;
    Ok((i, Line::Set(n.to_string(), v)))
}

/// Parses `text` (from `file`), following includes; assignments in order.
pub fn parse(text: &str, file: &str) -> Result<Vec<Assign>> {
    let mut out = Vec::new();
    parse_into(text, file, &mut out, 0)?;
    Ok(out)
}

/// Reads and parses `path`.
pub fn load(path: &Path) -> Result<Vec<Assign>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse(&text, &path.display().to_string())
}

fn parse_into(text: &str, file: &str, out: &mut Vec<Assign>, depth: usize) -> Result<()> {
    if depth > 8 {
        bail!("{file}: includes nested too deeply");
    }
    for (n, raw) in text.lines().enumerate() {
        let vars: HashMap<String, String> = out
            .iter()
            .map(|a| (a.name.clone(), a.value.clone()))
            .collect();
        let parsed = line(&vars, raw).map(|(_, l)| l).map_err(|_| {
            anyhow::anyhow!(
                "{file}:{}: not a VAR=value assignment: {}",
                n + 1,
                raw.trim()
            )
        })?;
        match parsed {
            Line::Empty => {}
            Line::Set(name, value) => out.push(Assign {
                name,
                value,
                file: file.to_string(),
                line: n + 1,
            }),
            Line::Source { path, if_exists } => {
                let p = Path::new(&path);
                if if_exists && !p.is_file() {
                    continue;
                }
                let t = std::fs::read_to_string(p)
                    .with_context(|| format!("{file}:{}: including {path}", n + 1))?;
                parse_into(&t, &path, out, depth + 1)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vals(text: &str) -> Vec<(String, String)> {
        parse(text, "f")
            .unwrap()
            .into_iter()
            .map(|a| (a.name, a.value))
            .collect()
    }

    #[test]
    fn assignments_quotes_comments_expansion() {
        let v = vals(
            "# c\n\nUSE_LXC_BRIDGE=\"true\"  # overridden\nA='x y' \nexport B=pre\"$A\"post\n\
             C=${B}/c;\nD=\nE=a\\ b\nF=\"q\\\"\\$x\"\n",
        );
        assert_eq!(
            v,
            [
                ("USE_LXC_BRIDGE".into(), "true".into()),
                ("A".into(), "x y".into()),
                ("B".into(), "prex ypost".into()),
                ("C".into(), "prex ypost/c".into()),
                ("D".into(), String::new()),
                ("E".into(), "a b".into()),
                ("F".into(), "q\"$x".into()),
            ]
        );
    }

    #[test]
    fn bad_lines_name_file_and_line() {
        for bad in [
            "A=1\nrm -rf /\n",
            "A=1\nB=\"unterminated\n",
            "A=1\nB=`date`\n",
            "A=1\nB=x y\n",
            "A=1\nB=$(date)\n",
        ] {
            let e = parse(bad, "/etc/default/lxc-net").unwrap_err().to_string();
            assert!(
                e.starts_with("/etc/default/lxc-net:2: not a VAR=value assignment"),
                "{bad:?}: {e}"
            );
        }
    }

    #[test]
    fn includes_when_present() {
        let d = std::env::temp_dir().join(format!("lxcbox-shvars-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let inc = d.join("inc");
        std::fs::write(&inc, "X=from-inc\n").unwrap();
        let text = format!(
            "X=1\n[ ! -f {0} ] || . {0}\n[ -f /nonexistent-x ] && . /nonexistent-x\nY=$X\n",
            inc.display()
        );
        let v = vals(&text);
        assert_eq!(
            v.last().unwrap(),
            &("Y".to_string(), "from-inc".to_string())
        );
        let e = parse(". /nonexistent-x\n", "f").unwrap_err();
        assert!(format!("{e:#}").starts_with("f:1: including /nonexistent-x"));
        let _ = std::fs::remove_dir_all(&d);
    }
}
