//! The layers of `src/`: no circle among the files' imports, and the wire floor (`src/wire/`)
//! imports nothing outside itself.
//!
//! Every file under `src/` is read and the paths it names are taken: `use` trees, and
//! `crate::`, `super::` and `self::` paths in code (comments and literals are skipped, test
//! modules count like the rest). Each path is resolved to the file that defines the item,
//! following `use` re-exports, so `crate::ErrorCode` in a file is an import of
//! `src/wire/packet.rs` (through `lib.rs`), not of `lib.rs`. A path into the crate that names
//! no file's item resolves to the file of its module, so nothing is dropped silently.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Which files each file imports, by path relative to the crate (`src/wire/packet.rs`).
type Graph = BTreeMap<String, BTreeSet<String>>;

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    PathSep,
    Punct(char),
}

/// The tokens of a Rust file that matter for paths: comments, string, byte, raw and char
/// literals and numbers are dropped; lifetimes leave a stray identifier, which names nothing.
fn tokens(src: &str) -> Vec<Tok> {
    let b: Vec<char> = src.chars().collect();
    let at = |i: usize| b.get(i).copied().unwrap_or('\0');
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == '/' && at(i + 1) == '/' {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            loop {
                if at(i) == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if at(i) == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else if i >= b.len() {
                    break;
                } else {
                    i += 1;
                }
            }
        } else if c == '"' {
            i = skip_string(&b, i + 1);
        } else if c == '\'' {
            if at(i + 1) == '\\' {
                i += 3;
                while i < b.len() && b[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                i += 1; // a lifetime or a label: its name follows as an identifier
            }
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_') {
                i += 1;
            }
            let ident: String = b[start..i].iter().collect();
            match (ident.as_str(), at(i)) {
                ("r" | "br", '"' | '#') => {
                    let mut hashes = 0;
                    while at(i) == '#' {
                        hashes += 1;
                        i += 1;
                    }
                    i += 1; // the opening quote
                    while i < b.len() && !(b[i] == '"' && (1..=hashes).all(|h| at(i + h) == '#')) {
                        i += 1;
                    }
                    i += 1 + hashes;
                }
                ("b", '"') => i = skip_string(&b, i + 1),
                _ => out.push(Tok::Ident(ident)),
            }
        } else if c.is_ascii_digit() {
            while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_') {
                i += 1;
            }
        } else if c == ':' && at(i + 1) == ':' {
            out.push(Tok::PathSep);
            i += 2;
        } else {
            if !c.is_whitespace() {
                out.push(Tok::Punct(c));
            }
            i += 1;
        }
    }
    out
}

/// The index after the closing quote of a string whose body starts at `i`.
fn skip_string(b: &[char], mut i: usize) -> usize {
    while i < b.len() && b[i] != '"' {
        i += if b[i] == '\\' { 2 } else { 1 };
    }
    i + 1
}

/// One name a `use` brings in (`None` for a glob), with its path as written.
struct UseItem {
    path: Vec<String>,
    name: Option<String>,
}

fn ident(t: &[Tok], k: usize) -> Option<&str> {
    match t.get(k) {
        Some(Tok::Ident(s)) => Some(s),
        _ => None,
    }
}

/// Reads one use tree starting at `t[*k]`, with the segments of the enclosing groups.
fn use_tree(t: &[Tok], k: &mut usize, prefix: &[String], out: &mut Vec<UseItem>) {
    let mut path = prefix.to_vec();
    if t.get(*k) == Some(&Tok::PathSep) {
        *k += 1;
        path.push("::".into()); // `::name`: an external crate
    }
    loop {
        match t.get(*k) {
            Some(Tok::Ident(s)) => {
                path.push(s.clone());
                *k += 1;
                if t.get(*k) == Some(&Tok::PathSep) {
                    *k += 1;
                    continue;
                }
                break;
            }
            Some(Tok::Punct('{')) => {
                *k += 1;
                while t.get(*k).is_some_and(|x| *x != Tok::Punct('}')) {
                    use_tree(t, k, &path, out);
                    if t.get(*k) == Some(&Tok::Punct(',')) {
                        *k += 1;
                    }
                }
                *k += 1;
                return;
            }
            Some(Tok::Punct('*')) => {
                *k += 1;
                out.push(UseItem { path, name: None });
                return;
            }
            other => panic!("unexpected {other:?} in a use tree after {path:?}"),
        }
    }
    if path.last().is_some_and(|s| s == "self") {
        path.pop();
    }
    let mut name = path.last().cloned();
    if ident(t, *k) == Some("as") {
        name = ident(t, *k + 1).map(String::from);
        *k += 2;
    }
    out.push(UseItem { path, name });
}

