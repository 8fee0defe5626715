//! Tidy: house rules from STYLE.md that a test can check.

use std::path::Path;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

#[test]
fn every_rust_file_says_what_it_is_for() {
    let mut missing = Vec::new();
    for dir in ["crates", "xtask"] {
        for file in xtask::rust_files(&root().join(dir)).unwrap_or_default() {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            if !text.starts_with("//!") {
                missing.push(
                    file.strip_prefix(root())
                        .unwrap_or(&file)
                        .display()
                        .to_string(),
                );
            }
        }
    }
    assert!(
        missing.is_empty(),
        "files without a leading `//!` line: {missing:#?}"
    );
}

#[test]
fn every_sqlite_migration_is_embedded() {
    let dir = root().join("crates/embargo-store/migrations/sqlite");
    let lib =
        std::fs::read_to_string(root().join("crates/embargo-store/src/lib.rs")).unwrap_or_default();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    assert!(!names.is_empty());
    for name in names {
        assert!(
            lib.contains(&format!("migrations/sqlite/{name}")),
            "{name} is not in MIGRATIONS"
        );
    }
}
