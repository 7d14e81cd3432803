//! `cargo xtask circles`: no import circle between a crate's modules.
//!
//! Each file of `crates/*/src` is a module (`a/b.rs` and `a/b/mod.rs` are
//! `a::b`). A module depends on another when its code names it: a path
//! starting `crate::` or `super::` (in a `use` or inline, braces
//! included), resolved to the longest module it names. A module's own
//! ancestors and descendants do not count (a parent declares its children,
//! a child may use its parent), nor do comments or a trailing
//! `#[cfg(test)] mod tests`. A circle is a set of modules each reachable
//! from the others (Tarjan's strongly connected components); each is
//! reported with the edges inside it.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail};

/// A module's path inside its crate (`[]` for the crate's root).
type Module = Vec<String>;

/// The module a file is, from its path under `src`.
pub fn module_of(relative: &Path) -> Module {
    let mut parts: Vec<String> = relative
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().to_string())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// `text` without comments and without a trailing test module.
fn code_of(text: &str) -> String {
    let text = text
        .find("#[cfg(test)]\nmod tests")
        .map_or(text, |at| &text[..at]);
    text.lines()
        .map(|line| match line.trim_start().starts_with("//") {
            true => "",
            false => line.split("//").next().unwrap_or(""),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The identifier starting at `at` in `text`, if any.
fn ident_at(text: &str, at: usize) -> Option<&str> {
    let rest = &text[at..];
    let end = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    (end > 0).then(|| &rest[..end])
}

/// The paths after `crate::` or `super::`s at `at` (one, or each of a
/// `{...}` group), relative to `base`.
fn paths_at(text: &str, mut at: usize, base: &Module) -> Vec<Module> {
    let mut prefix = base.clone();
    while let Some(name) = ident_at(text, at) {
        if !text[at + name.len()..].starts_with("::") {
            prefix.push(name.to_string());
            return vec![prefix];
        }
        prefix.push(name.to_string());
        at += name.len() + 2;
    }
    if text[at..].starts_with('{') {
        let end = text[at..].find('}').map_or(text.len(), |e| at + e);
        return text[at + 1..end]
            .split(',')
            .map(|item| {
                let mut path = prefix.clone();
                path.extend(
                    item.trim()
                        .split("::")
                        .filter(|p| !p.is_empty() && *p != "self" && *p != "*")
                        .map(|p| p.split_whitespace().next().unwrap_or("").to_string()),
                );
                path
            })
            .collect();
    }
    vec![prefix]
}

/// Every path `code` (of module `me`) names through `crate::` or
/// `super::`.
pub fn references(code: &str, me: &Module) -> Vec<Module> {
    let mut found = Vec::new();
    let boundary = |at: usize| {
        at == 0
            || !code[..at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
    };
    for (at, _) in code.match_indices("crate::") {
        if boundary(at) {
            found.extend(paths_at(code, at + "crate::".len(), &Vec::new()));
        }
    }
    let mut at = 0;
    while let Some(found_at) = code[at..].find("super::") {
        let start = at + found_at;
        at = start + 1;
        if !boundary(start) {
            continue;
        }
        let mut ups = 0;
        let mut next = start;
        while code[next..].starts_with("super::") {
            ups += 1;
            next += "super::".len();
        }
        let base: Module = me[..me.len().saturating_sub(ups)].to_vec();
        found.extend(paths_at(code, next, &base));
        at = next;
    }
    found
}

/// A circle: its modules, and the edges between them.
pub type Circle = (Vec<Module>, Vec<(Module, Module)>);

/// The import circles among `modules` (each a module and the code of its
/// file).
pub fn circles(modules: &BTreeMap<Module, String>) -> Vec<Circle> {
    let mut graph: BTreeMap<&Module, BTreeSet<&Module>> = BTreeMap::new();
    for (me, code) in modules {
        let edges = graph.entry(me).or_default();
        for path in references(code, me) {
            let Some(target) = (1..=path.len())
                .rev()
                .map(|n| &path[..n])
                .find_map(|prefix| modules.get_key_value(prefix).map(|(k, _)| k))
            else {
                continue;
            };
            let related = target.starts_with(me) || me.starts_with(target);
            if !related {
                edges.insert(target);
            }
        }
    }
    let components = strongly_connected(&graph);
    components
        .into_iter()
        .filter(|c| c.len() > 1)
        .map(|component| {
            let set: BTreeSet<&Module> = component.iter().copied().collect();
            let edges = component
                .iter()
                .flat_map(|from| {
                    graph[from]
                        .iter()
                        .filter(|to| set.contains(*to))
                        .map(|to| ((*from).clone(), (*to).clone()))
                })
                .collect();
            (component.into_iter().cloned().collect(), edges)
        })
        .collect()
}

/// Tarjan's strongly connected components of `graph`.
fn strongly_connected<'a>(
    graph: &BTreeMap<&'a Module, BTreeSet<&'a Module>>,
) -> Vec<Vec<&'a Module>> {
    struct State<'a> {
        index: BTreeMap<&'a Module, usize>,
        low: BTreeMap<&'a Module, usize>,
        stack: Vec<&'a Module>,
        on_stack: BTreeSet<&'a Module>,
        components: Vec<Vec<&'a Module>>,
    }
    fn visit<'a>(
        v: &'a Module,
        graph: &BTreeMap<&'a Module, BTreeSet<&'a Module>>,
        s: &mut State<'a>,
    ) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        for &w in graph.get(v).into_iter().flatten() {
            if !s.index.contains_key(w) {
                visit(w, graph, s);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w);
                if w == v {
                    break;
                }
            }
            s.components.push(component);
        }
    }
    let mut state = State {
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        components: Vec::new(),
    };
    for &v in graph.keys() {
        if !state.index.contains_key(v) {
            visit(v, graph, &mut state);
        }
    }
    state.components
}