/// What one file names: its `use` items and code paths, each with the module it sits in (a
/// test module inside the file adds its name), and the child modules it declares.
struct Parsed {
    uses: Vec<(Vec<String>, UseItem)>,
    paths: Vec<(Vec<String>, Vec<String>)>,
    children: BTreeSet<String>,
}

fn parse(module: &[String], src: &str) -> Parsed {
    let t = tokens(src);
    let mut parsed = Parsed {
        uses: Vec::new(),
        paths: Vec::new(),
        children: BTreeSet::new(),
    };
    // One entry per open brace: the inline module it opened, if any.
    let mut braces: Vec<Option<String>> = Vec::new();
    let mut pending_mod: Option<String> = None;
    let context = |braces: &[Option<String>]| -> Vec<String> {
        let mut m = module.to_vec();
        m.extend(braces.iter().flatten().cloned());
        m
    };
    let mut k = 0;
    while k < t.len() {
        match &t[k] {
            Tok::Punct('{') => braces.push(pending_mod.take()),
            Tok::Punct('}') => {
                braces.pop();
            }
            Tok::Punct(';') => pending_mod = None,
            Tok::Ident(s) if s == "mod" => {
                if let Some(name) = ident(&t, k + 1) {
                    match t.get(k + 2) {
                        Some(Tok::Punct(';')) if braces.iter().all(Option::is_none) => {
                            parsed.children.insert(name.into());
                        }
                        Some(Tok::Punct('{')) => pending_mod = Some(name.into()),
                        _ => {}
                    }
                    k += 1;
                }
            }
            Tok::Ident(s) if s == "use" => {
                k += 1;
                let mut items = Vec::new();
                use_tree(&t, &mut k, &[], &mut items);
                assert_eq!(t.get(k), Some(&Tok::Punct(';')), "use tree not ended by ;");
                let ctx = context(&braces);
                parsed
                    .uses
                    .extend(items.into_iter().map(|item| (ctx.clone(), item)));
            }
            Tok::Ident(s)
                if matches!(s.as_str(), "crate" | "super" | "self")
                    && t.get(k + 1) == Some(&Tok::PathSep) =>
            {
                let mut path = vec![s.clone()];
                while t.get(k + 1) == Some(&Tok::PathSep) {
                    match ident(&t, k + 2) {
                        Some(seg) => path.push(seg.into()),
                        None => break, // `::<` or `::{` in an expression
                    }
                    k += 2;
                }
                parsed.paths.push((context(&braces), path));
            }
            _ => {}
        }
        k += 1;
    }
    parsed
}

/// The module path (from the crate root) of a file under `src/`.
fn module_of(rel: &str) -> Vec<String> {
    let inner = rel.strip_prefix("src/").expect("a file under src/");
    let inner = inner.strip_suffix(".rs").expect("a .rs file");
    let mut segs: Vec<String> = inner.split('/').map(String::from).collect();
    if segs.last().is_some_and(|s| s == "lib" || s == "mod") {
        segs.pop();
    }
    segs
}

