//! docs/config.md documents every key of the key table and every legacy alias.

use lxcbox::config::{legacy_keys, modern_keys};

#[test]
fn reference_mentions_every_key() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/config.md")).unwrap();
    let mut missing: Vec<String> = modern_keys()
        .map(|k| k.trim_end_matches(".<...>").to_string())
        .filter(|k| !doc.contains(&format!("`{k}")))
        .collect();
    missing.extend(
        legacy_keys()
            .map(|(l, _)| l.trim_end_matches(".<resource>").to_string())
            .filter(|l| !doc.contains(&format!("`{l}"))),
    );
    assert!(
        missing.is_empty(),
        "docs/config.md does not mention: {missing:?}"
    );
}
