//! Writing a [`Config`] back as modern keys, in the key table's order.

use super::keys::{Out, KEYS};
use super::lexer::strip_quotes;
use super::types::Config;

/// The config as `key = value` lines, modern keys only, stable order.
/// `Config::parse_str(&write(c), ..) == c`.
pub fn write(cfg: &Config) -> String {
    let mut out = Out::default();
    for k in KEYS {
        (k.emit)(cfg, k.name, &mut out);
    }
    let mut s = String::with_capacity(out.0.len() * 32);
    for (k, v) in out.0 {
        s.push_str(&k);
        s.push_str(" = ");
        // A value that itself looks quoted, or has outer blanks (possible
        // after quote stripping), would change on reading; one more pair
        // of quotes keeps it intact.
        if strip_quotes(&v).len() != v.len() || v.trim().len() != v.len() {
            s.push('"');
            s.push_str(&v);
            s.push('"');
        } else {
            s.push_str(&v);
        }
        s.push('\n');
    }
    s
}