/// Reads `src`'s files as modules.
fn modules_of(src: &Path) -> Result<BTreeMap<Module, String>> {
    let mut modules = BTreeMap::new();
    let mut folders = vec![src.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in
            fs::read_dir(&folder).with_context(|| format!("reading {}", folder.display()))?
        {
            let path = entry?.path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))?;
                let relative = path.strip_prefix(src).unwrap_or(&path);
                modules.insert(module_of(relative), code_of(&text));
            }
        }
    }
    Ok(modules)
}

fn shown(module: &Module) -> String {
    match module.is_empty() {
        true => "(root)".to_string(),
        false => module.join("::"),
    }
}

/// Fails, naming each circle and its edges, when a crate's modules import
/// each other in a circle; the crates checked.
pub fn check(root: &Path) -> Result<Vec<String>> {
    let mut checked = Vec::new();
    let mut report = String::new();
    let mut names: Vec<_> = fs::read_dir(root.join("crates"))?.collect::<Result<_, _>>()?;
    names.sort_by_key(|e| e.path());
    for entry in names {
        let src = entry.path().join("src");
        if !src.is_dir() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().to_string();
        for (members, edges) in circles(&modules_of(&src)?) {
            let members: Vec<String> = members.iter().map(shown).collect();
            report.push_str(&format!("{name}: a circle among {}\n", members.join(", ")));
            for (from, to) in edges {
                report.push_str(&format!("  {} -> {}\n", shown(&from), shown(&to)));
            }
        }
        checked.push(name);
    }
    if !report.is_empty() {
        bail!("import circles between modules:\n{report}");
    }
    Ok(checked)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn modules(files: &[(&str, &str)]) -> BTreeMap<Module, String> {
        files
            .iter()
            .map(|(path, code)| (module_of(Path::new(path)), code_of(code)))
            .collect()
    }

    #[test]
    fn a_circle_between_siblings_is_found_with_its_edges() {
        let found = circles(&modules(&[
            ("lib.rs", "mod a; mod b;"),
            ("a.rs", "use crate::b::Thing;"),
            ("b/mod.rs", "fn f() { super::a::helper(); }"),
        ]));
        assert_eq!(found.len(), 1, "{found:?}");
        let (members, edges) = &found[0];
        assert_eq!(members.len(), 2);
        assert_eq!(edges.len(), 2);
    }

    #[test]
    fn parents_children_comments_and_tests_do_not_count() {
        let found = circles(&modules(&[
            ("lib.rs", "pub use a::Thing;"),
            ("a/mod.rs", "mod x; use self::x::Y; // crate::b::Z\n"),
            ("a/x.rs", "use super::Thing; use crate::a::Other;"),
            (
                "b.rs",
                "use crate::a::{Thing, x::Y};\n#[cfg(test)]\nmod tests { use crate::b; }",
            ),
        ]));
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn braces_name_each_module() {
        let me = vec!["c".to_string()];
        let refs = references("use crate::{a::X, b::{self, Y}};", &me);
        assert!(
            refs.contains(&vec!["a".to_string(), "X".to_string()]),
            "{refs:?}"
        );
        assert!(
            refs.iter().any(|r| r.first().is_some_and(|m| m == "b")),
            "{refs:?}"
        );
    }

    #[test]
    fn the_workspace_has_no_circle() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        check(&root).unwrap();
    }
}
