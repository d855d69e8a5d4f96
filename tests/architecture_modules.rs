//! docs/architecture.md names every module under src/ by its path
//! (`start/plan`, `console/hub/io`, `sealed`, ...): a new module without a
//! word about it fails here.

use std::path::Path;

fn modules(dir: &Path, prefix: &str, out: &mut Vec<String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let path = e.path();
        if path.is_dir() {
            let p = format!("{prefix}{name}");
            if path.join("mod.rs").exists() {
                out.push(p.clone());
            }
            modules(&path, &format!("{p}/"), out);
        } else if let Some(stem) = name.strip_suffix(".rs") {
            if stem != "mod" {
                out.push(format!("{prefix}{stem}"));
            }
        }
    }
}

#[test]
fn architecture_names_every_module() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/architecture.md")).unwrap();
    let mut all = Vec::new();
    modules(&root.join("src"), "", &mut all);
    assert!(all.len() > 50, "found only {all:?}");
    let missing: Vec<&String> = all
        .iter()
        .filter(|m| !doc.contains(&format!("`{m}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/architecture.md does not name these modules: {missing:?}"
    );
}
