//! The module floors of `src/lib.rs` hold: no module uses one on a floor above its own, and
//! no two modules use each other, however indirectly. Read from the source as text, so a new
//! `use crate::..` that breaks the layout fails here, not in a review.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each top-level module's floor, lowest first (as `src/lib.rs` describes them).
const FLOORS: &[&[&str]] = &[
    &["protocol"],
    &["codec", "config", "credentials", "mailbox", "throttle", "admission", "metrics"],
    &["conn"],
    &["store", "presence", "chats", "tickets"],
    &["accounts"],
    &["ns", "sb", "passport", "web"],
    &["server"],
    &["cli", "import"],
];

/// The floor of a module, or of an item of `lib.rs` itself (`crate::serve`): the top one.
fn floor_of(name: &str) -> usize {
    if !lib_modules().contains(name) {
        return FLOORS.len() - 1;
    }
    FLOORS
        .iter()
        .position(|floor| floor.contains(&name))
        .unwrap_or_else(|| panic!("module {name} is on no floor: add it to FLOORS here and to src/lib.rs"))
}

/// The modules `src/lib.rs` declares.
fn lib_modules() -> BTreeSet<String> {
    let lib = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap();
    lib.lines().filter_map(|l| l.strip_prefix("pub mod ")?.strip_suffix(';')).map(str::to_owned).collect()
}

/// Which top-level modules each top-level module uses (`crate::name`, also inside a
/// `use crate::{..}` group), comments left out.
fn uses() -> BTreeMap<String, BTreeSet<String>> {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut dirs = vec![src.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(&src).unwrap();
            let top = relative.components().next().unwrap().as_os_str().to_str().unwrap();
            let module = top.strip_suffix(".rs").unwrap_or(top).to_owned();
            if module == "main" || module == "lib" {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let code: String =
                text.lines().map(|l| l.split("//").next().unwrap()).collect::<Vec<_>>().join("\n");
            let used = edges.entry(module.clone()).or_default();
            for (at, _) in code.match_indices("crate::") {
                let rest = &code[at + "crate::".len()..];
                let names: Vec<&str> = match rest.strip_prefix('{') {
                    Some(group) => group[..group.find('}').unwrap_or(group.len())]
                        .split(',')
                        .map(|part| part.trim().split("::").next().unwrap().trim())
                        .collect(),
                    None => vec![rest.split(|c: char| !c.is_alphanumeric() && c != '_').next().unwrap()],
                };
                used.extend(names.into_iter().filter(|n| !n.is_empty() && *n != module).map(str::to_owned));
            }
        }
    }
    edges
}

#[test]
fn no_module_uses_one_above_it() {
    for module in lib_modules() {
        floor_of(&module); // every module is on a floor
    }
    let mut wrong = Vec::new();
    for (module, used) in uses() {
        for dependency in used {
            if floor_of(&dependency) > floor_of(&module) {
                wrong.push(format!(
                    "{module} (floor {}) uses {dependency} (floor {})",
                    floor_of(&module),
                    floor_of(&dependency)
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "modules using ones above them:\n{}", wrong.join("\n"));
}

#[test]
fn no_modules_use_each_other() {
    let edges = uses();
    // Depth-first search for a path back to where it started.
    fn reaches(
        edges: &BTreeMap<String, BTreeSet<String>>,
        from: &str,
        to: &str,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        edges
            .get(from)
            .into_iter()
            .flatten()
            .any(|next| next == to || (seen.insert(next.clone()) && reaches(edges, next, to, seen)))
    }
    let cycles: Vec<&String> = edges.keys().filter(|m| reaches(&edges, m, m, &mut BTreeSet::new())).collect();
    assert!(cycles.is_empty(), "modules on an import cycle: {cycles:?}");
}
