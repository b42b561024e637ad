//! The import graph of `src/`, read from the sources: no import cycle between files, and the
//! layers import only what they may. Run it alone with `cargo test --test architecture`; add
//! `-- --nocapture` to see the cycles it finds.
//!
//! Each file under `src/` (the binaries in `main.rs` and `bin/` aside) is parsed with `syn`, and
//! every path it names that starts with `crate::`, `super::` or `self::` (in a `use` or in code,
//! inside inline modules too) is resolved to the file that defines the longest matching module.
//! What it cannot see: paths written inside macro calls (`json!`, `format!`) and names reached
//! through a glob re-export, which point at the file that re-exports them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

#[path = "support/source_files.rs"]
mod source_files;
use source_files::collect_rs_files;

/// Cycles tolerated for now, each a set of files that import each other. None: the cycles that
/// were on main when this test was written (the request engine with its kinds, auth with users,
/// safes with both) were removed by issue 9's `service/requests/` package. A cycle is allowed
/// only if all its files are inside one entry, so a new file joining a cycle, or a new cycle,
/// fails.
const KNOWN_CYCLES: &[&[&str]] = &[];

/// A module path inside the crate (`["api", "safes"]`), and the file that defines it.
type ModulePath = Vec<String>;

struct Crate {
    root: PathBuf,
    /// Every module defined by a file, and that file (relative to `src/`).
    modules: BTreeMap<ModulePath, String>,
}

impl Crate {
    fn read(root: &Path) -> Self {
        let mut files = Vec::new();
        collect_rs_files(root, &mut files);
        let mut modules = BTreeMap::new();
        for file in files {
            let relative = file
                .strip_prefix(root)
                .expect("under src/")
                .to_string_lossy()
                .replace('\\', "/");
            if relative == "main.rs" || relative.starts_with("bin/") {
                continue;
            }
            modules.insert(module_path_of(&relative), relative);
        }
        Self {
            root: root.to_owned(),
            modules,
        }
    }

    /// The file a path resolves to: the one defining its longest prefix that is a module.
    fn file_of(&self, path: &[String]) -> Option<&String> {
        (0..=path.len())
            .rev()
            .find_map(|len| self.modules.get(&path[..len]))
    }

    /// Every file each file imports (itself left out).
    fn imports(&self) -> BTreeMap<String, BTreeSet<String>> {
        let mut graph = BTreeMap::new();
        for (module, file) in &self.modules {
            let text = std::fs::read_to_string(self.root.join(file)).expect("readable source");
            let syntax = syn::parse_file(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
            let mut collector = Collector {
                krate: self,
                module: module.clone(),
                file,
                found: BTreeSet::new(),
            };
            collector.visit_file(&syntax);
            graph.insert(file.clone(), collector.found);
        }
        graph
    }
}

/// `api/safes/mod.rs` is `api::safes`, `api/safes/accounts.rs` is `api::safes::accounts`.
fn module_path_of(relative: &str) -> ModulePath {
    let without = relative.strip_suffix(".rs").expect(".rs");
    let mut parts: Vec<String> = without.split('/').map(str::to_owned).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// Walks one file, resolving the paths it names to files.
struct Collector<'a> {
    krate: &'a Crate,
    /// The module the walk is in: the file's own, plus any inline `mod x { .. }` around it.
    module: ModulePath,
    file: &'a str,
    found: BTreeSet<String>,
}

impl Collector<'_> {
    /// Records the file an absolute-or-relative path names, if it is one of ours.
    fn record(&mut self, segments: &[String]) {
        let Some(first) = segments.first() else {
            return;
        };
        let absolute: ModulePath = match first.as_str() {
            "crate" => segments[1..].to_vec(),
            "self" => self.module.iter().chain(&segments[1..]).cloned().collect(),
            "super" => {
                let mut base = self.module.clone();
                let mut rest = segments;
                while rest.first().is_some_and(|s| s == "super") {
                    base.pop();
                    rest = &rest[1..];
                }
                base.into_iter().chain(rest.iter().cloned()).collect()
            }
            // A child module named without `self::` (`users::list_roles` in `api/mod.rs`).
            _ if segments.len() > 1 => {
                let mut child = self.module.clone();
                child.push(first.clone());
                if !self.krate.modules.contains_key(&child) {
                    return;
                }
                self.module.iter().chain(segments).cloned().collect()
            }
            _ => return,
        };
        if let Some(file) = self.krate.file_of(&absolute)
            && file != self.file
        {
            self.found.insert(file.clone());
        }
    }

