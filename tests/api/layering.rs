//! The source's shape, as docs/ARCHITECTURE.md promises it: no two files of `src/` import each
//! other, directly or around a loop (a module's `mod.rs` declaring its children does not
//! count; a child using its parent does), and no file is over 500 lines except the JSON Patch
//! engine. This reads the source as text; it is the one test that is not black-box.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module path: `["store", "sqlite"]` for `src/store/sqlite/mod.rs`, `[]` for `lib.rs`.
type Module = Vec<String>;

fn source_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("src/ is readable")
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            source_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn module_of(src: &Path, file: &Path) -> Module {
    let relative = file.strip_prefix(src).expect("a file under src/");
    let mut parts: Module = relative
        .with_extension("")
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The code of a file without comments and without its `#[cfg(test)] mod tests` block (tests
/// may use anything).
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `crate::a::b`, `super::x` and `self::y` path in `code`, resolved to a module path
/// (possibly naming an item inside a module; the caller takes the longest known prefix).
fn paths(code: &str, module: &Module, is_dir_module: bool) -> Vec<Module> {
    let bytes = code.as_bytes();
    let mut found = Vec::new();
    for start in ["crate::", "super::", "self::"] {
        let mut from = 0;
        while let Some(at) = code[from..].find(start) {
            let at = from + at;
            from = at + start.len();
            let glued = at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_');
            if glued {
                continue;
            }
            let mut segments: Vec<String> = code[at..]
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                .next()
                .unwrap_or("")
                .split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            let head = segments.remove(0);
            // A `mod.rs`/`lib.rs` is its module; a plain file's `super` is its parent.
            let mut base: Module = if is_dir_module || head == "crate" {
                module.clone()
            } else {
                module[..module.len().saturating_sub(1)].to_vec()
            };
            match head.as_str() {
                "crate" => base.clear(),
                "self" if !is_dir_module => base = module.clone(),
                "super" if is_dir_module => {
                    base.pop();
                }
                _ => {}
            }
            while segments.first().is_some_and(|s| s == "super") {
                segments.remove(0);
                base.pop();
            }
            base.extend(segments);
            found.push(base);
        }
    }
    found
}

fn longest_known(path: &Module, known: &BTreeSet<Module>) -> Option<Module> {
    (0..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|prefix| known.contains(prefix))
}

fn import_graph() -> BTreeMap<Module, BTreeSet<Module>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    source_files(&src, &mut files);
    // `main.rs` is the binary's crate root, not a module of the library.
    files.retain(|f| !f.ends_with("src/main.rs"));
    let modules: BTreeMap<Module, PathBuf> = files
        .iter()
        .map(|f| (module_of(&src, f), f.clone()))
        .collect();
    let known: BTreeSet<Module> = modules.keys().cloned().collect();
    let mut graph = BTreeMap::new();
    for (module, file) in &modules {
        let text = std::fs::read_to_string(file).expect("a readable source file");
        let is_dir_module = file
            .file_stem()
            .is_some_and(|s| s == "mod" || s == "lib" || s == "main");
        let edges: BTreeSet<Module> = paths(&code(&text), module, is_dir_module)
            .iter()
            .filter_map(|p| longest_known(p, &known))
            // Not itself, and not a parent declaring or re-exporting its own children.
            .filter(|target| target != module && !target.starts_with(module))
            .collect();
        graph.insert(module.clone(), edges);
    }
    graph
}

/// A loop through `from`, if there is one: the modules in order.
fn cycle_through(graph: &BTreeMap<Module, BTreeSet<Module>>, from: &Module) -> Option<Vec<Module>> {
    let mut stack = vec![(from.clone(), vec![from.clone()])];
    let mut seen = BTreeSet::new();
    while let Some((at, trail)) = stack.pop() {
        for next in graph.get(&at).into_iter().flatten() {
            if next == from {
                return Some(trail);
            }
            if seen.insert(next.clone()) {
                let mut longer = trail.clone();
                longer.push(next.clone());
                stack.push((next.clone(), longer));
            }
        }
    }
    None
}

fn shown(module: &Module) -> String {
    if module.is_empty() {
        "lib".into()
    } else {
        module.join("/")
    }
}

#[test]
fn no_two_source_files_import_each_other() {
    let graph = import_graph();
    assert!(
        graph.len() > 50 && graph.values().any(|edges| !edges.is_empty()),
        "the graph was read: {} modules",
        graph.len()
    );
    let cycles: Vec<String> = graph
        .keys()
        .filter_map(|m| cycle_through(&graph, m))
        .map(|trail| {
            let mut names: Vec<String> = trail.iter().map(shown).collect();
            names.push(shown(&trail[0]));
            names.join(" -> ")
        })
        .collect();
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn the_resolver_sees_a_loop() {
    // The check above must be able to fail: two files that name each other are a loop.
    let a: Module = vec!["a".into()];
    let b: Module = vec!["b".into()];
    let here = paths("use crate::b::Thing;", &a, false);
    let there = paths("fn f() { super::a::g() }", &b, false);
    assert_eq!(here, vec![vec!["b".to_owned(), "Thing".to_owned()]]);
    assert_eq!(there, vec![vec!["a".to_owned(), "g".to_owned()]]);
    let graph = BTreeMap::from([
        (a.clone(), BTreeSet::from([b.clone()])),
        (b.clone(), BTreeSet::from([a.clone()])),
    ]);
    assert_eq!(cycle_through(&graph, &a), Some(vec![a, b]));
}

#[test]
fn no_source_file_is_over_500_lines_but_the_patch_engine() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    source_files(&src, &mut files);
    let long: Vec<String> = files
        .iter()
        .filter(|f| !f.ends_with("rest/patch.rs"))
        .filter_map(|f| {
            let lines = std::fs::read_to_string(f).ok()?.lines().count();
            (lines > 500).then(|| format!("{} ({lines} lines)", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "files over 500 lines: {long:?}");
}
