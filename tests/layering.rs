//! The shape of `src/`, checked on every test run: no import circle between sibling
//! modules at any level, no HTTP or GraphQL framework inside the services or the error
//! table, and no file past 400 lines. It reads the source as text (`crate::` and
//! `super::` paths), which is all these rules need.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Modules that must not know any wire format: the services, the error table, and the
/// storage helpers they stand on.
const FRAMEWORK_FREE: &[&str] = &[
    "content",
    "auth",
    "quota",
    "accounts",
    "admins",
    "audit",
    "qr",
    "media",
    "error",
    "db",
    "time",
    "revision_cache",
    "change_watch",
    "examples",
    "analyze",
];
/// Crates of the wire: any identifier starting with one of these (`async_graphql_axum`,
/// `tower_http`, `hyper_util` included), and the `http` crate's paths.
const FRAMEWORKS: &[&str] = &["axum", "async_graphql", "tower", "hyper"];
/// Adapter modules, which the framework-free ones must not import either.
const ADAPTERS: &[&str] = &[
    "app", "rest", "graphql", "http", "cli", "listener", "demo", "panel",
];
const MAX_LINES: usize = 400;

type ModPath = Vec<String>;

struct SourceFile {
    path: PathBuf,
    module: ModPath,
    code: String,
}

fn source_files() -> Vec<SourceFile> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|ext| ext != "rs") || path.ends_with("main.rs") {
                continue;
            }
            let relative = path.strip_prefix(&root).unwrap().with_extension("");
            let mut module: ModPath = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(module.last().map(String::as_str), Some("mod" | "lib")) {
                module.pop();
            }
            let code = strip_comments(&std::fs::read_to_string(&path).unwrap());
            files.push(SourceFile { path, module, code });
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

/// The text without `//` comments and string literals, so paths in docs and messages
/// do not count as imports.
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let mut in_string = false;
        let mut previous = ' ';
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            if in_string {
                if c == '"' && previous != '\\' {
                    in_string = false;
                }
                previous = if previous == '\\' && c == '\\' {
                    ' '
                } else {
                    c
                };
                continue;
            }
            if c == '/' && chars.peek() == Some(&'/') {
                break;
            }
            if c == '"' {
                in_string = true;
            }
            out.push(c);
            previous = c;
        }
        out.push('\n');
    }
    out
}

/// Every path that starts with `crate::`, `super::` or `self::`, groups expanded.
fn referenced_paths(file: &SourceFile) -> Vec<ModPath> {
    let code = file.code.as_bytes();
    let mut found = Vec::new();
    let mut at = 0;
    while at < code.len() {
        let boundary = at == 0 || !is_ident(code[at - 1]) && code[at - 1] != b':';
        let base = if !boundary {
            None
        } else if code[at..].starts_with(b"crate::") {
            Some((Vec::new(), 7))
        } else if code[at..].starts_with(b"super::") {
            // `super` is the parent of the file's module, for `mod.rs` and leaf files alike.
            let mut base = file.module.clone();
            let mut skip = 0;
            while code[at + skip..].starts_with(b"super::") {
                skip += 7;
                base.pop();
            }
            Some((base, skip))
        } else if code[at..].starts_with(b"self::") {
            Some((file.module.clone(), 6))
        } else {
            None
        };
        match base {
            Some((prefix, skip)) => {
                let mut cursor = at + skip;
                parse_tree(code, &mut cursor, prefix, &mut found);
                at = cursor.max(at + 1);
            }
            None => at += 1,
        }
    }
    found
}