    /// `use a::b::name` records `a::b::name`; `use a::b::{self}` records `a::b`.
    fn use_name(&mut self, prefix: &mut Vec<String>, name: &syn::Ident) {
        if name == "self" {
            self.record(prefix);
        } else {
            prefix.push(name.to_string());
            self.record(prefix);
            prefix.pop();
        }
    }

    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(path) => {
                prefix.push(path.ident.to_string());
                self.use_tree(prefix, &path.tree);
                prefix.pop();
            }
            syn::UseTree::Name(name) => self.use_name(prefix, &name.ident),
            syn::UseTree::Rename(rename) => self.use_name(prefix, &rename.ident),
            syn::UseTree::Glob(_) => self.record(prefix),
            syn::UseTree::Group(group) => {
                for item in &group.items {
                    self.use_tree(prefix, item);
                }
            }
        }
    }
}

impl<'ast> Visit<'ast> for Collector<'_> {
    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        self.use_tree(&mut Vec::new(), &item.tree);
    }

    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        if item.content.is_some() {
            self.module.push(item.ident.to_string());
            syn::visit::visit_item_mod(self, item);
            self.module.pop();
        }
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        self.record(&segments);
        syn::visit::visit_path(self, path);
    }
}

/// The strongly connected components of more than one file (Tarjan's algorithm).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<BTreeSet<String>> {
    struct State<'g> {
        graph: &'g BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        found: Vec<BTreeSet<String>>,
    }
    fn connect<'g>(state: &mut State<'g>, node: &'g str) {
        let next = state.index.len();
        state.index.insert(node, next);
        state.low.insert(node, next);
        state.stack.push(node);
        state.on_stack.insert(node);
        let graph = state.graph;
        for target in graph.get(node).into_iter().flatten() {
            let target = target.as_str();
            if !state.index.contains_key(target) {
                connect(state, target);
                let low = state.low[node].min(state.low[target]);
                state.low.insert(node, low);
            } else if state.on_stack.contains(target) {
                let low = state.low[node].min(state.index[target]);
                state.low.insert(node, low);
            }
        }
        if state.low[node] == state.index[node] {
            let mut component = BTreeSet::new();
            while let Some(member) = state.stack.pop() {
                state.on_stack.remove(member);
                component.insert(member.to_owned());
                if member == node {
                    break;
                }
            }
            if component.len() > 1 {
                state.found.push(component);
            }
        }
    }
    let mut state = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for node in graph.keys() {
        if !state.index.contains_key(node.as_str()) {
            connect(&mut state, node);
        }
    }
    state.found
}