/// The graph of `files` (path under the crate, source), every edge to the defining file.
fn graph(files: &[(String, String)]) -> Graph {
    let modules: BTreeMap<Vec<String>, usize> = files
        .iter()
        .enumerate()
        .map(|(i, (rel, _))| (module_of(rel), i))
        .collect();
    let parsed: Vec<Parsed> = files
        .iter()
        .map(|(rel, src)| parse(&module_of(rel), src))
        .collect();
    let file_module = |i: usize| module_of(&files[i].0);

    // A path as written in module `ctx` of file `i`, made absolute; `None` outside the crate.
    let absolute = |i: usize, ctx: &[String], path: &[String]| -> Option<Vec<String>> {
        let first = path.first()?;
        let (mut abs, rest) = match first.as_str() {
            "crate" => (Vec::new(), &path[1..]),
            "self" => (ctx.to_vec(), &path[1..]),
            "super" => {
                let supers = path.iter().take_while(|s| *s == "super").count();
                let mut m = ctx.to_vec();
                for _ in 0..supers {
                    m.pop().expect("super:: above the crate root");
                }
                (m, &path[supers..])
            }
            child if ctx == file_module(i) && parsed[i].children.contains(child) => {
                (ctx.to_vec(), path)
            }
            _ => return None, // an external crate, or an item in scope (already imported)
        };
        abs.extend(rest.iter().cloned());
        Some(abs)
    };

    // The names each file's top level brings in with `use`, as absolute paths.
    let bindings: Vec<BTreeMap<String, Option<Vec<String>>>> = (0..files.len())
        .map(|i| {
            let top = file_module(i);
            parsed[i]
                .uses
                .iter()
                .filter(|(ctx, _)| *ctx == top)
                .filter_map(|(ctx, item)| {
                    let name = item.name.clone()?;
                    Some((name, absolute(i, ctx, &item.path)))
                })
                .collect()
        })
        .collect();

    // The file that defines what an absolute path names.
    let resolve = |abs: &[String]| -> Option<usize> {
        let mut abs = abs.to_vec();
        for _ in 0..32 {
            let depth = (0..=abs.len())
                .rev()
                .find(|&n| modules.contains_key(&abs[..n]))
                .expect("the crate root is a file");
            let file = modules[&abs[..depth]];
            let Some(name) = abs.get(depth) else {
                return Some(file);
            };
            match bindings[file].get(name) {
                Some(Some(target)) => {
                    let mut next = target.clone();
                    next.extend(abs[depth + 1..].iter().cloned());
                    abs = next;
                }
                Some(None) => return None, // re-exported from outside the crate
                None => return Some(file),
            }
        }
        panic!("re-exports go round in a circle at {abs:?}")
    };

    let mut g = Graph::new();
    for (i, (rel, _)) in files.iter().enumerate() {
        let edges = g.entry(rel.clone()).or_default();
        let named = parsed[i]
            .uses
            .iter()
            .map(|(ctx, item)| (ctx, &item.path))
            .chain(parsed[i].paths.iter().map(|(ctx, path)| (ctx, path)));
        for (ctx, path) in named {
            if let Some(target) = absolute(i, ctx, path).and_then(|abs| resolve(&abs)) {
                if target != i {
                    edges.insert(files[target].0.clone());
                }
            }
        }
    }
    g
}