fn is_ident(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

/// `a::b::{c, d::e}` from `cursor`, each leaf path pushed with `prefix` before it.
fn parse_tree(code: &[u8], cursor: &mut usize, mut prefix: ModPath, out: &mut Vec<ModPath>) {
    loop {
        skip_space(code, cursor);
        if code.get(*cursor) == Some(&b'{') {
            *cursor += 1;
            loop {
                skip_space(code, cursor);
                match code.get(*cursor) {
                    Some(b'}') | None => {
                        *cursor += 1;
                        return;
                    }
                    Some(b',') => *cursor += 1,
                    _ => {
                        let before = *cursor;
                        parse_tree(code, cursor, prefix.clone(), out);
                        if *cursor == before {
                            *cursor += 1;
                        }
                    }
                }
            }
        }
        let start = *cursor;
        while *cursor < code.len() && is_ident(code[*cursor]) {
            *cursor += 1;
        }
        if *cursor == start {
            out.push(prefix);
            return;
        }
        let ident = String::from_utf8_lossy(&code[start..*cursor]).into_owned();
        if ident != "self" {
            prefix.push(ident);
        }
        if code[*cursor..].starts_with(b"::") {
            *cursor += 2;
        } else {
            out.push(prefix);
            return;
        }
    }
}

fn skip_space(code: &[u8], cursor: &mut usize) {
    while *cursor < code.len() && code[*cursor].is_ascii_whitespace() {
        *cursor += 1;
    }
}

/// The longest prefix of `path` that names a module.
fn owning_module(path: &[String], modules: &BTreeSet<ModPath>) -> ModPath {
    (0..=path.len())
        .rev()
        .map(|len| path[..len].to_vec())
        .find(|prefix| modules.contains(prefix))
        .unwrap_or_default()
}

/// Edges between siblings: for `a::x::p` using `a::y::q`, the edge `x → y` under `a`.
fn sibling_edges(files: &[SourceFile]) -> BTreeMap<ModPath, BTreeSet<(String, String, String)>> {
    let modules: BTreeSet<ModPath> = files.iter().map(|f| f.module.clone()).collect();
    let mut edges: BTreeMap<ModPath, BTreeSet<(String, String, String)>> = BTreeMap::new();
    for file in files {
        for path in referenced_paths(file) {
            let target = owning_module(&path, &modules);
            let common = file
                .module
                .iter()
                .zip(&target)
                .take_while(|(a, b)| a == b)
                .count();
            if common == file.module.len() || common == target.len() {
                continue; // parent and child: the parent owns the child
            }
            edges
                .entry(file.module[..common].to_vec())
                .or_default()
                .insert((
                    file.module[common].clone(),
                    target[common].clone(),
                    file.path.display().to_string(),
                ));
        }
    }
    edges
}

/// A cycle in the graph, if there is one, as the names around it.
fn find_cycle(edges: &BTreeSet<(String, String, String)>) -> Option<Vec<String>> {
    let mut next: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (from, to, _) in edges {
        next.entry(from).or_default().insert(to);
    }
    fn visit<'a>(
        node: &'a str,
        next: &BTreeMap<&'a str, BTreeSet<&'a str>>,
        state: &mut BTreeMap<&'a str, u8>,
        trail: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        match state.get(node) {
            Some(1) => {
                let start = trail.iter().position(|n| *n == node).unwrap();
                let mut cycle: Vec<String> = trail[start..].iter().map(|s| s.to_string()).collect();
                cycle.push(node.to_owned());
                return Some(cycle);
            }
            Some(_) => return None,
            None => {}
        }
        state.insert(node, 1);
        trail.push(node);
        for to in next.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(to, next, state, trail) {
                return Some(cycle);
            }
        }
        trail.pop();
        state.insert(node, 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in next.keys() {
        if let Some(cycle) = visit(node, &next, &mut state, &mut Vec::new()) {
            return Some(cycle);
        }
    }
    None
}

#[test]
fn no_import_circle_between_sibling_modules() {
    let files = source_files();
    let mut circles = Vec::new();
    for (parent, mut edges) in sibling_edges(&files) {
        // Report every circle: drop the first edge of each one found and look again.
        while let Some(cycle) = find_cycle(&edges) {
            let witnesses: Vec<String> = cycle
                .windows(2)
                .map(|pair| {
                    let (_, _, file) = edges
                        .iter()
                        .find(|(from, to, _)| *from == pair[0] && *to == pair[1])
                        .unwrap();
                    format!("{} -> {} ({file})", pair[0], pair[1])
                })
                .collect();
            circles.push(format!(
                "under crate::{}: {}",
                parent.join("::"),
                witnesses.join(", ")
            ));
            edges.retain(|(from, to, _)| !(*from == cycle[0] && *to == cycle[1]));
        }
    }
    assert!(
        circles.is_empty(),
        "import circles:\n{}",
        circles.join("\n")
    );
}

#[test]
fn services_and_the_error_table_know_no_wire_framework() {
    let mut offenders = Vec::new();
    for file in source_files() {
        if !file
            .module
            .first()
            .is_some_and(|top| FRAMEWORK_FREE.contains(&top.as_str()))
        {
            continue;
        }
        let bytes = file.code.as_bytes();
        let starts_ident = |at: usize| at == 0 || !is_ident(bytes[at - 1]);
        for framework in FRAMEWORKS {
            if file
                .code
                .match_indices(framework)
                .any(|(at, _)| starts_ident(at))
            {
                offenders.push(format!("{} uses {framework}", file.path.display()));
            }
        }
        // `http::` as a path of its own (the crate), not `crate::http::` (our adapter,
        // caught below).
        if file
            .code
            .match_indices("http::")
            .any(|(at, _)| starts_ident(at) && (at < 2 || &bytes[at - 2..at] != b"::"))
        {
            offenders.push(format!("{} uses the http crate", file.path.display()));
        }
        for path in referenced_paths(&file) {
            if let Some(adapter) = ADAPTERS
                .iter()
                .find(|a| path.first().map(String::as_str) == Some(**a))
            {
                offenders.push(format!("{} imports crate::{adapter}", file.path.display()));
            }
        }
    }
    assert!(offenders.is_empty(), "{}", offenders.join("\n"));
}

#[test]
fn no_source_file_is_past_400_lines() {
    let long: Vec<String> = source_files()
        .iter()
        .filter_map(|file| {
            let lines = std::fs::read_to_string(&file.path).unwrap().lines().count();
            (lines > MAX_LINES).then(|| format!("{}: {lines} lines", file.path.display()))
        })
        .collect();
    assert!(long.is_empty(), "split these files:\n{}", long.join("\n"));
}

#[test]
fn the_checker_sees_a_circle_when_there_is_one() {
    // Guards the checker itself: a made-up two-file circle must be found.
    let edges: BTreeSet<(String, String, String)> = [
        ("a".into(), "b".into(), "a.rs".into()),
        ("b".into(), "c".into(), "b.rs".into()),
        ("c".into(), "a".into(), "c.rs".into()),
    ]
    .into();
    assert_eq!(find_cycle(&edges).unwrap(), ["a", "b", "c", "a"]);
    let file = SourceFile {
        path: "x.rs".into(),
        module: vec!["content".into(), "objects".into()],
        code: "use super::{hydrate::{self, Embed}, types};\nuse crate::auth::Principal;".into(),
    };
    let paths = referenced_paths(&file);
    assert!(paths.contains(&vec!["content".into(), "hydrate".into()]));
    assert!(paths.contains(&vec!["content".into(), "hydrate".into(), "Embed".into()]));
    assert!(paths.contains(&vec!["content".into(), "types".into()]));
    assert!(paths.contains(&vec!["auth".into(), "Principal".into()]));
}

#[test]
fn only_auth_makes_a_principal_without_a_key() {
    // `Principal::unchecked` exists for tests of the permission function; a principal
    // in the server comes from the key store or is the named operator.
    let offenders: Vec<String> = source_files()
        .iter()
        .filter(|file| file.module.first().is_none_or(|top| top != "auth"))
        .filter(|file| file.code.contains("Principal::unchecked"))
        .map(|file| file.path.display().to_string())
        .collect();
    assert!(offenders.is_empty(), "{}", offenders.join("\n"));
}

#[test]
fn every_write_transaction_commits_through_db_commit() {
    // `db::commit` counts the commit for this process's change watch: on PostgreSQL a
    // client's next request here must see its own write before the notification comes.
    let offenders: Vec<String> = source_files()
        .iter()
        .filter(|file| file.module != ["db"])
        .filter(|file| file.code.contains(".commit()"))
        .map(|file| file.path.display().to_string())
        .collect();
    assert!(offenders.is_empty(), "{}", offenders.join("\n"));
}
