//! The host's top-level modules form layers, not a tangle: no two of them
//! use each other, directly or around a loop. Read from the sources, as
//! `use crate::` paths outside comments and unit-test modules.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Edges = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

#[test]
fn the_top_level_modules_have_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let edges = module_edges(&src);
    assert!(edges.contains_key("plan") && edges.contains_key("sink"), "no module read under {}", src.display());
    let cycles: Vec<Vec<String>> = strongly_connected(&edges).into_iter().filter(|c| c.len() > 1).collect();
    let shown: Vec<String> = cycles
        .iter()
        .map(|cycle| {
            let uses: Vec<String> = cycle
                .iter()
                .flat_map(|a| cycle.iter().map(move |b| (a, b)))
                .filter_map(|(a, b)| edges.get(a)?.get(b).map(|files| format!("{a} -> {b} in {files:?}")))
                .collect();
            format!("{cycle:?}: {}", uses.join("; "))
        })
        .collect();
    assert!(shown.is_empty(), "module cycles:\n{}", shown.join("\n"));
}

/// The leaves every layer may use: the model, retry and text helpers, and
/// the contract's generated types (which only some may use; see below).
/// They use nothing of the host's.
#[test]
fn the_leaf_modules_use_nothing_of_the_host() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let edges = module_edges(&src);
    for leaf in ["contract", "model", "retry", "text"] {
        let uses = edges.get(leaf).unwrap_or_else(|| panic!("no module `{leaf}` under {}", src.display()));
        assert!(uses.is_empty(), "`{leaf}` should use nothing of the host, but uses {uses:?}");
    }
}

/// A capability reaches an instance's state through its own view trait,
/// so none of them names the runtime (or the planner, or a sink).
#[test]
fn the_capabilities_do_not_reach_into_the_layers_that_use_them() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let edges = module_edges(&src);
    let uses = edges.get("caps").unwrap_or_else(|| panic!("no module `caps` under {}", src.display()));
    for layer in ["runtime", "plan", "sink", "state", "config", "report"] {
        assert!(!uses.contains_key(layer), "caps uses {layer} in {:?}", uses.get(layer));
    }
}

/// The contract's generated types stay behind the sandbox: the runtime
/// turns them into the model's and each capability speaks its own
/// interface; nothing else names them, the binary's commands included, so
/// a new contract version changes those two places only.
#[test]
fn only_the_runtime_and_the_capabilities_name_the_contract() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut named = Vec::new();
    for file in rust_files(&src) {
        let relative = file.strip_prefix(&src).unwrap_or(&file).to_string_lossy().into_owned();
        let module = relative.split('/').next().unwrap_or_default().trim_end_matches(".rs");
        if ["runtime", "caps", "contract", "lib"].contains(&module) {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
            if line.contains("crate::contract") || line.contains("weir::contract") {
                named.push(format!("{relative}: {}", line.trim()));
            }
        }
    }
    assert!(!rust_files(&src).is_empty(), "no source read under {}", src.display());
    assert!(named.is_empty(), "the contract named past the runtime:\n{}", named.join("\n"));
}

/// Which top-level module uses which, with the files that do.
fn module_edges(src: &Path) -> Edges {
    let mut edges = Edges::new();
    for file in rust_files(src) {
        let relative = file.strip_prefix(src).unwrap_or(&file).to_string_lossy().into_owned();
        let module = relative.split('/').next().unwrap_or_default().trim_end_matches(".rs").to_string();
        if ["main", "lib", "cli"].contains(&module.as_str()) || relative.ends_with("tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let code = text.split("#[cfg(test)]\nmod tests {").next().unwrap_or_default();
        for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for used in used_modules(line) {
                if used != module {
                    edges.entry(module.clone()).or_default().entry(used).or_default().insert(relative.clone());
                }
            }
        }
        edges.entry(module).or_default();
    }
    edges
}

/// The top-level modules a line names through `crate::`, grouped uses
/// (`crate::{a, b::c}`) included.
fn used_modules(line: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (at, _) in line.match_indices("crate::") {
        let rest = &line[at + "crate::".len()..];
        let names: Vec<&str> = match rest.strip_prefix('{') {
            Some(group) => group.split('}').next().unwrap_or_default().split(',').collect(),
            None => vec![rest],
        };
        for name in names {
            let head: String = name.trim().chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if !head.is_empty() && head != "self" {
                found.push(head);
            }
        }
    }
    found
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Tarjan's strongly connected components, each sorted by name.
fn strongly_connected(edges: &Edges) -> Vec<Vec<String>> {
    struct Walk<'a> {
        edges: &'a Edges,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        components: Vec<Vec<String>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, node: &'a str) {
            let n = self.index.len();
            self.index.insert(node, n);
            self.low.insert(node, n);
            self.stack.push(node);
            self.on_stack.insert(node);
            for next in self.edges.get(node).into_iter().flat_map(|m| m.keys()) {
                let next = next.as_str();
                if !self.edges.contains_key(next) {
                    continue;
                }
                if !self.index.contains_key(next) {
                    self.visit(next);
                    let low = self.low[node].min(self.low[next]);
                    self.low.insert(node, low);
                } else if self.on_stack.contains(next) {
                    let low = self.low[node].min(self.index[next]);
                    self.low.insert(node, low);
                }
            }
            if self.low[node] == self.index[node] {
                let mut component = Vec::new();
                while let Some(top) = self.stack.pop() {
                    self.on_stack.remove(top);
                    component.push(top.to_string());
                    if top == node {
                        break;
                    }
                }
                component.sort();
                self.components.push(component);
            }
        }
    }
    let mut walk = Walk {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        components: Vec::new(),
    };
    for node in edges.keys() {
        if !walk.index.contains_key(node.as_str()) {
            walk.visit(node);
        }
    }
    walk.components
}

#[test]
fn a_cycle_is_found_when_there_is_one() {
    let mut edges = Edges::new();
    for (a, b) in [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")] {
        edges.entry(a.into()).or_default().entry(b.into()).or_default().insert(format!("{a}.rs"));
        edges.entry(b.into()).or_default();
    }
    let components = strongly_connected(&edges);
    assert!(components.contains(&vec!["a".to_string(), "b".into(), "c".into()]), "{components:?}");
    assert!(components.contains(&vec!["d".to_string()]), "{components:?}");
    assert_eq!(used_modules("use crate::{model::Relation, sink::Document};"), ["model", "sink"]);
    assert_eq!(used_modules("    let x = crate::procfs::rss_mib(\"VmHWM:\");"), ["procfs"]);
}
