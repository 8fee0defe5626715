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
    migrations_are_embedded("sqlite");
}

#[test]
fn every_postgres_migration_is_embedded() {
    migrations_are_embedded("postgres");
}

/// Every file of `migrations/BACKEND/` is in that backend's `MIGRATIONS`
/// (`src/BACKEND.rs`).
fn migrations_are_embedded(backend: &str) {
    let dir = root().join(format!("crates/embargo-store/migrations/{backend}"));
    let lib =
        std::fs::read_to_string(root().join(format!("crates/embargo-store/src/{backend}.rs")))
            .unwrap_or_default();
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
            lib.contains(&format!("migrations/{backend}/{name}")),
            "{name} is not in MIGRATIONS"
        );
    }
}

/// The crates below the server, by directory.
const BELOW_THE_SERVER: &[&str] = &[
    "embargo-core",
    "embargo-formats",
    "embargo-pgp",
    "embargo-store",
    "embargo-api",
    "embargo-mail",
    "embargo-service",
];

/// The `[dependencies]` table of a crate's manifest (not the dev ones).
fn dependencies(krate: &str) -> String {
    let manifest = std::fs::read_to_string(root().join("crates").join(krate).join("Cargo.toml"))
        .unwrap_or_default();
    let from = manifest
        .find("[dependencies]")
        .map_or(manifest.len(), |i| i);
    let rest = manifest.get(from..).unwrap_or_default();
    let end = rest
        .get(1..)
        .and_then(|r| r.find("\n["))
        .map_or(rest.len(), |i| i + 1);
    rest.get(..end).unwrap_or_default().to_owned()
}

/// The files of `krate`'s `src` whose code (comments and tests left out)
/// contains one of `words`, with the word.
fn naming(krate: &str, words: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for file in
        xtask::rust_files(&root().join("crates").join(krate).join("src")).unwrap_or_default()
    {
        let code = xtask::code_of(&std::fs::read_to_string(&file).unwrap_or_default());
        for word in words {
            if code.contains(word) {
                found.push(format!(
                    "{} names {word}",
                    file.strip_prefix(root()).unwrap_or(&file).display()
                ));
            }
        }
    }
    found
}

#[test]
fn http_stays_in_the_server() {
    let mut found = Vec::new();
    for krate in BELOW_THE_SERVER {
        found.extend(naming(
            krate,
            &["axum", "tower_http", "hyper::", "http::StatusCode"],
        ));
        let deps = dependencies(krate);
        for dep in ["axum", "tower-http", "hyper"] {
            if deps
                .lines()
                .any(|l| l.starts_with(&format!("{dep} ")) || l.starts_with(&format!("{dep}.")))
            {
                found.push(format!("crates/{krate}/Cargo.toml depends on {dep}"));
            }
        }
    }
    assert!(found.is_empty(), "HTTP below the server: {found:#?}");
}

/// Every crate of the workspace, by directory name.
fn crates() -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(root().join("crates"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

/// Where a crate other than `home` names one of `words` in its code, or
/// depends on one of `deps`.
fn outside(home: &str, words: &[&str], deps: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for krate in crates().into_iter().filter(|k| k != home) {
        found.extend(naming(&krate, words));
        let manifest = dependencies(&krate);
        for dep in deps {
            if manifest.lines().any(|l| l.starts_with(dep)) {
                found.push(format!("crates/{krate}/Cargo.toml depends on {dep}"));
            }
        }
    }
    found
}

#[test]
fn sql_stays_in_the_store() {
    // Tests may open a database file to tamper with it (the audit test);
    // code and its dependencies may not.
    let found = outside("embargo-store", &["sqlx"], &["sqlx"]);
    assert!(found.is_empty(), "SQL outside the store: {found:#?}");
}

/// The crate that holds the mail libraries (MIME in and out, SMTP, IMAP).
const MAIL_CRATE: &str = "embargo-mail";

#[test]
fn mail_libraries_stay_in_one_crate() {
    let found = outside(
        MAIL_CRATE,
        &["lettre", "mail_parser", "async_imap"],
        &["lettre", "mail-parser", "async-imap"],
    );
    assert!(
        found.is_empty(),
        "mail libraries outside {MAIL_CRATE}: {found:#?}"
    );
}

#[test]
fn no_crate_imports_its_own_modules_in_a_circle() {
    let mut found = Vec::new();
    for krate in crates() {
        let graph = xtask::module_graph(&root().join("crates").join(&krate).join("src"))
            .unwrap_or_default();
        assert!(
            krate != "embargo-server" || graph.get("router").is_some_and(|m| m.contains("api")),
            "the graph reads the server's modules and their imports"
        );
        for circle in xtask::circles(&graph) {
            found.push(format!("{krate}: {}", circle.join(" → ")));
        }
    }
    assert!(
        found.is_empty(),
        "modules importing each other in a circle: {found:#?}"
    );
}

#[test]
fn the_circle_finder_finds_a_circle() {
    use std::collections::{BTreeMap, BTreeSet};
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a", "d"]),
        ("d", vec![]),
    ]
    .into_iter()
    .map(|(m, to)| (m.to_owned(), to.into_iter().map(str::to_owned).collect()))
    .collect();
    assert_eq!(xtask::circles(&graph), vec![vec!["a", "b", "c"]]);
}