/// Every circle of imports: the strongly connected components of more than one file.
fn circles(g: &Graph) -> Vec<Vec<String>> {
    struct Tarjan<'g> {
        g: &'g Graph,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        found: Vec<Vec<String>>,
    }
    impl<'g> Tarjan<'g> {
        fn visit(&mut self, v: &'g str) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            self.on_stack.insert(v);
            let g = self.g;
            for w in g.get(v).into_iter().flatten() {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v, low);
                } else if self.on_stack.contains(w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                loop {
                    let w = self.stack.pop().unwrap();
                    self.on_stack.remove(w);
                    component.push(w.to_string());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut t = Tarjan {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in g.keys() {
        if !t.index.contains_key(v.as_str()) {
            t.visit(v);
        }
    }
    t.found
}

/// Every import from a file in `src/wire/` of a file outside it.
fn wire_leaks(g: &Graph) -> Vec<(String, String)> {
    g.iter()
        .filter(|(from, _)| from.starts_with("src/wire/"))
        .flat_map(|(from, to)| {
            to.iter()
                .filter(|t| !t.starts_with("src/wire/"))
                .map(|t| (from.clone(), t.clone()))
        })
        .collect()
}

fn read_dir(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            read_dir(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_str()
                .unwrap()
                .to_string();
            out.push((rel, std::fs::read_to_string(&path).unwrap()));
        }
    }
}

fn src_graph() -> Graph {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    read_dir(root, &root.join("src"), &mut files);
    graph(&files)
}

fn show(g: &Graph) -> String {
    g.iter()
        .map(|(from, to)| format!("{from} -> {to:?}\n"))
        .collect()
}

#[test]
fn src_files_import_each_other_without_a_circle() {
    let g = src_graph();
    let found = circles(&g);
    assert!(
        found.is_empty(),
        "circles of imports among src/ files: {found:?}\n{}",
        show(&g)
    );
}

#[test]
fn the_wire_floor_imports_only_itself() {
    let g = src_graph();
    let leaks = wire_leaks(&g);
    assert!(
        leaks.is_empty(),
        "src/wire/ imports from outside it: {leaks:?}\n{}",
        show(&g)
    );
    assert!(g.keys().filter(|f| f.starts_with("src/wire/")).count() >= 4);
}

/// The check sees the imports it must see (a parser that found nothing would pass the two
/// tests above).
#[test]
fn the_graph_holds_the_known_imports() {
    let g = src_graph();
    for (from, to) in [
        ("src/lib.rs", "src/session.rs"),
        ("src/lib.rs", "src/wire/packet.rs"),
        ("src/session.rs", "src/options.rs"),
        ("src/session.rs", "src/wire/packet.rs"),
        ("src/session.rs", "src/wire/option_list.rs"),
        ("src/options.rs", "src/wire/option_list.rs"),
        ("src/options.rs", "src/wire/packet.rs"),
        ("src/error.rs", "src/wire/error.rs"),
        ("src/error.rs", "src/wire/packet.rs"),
        ("src/server.rs", "src/options.rs"),
        ("src/wire/packet.rs", "src/wire/option_list.rs"),
        ("src/wire/packet.rs", "src/wire/cstr.rs"),
        ("src/wire/option_list.rs", "src/wire/error.rs"),
    ] {
        assert!(
            g.get(from).is_some_and(|to_| to_.contains(to)),
            "{from} -> {to} not seen:\n{}",
            show(&g)
        );
    }
}

fn fixture(files: &[(&str, &str)]) -> Graph {
    let files: Vec<(String, String)> = files
        .iter()
        .map(|(rel, src)| (rel.to_string(), src.to_string()))
        .collect();
    graph(&files)
}

/// The check fails on a circle that goes through a root re-export, and on a wire file that
/// names a file above it in code; comments, strings and a test module's `super::*` are not
/// imports.
#[test]
fn the_check_finds_a_circle_and_a_leak() {
    let g = fixture(&[
        (
            "src/lib.rs",
            "mod a;\nmod b;\nmod wire;\npub use a::{Alpha as A, Gamma};\npub use b::Beta;\n",
        ),
        (
            "src/a.rs",
            "//! Names [`crate::wire`] in a comment only.\nuse crate::Beta;\npub struct Alpha;\n\
             pub struct Gamma;\n#[cfg(test)]\nmod tests {\n    use super::*;\n}\n",
        ),
        ("src/b.rs", "pub struct Beta(crate::A);\n"),
        ("src/wire/mod.rs", "pub mod floor;\n"),
        (
            "src/wire/floor.rs",
            "fn f() -> &'static str { let _ = crate::Gamma; \"crate::b::Beta\" }\n\
             fn g() -> char { '\\'' }\n// crate::b\n",
        ),
    ]);
    assert_eq!(
        circles(&g),
        vec![vec!["src/a.rs".to_string(), "src/b.rs".to_string()]],
        "{}",
        show(&g)
    );
    assert_eq!(
        wire_leaks(&g),
        vec![("src/wire/floor.rs".to_string(), "src/a.rs".to_string())],
        "{}",
        show(&g)
    );

    let clean = fixture(&[
        ("src/lib.rs", "mod a;\nmod wire;\npub use wire::floor;\n"),
        (
            "src/a.rs",
            "use crate::floor::X;\nuse crate::wire::floor::Y as _;\n",
        ),
        ("src/wire/mod.rs", "pub mod floor;\nmod low;\n"),
        (
            "src/wire/floor.rs",
            "use super::low::Z;\npub struct X(Z);\npub struct Y;\n",
        ),
        ("src/wire/low.rs", "pub(crate) struct Z;\n"),
    ]);
    assert!(circles(&clean).is_empty(), "{}", show(&clean));
    assert!(wire_leaks(&clean).is_empty(), "{}", show(&clean));
    assert!(clean["src/a.rs"].contains("src/wire/floor.rs"));
    assert!(clean["src/wire/floor.rs"].contains("src/wire/low.rs"));
}
