//! Repository rules, checked by ordinary tests (`cargo test -p xtask`).

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, skipping build output.
pub fn rust_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                if path
                    .file_name()
                    .is_some_and(|n| n != "target" && n != "snapshots")
                {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The code of a Rust source file as the rules read it: line comments
/// (and so doc comments) removed, and everything from the first
/// `#[cfg(test)]` on dropped (test modules close the file in this
/// repository), so that a word in prose or a test's helper does not count.
pub fn code_of(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    text.lines()
        .map(|line| match line.find("//") {
            // A `//` inside a string ("http://…") is kept: only a comment
            // that starts the trimmed line, or follows code after a space,
            // is dropped.
            Some(at) if line.trim_start().starts_with("//") || line[..at].ends_with(' ') => {
                line.get(..at).unwrap_or_default()
            }
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The crate-level modules of a crate's `src` (each `src/X.rs` or
/// `src/X/`) and, for each, the others it names (`crate::X`, or `X` in a
/// `use crate::{…}` group).
pub fn module_graph(
    src: &Path,
) -> std::io::Result<std::collections::BTreeMap<String, std::collections::BTreeSet<String>>> {
    use std::collections::{BTreeMap, BTreeSet};
    let mut files: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for file in rust_files(src)? {
        let Ok(rel) = file.strip_prefix(src) else {
            continue;
        };
        let Some(first) = rel.components().next() else {
            continue;
        };
        let top = first
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        if top == "lib" || top == "main" {
            continue;
        }
        files.entry(top).or_default().push(file);
    }
    let names: BTreeSet<String> = files.keys().cloned().collect();
    let mut graph = BTreeMap::new();
    for (module, paths) in &files {
        let mut uses = BTreeSet::new();
        for path in paths {
            let code = code_of(&std::fs::read_to_string(path)?);
            for name in &names {
                if name != module && names_module(&code, name) {
                    uses.insert(name.clone());
                }
            }
        }
        graph.insert(module.clone(), uses);
    }
    Ok(graph)
}

/// Whether `code` names the crate-level module `name`.
fn names_module(code: &str, name: &str) -> bool {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let word_at = |text: &str, at: usize| {
        text.get(at..).is_some_and(|rest| rest.starts_with(name))
            && !text
                .get(at + name.len()..)
                .and_then(|r| r.chars().next())
                .is_some_and(is_word)
    };
    let path = format!("crate::{name}");
    if code
        .match_indices(&path)
        .any(|(at, _)| word_at(code, at + "crate::".len()))
    {
        return true;
    }
    // `use crate::{a, b::c, …};`: the first segment of each item.
    code.match_indices("use crate::{").any(|(at, m)| {
        let group = code.get(at + m.len()..).unwrap_or_default();
        let group = group.split(';').next().unwrap_or_default();
        let mut depth = 0;
        let mut start = true;
        let mut found = false;
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    start = true;
                    continue;
                }
                _ => {}
            }
            if start && !c.is_whitespace() {
                start = false;
                if depth == 0 && word_at(group, i) {
                    found = true;
                }
            }
        }
        found
    })
}

/// The circles of `graph`: each set of two or more modules that reach
/// one another (its strongly connected components), sorted.
pub fn circles(
    graph: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
) -> Vec<Vec<String>> {
    // Reachability by search from each module: the graphs are a few dozen
    // modules, so clarity wins over Tarjan's bookkeeping.
    let reach = |from: &str| {
        let mut seen = std::collections::BTreeSet::new();
        let mut stack = vec![from.to_owned()];
        while let Some(m) = stack.pop() {
            for next in graph.get(&m).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    stack.push(next.clone());
                }
            }
        }
        seen
    };
    let reached: std::collections::BTreeMap<&String, _> =
        graph.keys().map(|m| (m, reach(m))).collect();
    let mut out: Vec<Vec<String>> = Vec::new();
    for m in graph.keys() {
        if out.iter().any(|c| c.contains(m)) {
            continue;
        }
        let circle: Vec<String> = graph
            .keys()
            .filter(|o| {
                *o == m
                    || (reached.get(m).is_some_and(|r| r.contains(*o))
                        && reached.get(o).is_some_and(|r| r.contains(m)))
            })
            .cloned()
            .collect();
        if circle.len() > 1 {
            out.push(circle);
        }
    }
    out
}