/// A folder's `mod.rs` and the files below it are one package: their imports of each other are
/// how a package is built (the files use `super::`, `mod.rs` re-exports), not a cycle.
fn same_package(a: &str, b: &str) -> bool {
    let inside = |module_file: &str, other: &str| {
        module_file
            .strip_suffix("mod.rs")
            .is_some_and(|folder| other.starts_with(folder))
    };
    inside(a, b) || inside(b, a)
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn graph_between_packages() -> BTreeMap<String, BTreeSet<String>> {
    let mut graph = Crate::read(&src()).imports();
    for (file, targets) in &mut graph {
        targets.retain(|target| !same_package(file, target));
    }
    graph
}

#[test]
fn no_file_under_src_is_in_an_import_cycle_beyond_the_known_ones() {
    let graph = graph_between_packages();
    let found = cycles(&graph);
    let mut unexpected = Vec::new();
    for cycle in &found {
        let edges: Vec<String> = cycle
            .iter()
            .flat_map(|file| {
                graph[file]
                    .iter()
                    .filter(|target| cycle.contains(*target))
                    .map(move |target| format!("    {file} -> {target}"))
            })
            .collect();
        let known = KNOWN_CYCLES
            .iter()
            .any(|known| cycle.iter().all(|file| known.contains(&file.as_str())));
        println!(
            "{} import cycle of {} files:\n{}",
            if known { "known" } else { "NEW" },
            cycle.len(),
            edges.join("\n")
        );
        if !known {
            unexpected.push(cycle.clone());
        }
    }
    assert!(
        unexpected.is_empty(),
        "import cycles between files of src/ (a folder's mod.rs and its own files excepted); \
         break them, do not add them to KNOWN_CYCLES: {unexpected:#?}"
    );
}

#[test]
fn the_known_cycles_are_still_there() {
    let found = cycles(&graph_between_packages());
    for known in KNOWN_CYCLES {
        assert!(
            found
                .iter()
                .any(|cycle| known.iter().any(|file| cycle.contains(*file))),
            "the known cycle {known:?} is gone: delete it from KNOWN_CYCLES"
        );
    }
}

/// The first segment of every path each file names, for the crate-name rules.
fn external_roots(file: &str) -> BTreeSet<String> {
    struct Roots(BTreeSet<String>);
    impl<'ast> Visit<'ast> for Roots {
        fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
            fn roots(tree: &syn::UseTree, into: &mut BTreeSet<String>) {
                match tree {
                    syn::UseTree::Path(path) => {
                        into.insert(path.ident.to_string());
                    }
                    syn::UseTree::Name(name) => {
                        into.insert(name.ident.to_string());
                    }
                    syn::UseTree::Rename(rename) => {
                        into.insert(rename.ident.to_string());
                    }
                    syn::UseTree::Glob(_) => {}
                    syn::UseTree::Group(group) => {
                        group.items.iter().for_each(|item| roots(item, into));
                    }
                }
            }
            roots(&item.tree, &mut self.0);
        }
        fn visit_path(&mut self, path: &'ast syn::Path) {
            if let Some(first) = path.segments.first() {
                self.0.insert(first.ident.to_string());
            }
            syn::visit::visit_path(self, path);
        }
    }
    let text = std::fs::read_to_string(src().join(file)).expect("readable source");
    let syntax = syn::parse_file(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
    let mut roots = Roots(BTreeSet::new());
    roots.visit_file(&syntax);
    roots.0
}

fn files_under(folder: &str) -> Vec<String> {
    Crate::read(&src())
        .modules
        .into_values()
        .filter(|file| file.starts_with(folder))
        .collect()
}

#[test]
fn the_rules_and_the_data_know_nothing_of_http() {
    let mut offenders = Vec::new();
    for folder in ["service/", "db/", "domain/", "pki/"] {
        for file in files_under(folder) {
            if external_roots(&file).iter().any(|r| r.starts_with("actix")) {
                offenders.push(file);
            }
        }
    }
    assert!(offenders.is_empty(), "actix outside src/api: {offenders:?}");
}

#[test]
fn the_http_layer_builds_no_queries_but_healths_select_1() {
    let offenders: Vec<String> = files_under("api/")
        .into_iter()
        .filter(|file| file != "api/health.rs")
        .filter(|file| external_roots(file).contains("diesel"))
        .collect();
    assert!(offenders.is_empty(), "diesel in src/api: {offenders:?}");
}

#[test]
fn imports_point_down_the_layers() {
    let graph = Crate::read(&src()).imports();
    let rules: [(&str, &[&str]); 4] = [
        ("service/", &["api/"]),
        ("db/", &["service/", "api/"]),
        ("domain/", &["api/", "service/", "db/"]),
        ("pki/", &["api/", "service/", "db/"]),
    ];
    let mut offenders = Vec::new();
    for (layer, forbidden) in rules {
        for (file, targets) in graph.iter().filter(|(file, _)| file.starts_with(layer)) {
            for target in targets {
                if forbidden.iter().any(|f| target.starts_with(f)) {
                    offenders.push(format!("{file} -> {target}"));
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "imports against the layers:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn paths_resolve_to_the_file_of_their_longest_module() {
    let krate = Crate::read(&src());
    let path = |p: &str| p.split("::").map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(
        krate.file_of(&path("api::safes::accounts::create_account")),
        Some(&"api/safes/accounts.rs".to_owned())
    );
    assert_eq!(
        krate.file_of(&path("api::AppState")),
        Some(&"api/mod.rs".to_owned())
    );
    assert_eq!(krate.file_of(&path("nothing")), Some(&"lib.rs".to_owned()));
    assert!(same_package("api/safes/mod.rs", "api/safes/members.rs"));
    assert!(same_package("api/mod.rs", "api/safes/members.rs"));
    assert!(!same_package("api/mod.rs", "service/users.rs"));
    assert!(!same_package("api/users.rs", "api/sessions.rs"));
}

/// The extractors that verify a token, and the only arguments a handler may take before one.
/// actix extracts a handler's arguments in order and answers the first refusal, so a protected
/// handler that took its body, query or path first would answer a missing or forged token with
/// that input's 400, 404, 413 or 415 instead of 401.
const TOKEN_EXTRACTORS: &[&str] = &["Authenticated", "MaybeAuthenticated", "PvwaAuth"];
const BEFORE_THE_TOKEN: &[&str] = &["Data", "HttpRequest"];

/// The last segment of each typed argument's type: `web::Data<AppState>` is `Data`.
fn argument_types(inputs: &syn::punctuated::Punctuated<syn::FnArg, syn::Token![,]>) -> Vec<String> {
    inputs
        .iter()
        .filter_map(|input| match input {
            syn::FnArg::Typed(typed) => match typed.ty.as_ref() {
                syn::Type::Path(path) => path.path.segments.last().map(|s| s.ident.to_string()),
                _ => Some(String::new()),
            },
            syn::FnArg::Receiver(_) => None,
        })
        .collect()
}

#[test]
fn protected_handlers_verify_the_token_before_reading_any_input() {
    struct Handlers<'f> {
        file: &'f str,
        offenders: Vec<String>,
        seen: usize,
    }
    impl<'ast> Visit<'ast> for Handlers<'_> {
        fn visit_item_fn(&mut self, item: &'ast syn::ItemFn) {
            let types = argument_types(&item.sig.inputs);
            if let Some(at) = types
                .iter()
                .position(|t| TOKEN_EXTRACTORS.contains(&t.as_str()))
            {
                self.seen += 1;
                if let Some(first) = types[..at]
                    .iter()
                    .find(|t| !BEFORE_THE_TOKEN.contains(&t.as_str()))
                {
                    self.offenders.push(format!(
                        "{}: {} takes {first} before {}",
                        self.file, item.sig.ident, types[at]
                    ));
                }
            }
            syn::visit::visit_item_fn(self, item);
        }
    }
    let mut offenders = Vec::new();
    let mut seen = 0;
    for file in files_under("api/") {
        let text = std::fs::read_to_string(src().join(&file)).expect("readable source");
        let syntax = syn::parse_file(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        let mut handlers = Handlers {
            file: &file,
            offenders: Vec::new(),
            seen: 0,
        };
        handlers.visit_file(&syntax);
        offenders.extend(handlers.offenders);
        seen += handlers.seen;
    }
    assert!(seen > 50, "only {seen} protected handlers found");
    assert!(
        offenders.is_empty(),
        "handlers reading input before the token:\n{}",
        offenders.join("\n")
    );
}
