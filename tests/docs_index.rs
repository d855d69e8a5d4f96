//! Every registered applet has a page in docs/, and docs/README.md links
//! every page. Asks the binary for its applet table (`lxcbox --list`), so a
//! new `//applet:` line without a page fails here.

use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The names of the APPLETS table.
fn applet_names() -> Vec<String> {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_lxcbox"))
        .arg("--list")
        .output()
        .unwrap();
    let names: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert!(
        names.iter().any(|n| n == "lxc-start"),
        "lxcbox --list did not list lxc-start"
    );
    names
}

/// init.lxc and init.lxc.static share lxc-init's page.
fn page_of(applet: &str) -> String {
    match applet {
        "init.lxc" | "init.lxc.static" => "lxc-init.md".into(),
        a => format!("{a}.md"),
    }
}

#[test]
fn every_applet_has_a_page() {
    let missing: Vec<String> = applet_names()
        .iter()
        .map(|a| page_of(a))
        .filter(|p| !root().join("docs").join(p).is_file())
        .collect();
    assert!(missing.is_empty(), "docs/ lacks pages: {missing:?}");
}

#[test]
fn index_links_every_page_and_nothing_else() {
    let docs = root().join("docs");
    let index = std::fs::read_to_string(docs.join("README.md")).unwrap();
    let mut unlisted = Vec::new();
    for e in std::fs::read_dir(&docs).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.ends_with(".md") && name != "README.md" && !index.contains(&format!("({name})")) {
            unlisted.push(name);
        }
    }
    assert!(
        unlisted.is_empty(),
        "docs/README.md does not link: {unlisted:?}"
    );
    // Links in the index point at files that exist.
    let dangling: Vec<&str> = index
        .split("](")
        .skip(1)
        .filter_map(|r| r.split(')').next())
        .filter(|l| l.ends_with(".md") && !docs.join(l).is_file())
        .collect();
    assert!(
        dangling.is_empty(),
        "docs/README.md links missing pages: {dangling:?}"
    );
}
