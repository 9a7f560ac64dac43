//! A bounded, seeded fuzzer over the REST and GraphQL APIs. It adds `secret` (`code`,
//! `owner` → author) and `node` (`label`, `children` → node; `self` holds itself several
//! times) to the demo blog, gives every object of a type T a marker (`MARK<T>`, secrets also
//! `SECRETMARK`) and makes ro, rw and ten user keys. In rounds of reads, then writes, it
//! sends valid and broken requests: GraphQL documents from a grammar (relations, fragment
//! chains and cycles, aliases, page sizes, filters, brackets nested up to 3000 deep, huge
//! and deep variables, introspection, batches, mutations, garbage) and REST lists, gets,
//! searches and writes (mostly by keys that may write the type). Every answer is checked:
//! no 5xx and no `INTERNAL` error, at most 8 MiB, nothing of a type the key may not read (a
//! marker or that `__typename`; requests never contain `MARK`), a single write by a key that
//! may not read the type answers the id alone, and a read a key got 200 for gets 200 with rw
//! too (a list the same `total_count`). Each key's SDL must declare no type it may not read;
//! the server must be alive at the end.
//!
//! It stops after ~800 REST requests and ~1500 GraphQL documents, or after 100 s. What it
//! generates depends only on the seed (never on answers or on ids the server makes), so a
//! run replays: `CONTENTGATE_FUZZ_SEED=42 cargo test --test fuzz -- --nocapture`
//! (PostgreSQL: also set `CONTENTGATE_TEST_DATABASE_URL=postgres://...`).

mod common;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use common::{TestApp, definition, reference, relation_property, text_property};
use rand::{Rng, SeedableRng, rngs::StdRng};
use reqwest::Method;
use serde_json::{Map, Value, json};

const MAX_DOCS: usize = 1500;
const MAX_REST: usize = 800;
const TIME_BUDGET: Duration = Duration::from_secs(100);
const MAX_ANSWER: usize = 8 << 20;
const RW: usize = 1;
const NAMES: [&str; 5] = ["post", "author", "category", "secret", "node"];
type Pairs = &'static [(&'static str, &'static str)];
/// Query parameters: name, chance, at most how many times, values.
type Params = &'static [(&'static str, f64, usize, &'static [&'static str])];

/// Properties per type: text, slug, email, number, bool, date, list, or `@target`.
#[rustfmt::skip]
const TYPES: &[(&str, Pairs)] = &[
    ("post", &[("title", "text"), ("slug", "slug"), ("body", "text"), ("status", "status"),
        ("rating", "number"), ("featured", "bool"), ("publishedAt", "date"), ("tags", "list"),
        ("author", "@author"), ("categories", "@category")]),
    ("author", &[("name", "text"), ("email", "email"), ("bio", "text")]),
    ("category", &[("name", "text"), ("slug", "slug")]),
    ("secret", &[("code", "text"), ("owner", "@author")]),
    ("node", &[("label", "text"), ("children", "@node")]),
];
#[rustfmt::skip]
const USER_KEYS: &[(&str, Pairs)] = &[
    ("none", &[]), ("post=r", &[("post", "r")]), ("post=c", &[("post", "c")]),
    ("post=u", &[("post", "u")]), ("post=cr", &[("post", "cr")]),
    ("post=r author=r", &[("post", "r"), ("author", "r")]), ("node=r", &[("node", "r")]),
    ("secret=c", &[("secret", "c")]), ("post=crud author=r", &[("post", "crud"), ("author", "r")]),
    ("author=r secret=u", &[("author", "r"), ("secret", "u")]),
];
/// Setup by rw: method, path, how many items, item (`#`: its number, `%`: that mod 6).
#[rustfmt::skip]
const SETUP: &[(&str, &str, usize, &str)] = &[
    ("PATCH", "author/batch", 1, r#"{"id": "author-ada", "bio": "MARKauthor"}"#),
    ("PATCH", "author/batch", 1, r#"{"id": "author-alan", "bio": "MARKauthor"}"#),
    ("PATCH", "category/batch", 1, r#"{"id": "category-news", "name": "MARKcategory"}"#),
    ("PATCH", "category/batch", 1, r#"{"id": "category-guides", "name": "MARKcategory"}"#),
    ("PATCH", "category/batch", 1, r#"{"id": "category-rust", "name": "MARKcategory"}"#),
    ("PATCH", "post/batch", 1, r#"{"id": "post-hello", "body": "MARKpost"}"#),
    ("PATCH", "post/batch", 1, r#"{"id": "post-keys", "body": "MARKpost"}"#),
    ("PATCH", "post/batch", 1, r#"{"id": "post-filters", "body": "MARKpost"}"#),
    ("PATCH", "post/batch", 1, r#"{"id": "post-draft", "body": "MARKpost"}"#),
    ("POST", "author/batch", 6, r#"{"id": "author-#", "name": "MARKauthor#", "email": "a#@example.org"}"#),
    ("POST", "post/batch", 8, r#"{"id": "post-#", "title": "MARKpost#", "slug": "fuzz-#",
        "author": [{"type": "internal", "dataUrl": "/api/v1/content/author/author-%"}],
        "categories": [{"type": "internal", "dataUrl": "/api/v1/content/category/category-rust"}]}"#),
    ("POST", "secret/batch", 20, r#"{"id": "secret-#", "code": "SECRETMARK# MARKsecret#",
        "owner": [{"type": "internal", "dataUrl": "/api/v1/content/author/author-%"}]}"#),
    ("POST", "node/batch", 1, r#"{"id": "self", "label": "MARKnode"}"#),
    ("POST", "node/batch", 20, r#"{"id": "node-#", "label": "MARKnode#"}"#),
    ("PATCH", "node/batch", 20, r#"{"id": "node-#", "children": [{"type": "internal",
        "dataUrl": "/api/v1/content/node/node-%"}, {"type": "internal", "dataUrl": "/api/v1/content/node/self"}]}"#),
    ("PATCH", "node/batch", 1, r#"{"id": "self", "children": [{"type": "internal", "dataUrl": "/api/v1/content/node/self"},
        {"type": "internal", "dataUrl": "/api/v1/content/node/self"}, {"type": "internal",
        "dataUrl": "/api/v1/content/node/node-7"}, {"type": "internal", "dataUrl": "/api/v1/content/node/self"}]}"#),
];
/// GraphQL: an upper-case symbol expands to one of its alternatives (the first once the
/// document's budget is spent), `$X` is drawn by `Gen::terminal`; `$TYPE` and `$LIST`
/// choose the type that the rest of the alternative is about.
#[rustfmt::skip]
const GRAMMAR: &[(&str, &[&str])] = &[
    ("DOC", &["{ ROOTS }", "query q { ROOTS }", "$FRAGMENTS { ROOTS }", "{ $ALIASES }", "{ $DEEP }",
        "INTRO", "{ ROOTS ROOTS }"]),
    ("LEGACY", &["{ LROOTS }", "$FRAGMENTS { LROOTS }", "{ $ALIASES }", "{ $DEEP }", "INTRO"]),
    ("ROOTS", &["$AS ROOT", "$AS ROOT ROOTS", "$AS SEARCH", "$AS SEARCH ROOTS"]),
    ("ROOT", &["$TYPE { CONN }", "$TYPE ( ARG ) { CONN }", "$TYPE ( ARG , ARG ) { CONN }",
        "$TYPE ( ARG , ARG , ARG ) { CONN }"]),
    ("CONN", &["totalCount", "pageInfo { hasNextPage } CONN", "edges { node { SEL } } CONN",
        "edges { node { $SPREAD } }"]),
    ("ARG", &["first: $FIRST", "offset: $FIRST", "order_by: $PROPSTR", "order_direction: \"desc\"",
        "filter: $FILTER", "id: $ID", "field: $PROPSTR , value: $WORD"]),
    ("LROOTS", &["$AS LROOT", "$AS LROOT LROOTS"]),
    ("LROOT", &["$TYPE ( id: $ID ) { SEL }", "$LIST { SEL }", "$LIST ( LARG ) { SEL }",
        "$LIST ( LARG , LARG , LARG ) { SEL }"]),
    ("LARG", &["limit: $FIRST", "page: $FIRST", "order_by: $PROPSTR", "filter: $LFILTER"]),
    ("SEL", &["id", "$PROP SEL", "$REL SEL", "__typename SEL", "... on $SAME { SEL }", "nope",
        "internal { contentType latestVersion } SEL", "$SPREAD SEL"]),
    ("SEARCH", &["search ( q: $Q ) { HITS }", "search ( q: $Q , first: $FIRST ) { HITS }",
        "search ( q: $Q , content_type: [ $TYPESTR ] ) { HITS }"]),
    ("HITS", &["totalCount", "edges { score node { __typename ON } } HITS"]),
    ("ON", &["", "... on $TYPE { SEL } ON"]),
    ("INTRO", &["{ __schema { types { name } } }", "{ __type ( name: $TYPESTR ) { name fields { name } } }",
        "{ __schema { types { fields { type { OFTYPE } } } } }"]),
    ("OFTYPE", &["name", "ofType { OFTYPE }"]),
];
/// REST writes: method, path after `/api/v1/content/{type}`, body.
#[rustfmt::skip]
const WRITES: &[(&str, &str, &str)] = &[("POST", "", "one"), ("POST", "", "one"),
    ("PUT", "/ID", "one"), ("PATCH", "/ID", "one"), ("PATCH", "/ID", "one"), ("POST", "/batch", "many"),
    ("POST", "/batch?updateExisting=true", "many"), ("PATCH", "/batch", "patches"),
    ("POST", "/batch-delete", "ids"), ("DELETE", "/ID", "none")];
/// REST list and search parameters; the rows with broken values are rare.
#[rustfmt::skip]
const LIST_PARAMS: Params = &[
    ("hydrate", 0.4, 1, &["0", "1", "2"]), ("limit", 0.3, 1, &["1", "5", "1000"]),
    ("page", 0.2, 1, &["1", "2", "99999999"]), ("order_direction", 0.2, 1, &["asc", "desc"]),
    ("empty_first", 0.05, 1, &["1"]), ("hydrate", 0.03, 1, &["3", "-1"]), ("limit", 0.03, 1, &["0", "1001"]),
    ("page", 0.03, 1, &["0", "9223372036854775807", "18446744073709551616"]),
];
#[rustfmt::skip]
const SEARCH_PARAMS: Params = &[
    ("hydrate", 0.2, 1, &["0", "1", "2"]), ("limit", 0.2, 1, &["1", "1000"]), ("page", 0.1, 1, &["2"]),
    ("order_by", 0.2, 1, &["title", "name.keyword", "id"]), ("order_direction", 0.1, 1, &["asc", "desc"]),
    ("aggregate_by[]", 0.2, 3, &["tags", "name", "code", "label", "bio", "title", "owner"]),
    ("fields[]", 0.3, 25, &["title", "code^2", "label", "name^0.5", "bio", "id", "tags^3"]),
    ("content_type[]", 0.3, 3, &["post", "author", "category", "secret", "node"]),
    ("filters[code]", 0.05, 1, &["x", "secretmark1"]), ("filters[label]", 0.05, 1, &["marknode1"]),
    ("fields[]", 0.02, 1, &["a-b", "bio^x", "name^0"]), ("content_type[]", 0.02, 1, &["nope"]),
    ("post_filters", 0.02, 1, &["x"]), ("hydrate", 0.02, 1, &["3"]), ("limit", 0.02, 1, &["1001"]),
    ("page", 0.02, 1, &["9223372036854775807"]), ("order_by", 0.02, 1, &["a-b"]),
];
/// Queries for `huge_variables`: with a long string, a filter, nested lists.
#[rustfmt::skip]
const HUGE: &[&str] = &["query($v: String) { search(q: $v) { totalCount } }",
    "query($v: String) { post(id: $v) { totalCount } }",
    "query($v: postFilterInput) { post(filter: $v) { totalCount } }",
    "query($v: [String]) { post { totalCount } }"];
#[rustfmt::skip]
const OPS: &[&str] = &["equals", "notEqual", "notEquals", "contains", "notContains", "startsWith",
    "endsWith", "lessThan", "lessThanOrEqual", "greaterThan", "greaterThanOrEqual", "inRange",
    "empty", "notEmpty", "overlaps", "includes", "near"];
/// Lower case, so that no request contains a marker.
#[rustfmt::skip]
const WORDS: &[&str] = &["guides", "news", "rust", "program", "ada", "self", "secretmark1",
    "secretmark17", "markpost5", "marknode0", "markauthor2", "markcategory1", "marksecret3"];
#[rustfmt::skip]
const FIRSTS: &[&str] = &["0", "1", "25", "1000", "-1", "2147483647", "99999999999", "1.5"];
#[rustfmt::skip]
const IDS: &[&str] = &["a b", "\u{0}", "ü-ß", "post-hello", "self", "%2F", "removed", "batch", ""];
#[rustfmt::skip]
const JUNK: &[&str] = &["null", "7", "\"x\"", "[]", "{\"a\": [1]}", "true", "-0.0", "1e400"];
#[rustfmt::skip]
const BROKEN: &[&str] = &["", "{", "[]", "[1]", "null", r#"{"query": 5}"#, r#"{"query": null}"#,
    r#"{"query": "{ post { totalCount } }", "variables": "x"}"#,
    r#"{"query": "query A { post { totalCount } } query B { node { totalCount } }"}"#,
    r#"{"query": "query A { post { totalCount } }", "operationName": "B"}"#,
    r#"{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "abc"}}}"#];
#[rustfmt::skip]
const MEDIA: &[Option<&str>] = &[None, Some("text/plain"), Some("application/graphql"),
    Some("multipart/form-data; boundary=x")];

fn either<T>(condition: bool, yes: T, no: T) -> T {
    if condition { yes } else { no }
}

fn props(t: &str) -> Pairs {
    TYPES.iter().find(|(n, _)| *n == t).map_or(&[], |(_, p)| *p)
}

/// What only answers with objects of `t` contain.
fn markers(t: &str) -> Vec<String> {
    let extra = either(t == "secret", "SECRETMARK".into(), format!("MARK{t}"));
    let mut found = vec![format!("MARK{t}"), extra, format!(r#""__typename":"{t}""#)];
    found.dedup();
    found
}

fn gql_str(text: &str) -> String {
    Value::from(text).to_string()
}

/// A JSON value as a GraphQL input literal whose leaves are strings.
fn gql_input(value: &Value) -> String {
    let Value::Object(map) = value else {
        return gql_str(&value.as_str().map_or_else(|| value.to_string(), Into::into));
    };
    let fields: Vec<String> = map
        .iter()
        .map(|(k, v)| format!("{k}: {}", gql_input(v)))
        .collect();
    format!("{{ {} }}", fields.join(", "))
}

fn encode<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.extend_pairs(pairs).finish()
}

fn seg(id: &str) -> String {
    form_urlencoded::byte_serialize(id.as_bytes()).collect()
}

fn cut(text: &str, mut at: usize) -> &str {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    &text[..at]
}

/// `text`, or its start and end if it is long.
fn short(text: &str) -> String {
    let (n, head) = (text.len(), cut(text, 300));
    let tail = &text[cut(text, n.saturating_sub(150).max(300)).len()..];
    either(
        n > 450,
        format!("{head} ... {tail} ({n} bytes)"),
        text.into(),
    )
}

struct Key {
    name: &'static str,
    token: String,
    rules: Option<Pairs>,
}

impl Key {
    fn can(&self, t: &str, action: char) -> bool {
        match self.rules {
            None => self.name == "rw" || action == 'r',
            Some(rules) => rules.iter().any(|(n, l)| *n == t && l.contains(action)),
        }
    }
}

struct Req {
    method: Method,
    path: String,
    body: Vec<u8>,
    media: Option<&'static str>,
}

impl Req {
    fn new(method: Method, path: &str, body: Vec<u8>) -> Self {
        let (path, media) = (path.to_owned(), Some("application/json"));
        Req {
            method,
            path,
            body,
            media,
        }
    }
    /// A GET, its URI cut to what `http::Uri` takes (64 KiB).
    fn get(path: String) -> Self {
        Req::new(Method::GET, cut(&path, 65_000), Vec::new())
    }
    fn json(method: Method, path: &str, body: &Value) -> Self {
        Req::new(method, path, body.to_string().into_bytes())
    }
    /// The type of a single-object write: POST `/T`, PUT or PATCH `/T/{id}`.
    fn single_write(&self) -> Option<&str> {
        let path = self.path.split('?').next()?;
        let parts: Vec<&str> = path.strip_prefix("/api/v1/content/")?.split('/').collect();
        match (self.method.as_str(), parts.as_slice()) {
            ("POST", [t]) => Some(t),
            ("PUT" | "PATCH", [t, id]) if *id != "batch" => Some(t),
            _ => None,
        }
    }
}

/// The generators: everything random comes from `rng`.
#[derive(Default)]
struct Gen {
    rng: Option<StdRng>,
    ids: HashMap<&'static str, Vec<String>>,
    fresh: usize,
    // The document being generated: expansions left, relation levels, fragments.
    budget: usize,
    max_depth: usize,
    fragments: Option<(&'static str, usize)>,
    legacy: bool,
}

impl Gen {
    fn rng(&mut self) -> &mut StdRng {
        self.rng.as_mut().expect("seeded")
    }
    fn chance(&mut self, p: f64) -> bool {
        self.rng().random_bool(p)
    }
    fn below(&mut self, n: usize) -> usize {
        self.rng().random_range(0..n)
    }
    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())].clone()
    }
    fn type_name(&mut self) -> &'static str {
        let i = self.below(NAMES.len() * 10 + 1) / 10;
        NAMES.get(i).map_or("nope", |t| t)
    }
    fn word(&mut self) -> String {
        let (n, known) = (self.rng().random_range(1..9), self.pick(WORDS));
        let random: String = (0..n).map(|_| self.rng().random_range('a'..='z')).collect();
        either(self.chance(0.3), known.into(), random)
    }
    fn words(&mut self, n: usize) -> String {
        (0..n).map(|_| self.word()).collect::<Vec<_>>().join(" ")
    }
    fn long(&mut self, max: usize) -> String {
        let unit = self.pick(&["a", "ab ", "word "]);
        unit.repeat(1 + self.below(max / unit.len()))
    }
    fn text(&mut self) -> String {
        match self.below(25) {
            0 => self.long(1000),
            1 => "żółw 🦀 日本".into(),
            2 => "nul \u{0} inside".into(),
            n => self.words(n % 4),
        }
    }
    fn id(&mut self, t: &str) -> String {
        let known = self.ids.get(t).map_or(0, Vec::len);
        let (roll, i) = (self.below(40), self.below(known.max(1)));
        match roll {
            0 => format!("missing-{i}"),
            1 => "x".repeat(300),
            2 => self.pick(IDS).into(),
            _ if known == 0 => "self".into(),
            _ => self.ids[t][i].clone(),
        }
    }
    /// A property of `t`, of `extra` or unknown; `scalar` leaves relations out.
    fn prop(&mut self, t: &str, extra: &[&str], scalar: bool) -> String {
        let own = props(t).iter().filter(|p| !scalar || !p.1.starts_with('@'));
        let names: Vec<&str> = own.map(|p| p.0).chain(extra.iter().copied()).collect();
        self.pick(&[names, vec!["nope"]].concat()).into()
    }

    /// Expands a grammar symbol (or returns a literal) about type `t`, `depth` relations deep.
    fn expand(&mut self, symbol: &str, mut t: &'static str, depth: usize) -> String {
        let Some((_, rules)) = GRAMMAR.iter().find(|(s, _)| *s == symbol) else {
            return symbol.to_owned();
        };
        self.budget = self.budget.saturating_sub(1);
        let alternative = either(self.budget == 0, rules[0], self.pick(rules));
        let mut out = Vec::new();
        for token in alternative.split(' ') {
            out.push(match token.starts_with('$') {
                true => self.terminal(token, &mut t, depth),
                false => self.expand(token, t, depth),
            });
        }
        out.join(" ")
    }
    fn terminal(&mut self, token: &str, t: &mut &'static str, depth: usize) -> String {
        let list = |t: &str, legacy| either(legacy, format!("{t}List"), t.to_owned());
        let relations: Vec<(&str, &str)> = props(t)
            .iter()
            .filter_map(|(name, kind)| Some((*name, kind.strip_prefix('@')?)))
            .collect();
        match token {
            "$TYPE" | "$LIST" => {
                *t = self.type_name();
                list(t, token == "$LIST")
            }
            "$SAME" => t.to_string(),
            "$AS" => either(
                self.chance(0.8),
                format!("r{}:", self.budget),
                String::new(),
            ),
            "$TYPESTR" => gql_str(self.type_name()),
            "$PROP" => self.prop(t, &[], true),
            "$PROPSTR" => gql_str(&self.prop(t, &["id"], false)),
            "$ID" => gql_str(&self.id(t)),
            "$WORD" => gql_str(&self.word()),
            "$Q" => {
                let (q, n) = (self.pick(&["*", "((", "", "words"]), self.below(40));
                gql_str(&either(q == "words", self.words(n), q.into()))
            }
            "$FIRST" => self.pick(FIRSTS).into(),
            "$FILTER" => self.filters(t, true),
            "$LFILTER" => gql_str(&self.filters(t, false)),
            "$REL" if relations.is_empty() || depth >= self.max_depth => "id".into(),
            "$REL" => {
                let (name, target) = self.pick(&relations);
                format!("{name} {{ {} }}", self.expand("SEL", target, depth + 1))
            }
            // Up to 300 spreads of one fragment, where one is defined on this type.
            "$SPREAD" => {
                let Some((_, n)) = self.fragments.filter(|f| f.0 == *t || self.chance(0.1)) else {
                    return "id".into();
                };
                format!("...F{} ", self.below(n)).repeat(1 + self.below(300))
            }
            // A chain of fragments each spreading the next, sometimes closed into a cycle.
            "$FRAGMENTS" => {
                let (on, n, cycle) = (self.type_name(), 1 + self.below(20), self.chance(0.2));
                self.fragments = Some((on, n));
                let mut defs = String::new();
                for i in 0..n {
                    let next = either(
                        i + 1 < n || cycle,
                        format!("...F{}", (i + 1) % n),
                        "".into(),
                    );
                    let sel = self.expand("SEL", on, depth);
                    defs += &format!("fragment F{i} on {on} {{ {sel} {next} }} ");
                }
                defs
            }
            // Up to 45 aliased roots (30 are allowed).
            "$ALIASES" => {
                let (root, n) = (list(self.type_name(), self.legacy), 1 + self.below(45));
                let field = either(self.legacy, "id", "totalCount");
                (0..n)
                    .map(|i| format!("a{i}: {root} {{ {field} }} "))
                    .collect()
            }
            // `$DEEP`: an argument nested up to 3000 brackets deep, sometimes past 32 KiB.
            _ => {
                let (root, arg) = (
                    list(self.type_name(), self.legacy),
                    self.pick(&["filter", "first"]),
                );
                let max = self.pick(&[3, 66, 3000]);
                let (depth, (open, close)) =
                    (1 + self.below(max), self.pick(&[("[", "]"), ("{a:", "}")]));
                let value = format!("{}1{}", open.repeat(depth), close.repeat(depth));
                let pad = either(self.chance(0.3), "x".repeat(33_000), String::new());
                format!("{root}({arg}: {value}) {{ __typename }} #{pad}\n")
            }
        }
    }
    fn document(&mut self, legacy: bool) -> String {
        self.budget = 10 + self.below(300);
        self.max_depth = self.below(4) + either(self.chance(0.1), 8, 0);
        (self.fragments, self.legacy) = (None, legacy);
        self.expand(either(legacy, "LEGACY", "DOC"), "post", 0)
    }

    fn value(&mut self, kind: &str, graphql: bool) -> Value {
        if let Some(target) = kind.strip_prefix('@') {
            let n = self.below(5);
            return (0..n).map(|_| self.reference(target, graphql)).collect();
        }
        let (n, word) = (self.below(1000), self.word());
        match (self.below(40), kind) {
            (0, _) => serde_json::from_str(self.pick(JUNK)).unwrap_or_default(),
            (_, "text") => json!(self.text()),
            (_, "slug") => json!(format!("{word}-{n}")),
            (_, "email") => json!(format!("{word}{n}@example.org")),
            (_, "number") => json!(self.rng().random_range(-5.0..5.0)),
            (_, "bool") => json!(self.chance(0.5)),
            (_, "status") => json!(self.pick(&["draft", "review", "published"])),
            (_, "date") => json!(self.pick(&["2026-01-10T09:00", "2026-02-30T25:61"])),
            _ => (0..n % 5).map(|_| self.word()).collect(),
        }
    }
    /// A reference to an object of `target`, sometimes of another type or missing.
    fn reference(&mut self, target: &str, graphql: bool) -> Value {
        let t = either(self.chance(0.05), self.pick(&NAMES), target);
        let id = self.id(t);
        match (graphql, self.below(20)) {
            (true, _) => json!(id),
            (false, 0) => json!({ "dataUrl": id }),
            _ => reference(t, &id),
        }
    }
    fn object(&mut self, t: &'static str, graphql: bool) -> Value {
        let mut object = Map::new();
        for (name, kind) in props(t) {
            let required = matches!(*name, "title" | "slug" | "name");
            let p = either(kind.starts_with('@'), 0.3, 0.5);
            if self.chance(either(required, 0.9, p)) {
                object.insert(name.to_string(), self.value(kind, graphql));
            }
        }
        Value::Object(object)
    }
    /// An id for an object to create, known from now on.
    fn new_id(&mut self, t: &'static str) -> Value {
        self.fresh += 1;
        let id = format!("fz{}-{t}", self.fresh);
        self.ids.entry(t).or_default().push(id.clone());
        json!(id)
    }

    fn filter_value(&mut self) -> Value {
        match self.below(9) {
            0 => json!(self.rng().random_range(-10.0..10.0)),
            1 => json!(self.chance(0.5)),
            2 => {
                let n = self.pick(&[3, 3, 3, 2001]);
                (0..self.below(n)).map(|_| self.word()).collect()
            }
            3 => serde_json::from_str(self.pick(JUNK)).unwrap_or_default(),
            4 => json!("2026-02-01 10:00:00"),
            5 if self.chance(0.3) => json!(self.long(60_000)),
            _ => json!(self.word()),
        }
    }
    /// A REST `filters` JSON, or with `graphql` a `filter:` input object of strings.
    fn filters(&mut self, t: &str, graphql: bool) -> String {
        let rest = [
            "id",
            "internal.createdAt",
            "*",
            "tags[*]",
            "author[*].dataUrl",
        ];
        let mut filters = Map::new();
        for _ in 0..=self.below(3) {
            let mut spec = json!({ "type": self.pick(OPS) });
            for (name, p) in [("filter", 0.9), ("filter2", 0.3)] {
                if self.chance(p) {
                    spec[name] = self.filter_value();
                }
            }
            filters.insert(
                self.prop(t, either(graphql, &rest[..1], &rest[..]), false),
                spec,
            );
        }
        let (value, at) = (Value::Object(filters), self.below(100));
        let json = value.to_string();
        let at = either(at < 5, json.len() * at / 5, json.len());
        either(graphql, gql_input(&value), cut(&json, at).into())
    }

    /// A GraphQL read (or garbage), its number of documents, and whether it must be refused.
    fn graphql(&mut self, legacy: bool) -> (Req, usize, bool) {
        let path = either(legacy, "/api/graphql", "/api/v2/graphql");
        let doc = self.document(legacy);
        let valid = json!({ "query": doc }).to_string();
        let (json, other, n) = (
            Some("application/json"),
            self.pick(MEDIA),
            1 + self.below(12),
        );
        let (body, media): (Vec<u8>, _) = match self.below(20) {
            0..11 => (valid.into(), json),
            11..13 => {
                let get = Req::get(format!("{path}?{}", encode(&[("query", doc)])));
                return (get, 1, false);
            }
            13..15 => {
                let batch: Vec<Value> = (0..n)
                    .map(|_| json!({ "query": self.document(legacy) }))
                    .collect();
                return (Req::json(Method::POST, path, &json!(batch)), n, false);
            }
            15 => return self.huge_variables(),
            16 => (cut(&valid, self.below(valid.len())).into(), json),
            17 => (
                (0..self.below(2000)).map(|_| self.rng().random()).collect(),
                json,
            ),
            18 => (self.pick(BROKEN).into(), json),
            _ => (doc.into(), other),
        };
        let body = body
            .into_iter()
            .map(|b| either(b == b'M', b'm', b))
            .collect();
        let req = Req::new(Method::POST, path, body);
        (Req { media, ..req }, 1, false)
    }
    /// Huge variables, or variables nested deeper than the server may accept.
    fn huge_variables(&mut self) -> (Req, usize, bool) {
        let (query, long, depth) = (self.below(HUGE.len()), self.long(200_000), self.below(300));
        let filter = json!({"title": {"type": self.pick(OPS), "filter": long}});
        let variables = [json!(long), json!(long), filter, json!("DEEP")];
        let body = json!({"query": HUGE[query], "variables": {"v": variables[query]}});
        let nested = format!("{}\"x\"{}", "[".repeat(depth), "]".repeat(depth));
        let body = body.to_string().replace("\"DEEP\"", &nested);
        let refuse = query == 3 && depth > 64;
        (
            Req::new(Method::POST, "/api/v2/graphql", body.into()),
            1,
            refuse,
        )
    }
    fn mutation(&mut self, t: &'static str) -> Req {
        let upper = format!("{}{}", t[..1].to_uppercase(), &t[1..]);
        (self.budget, self.max_depth, self.fragments) = (20, 1, None);
        let sel = either(self.chance(0.5), "id".into(), self.expand("SEL", t, 0));
        let (mut data, id) = (self.object(t, true), gql_str(&self.id(t)));
        if self.chance(0.3) {
            data["id"] = self.new_id(t);
        }
        let query = match self.below(4) {
            0 | 1 => format!("mutation($d: {t}Input!) {{ create{upper}(data: $d) {{ {sel} }} }}"),
            2 => format!(
                "mutation($d: {t}Input!) {{ update{upper}(id: {id}, data: $d) {{ {sel} }} }}"
            ),
            _ => format!("mutation {{ delete{upper}(id: {id}) }}"),
        };
        let get = Req::get(format!("/api/v2/graphql?{}", encode(&[("query", &query)])));
        let body = json!({"query": query, "variables": {"d": data}});
        either(
            self.chance(0.05),
            get,
            Req::json(Method::POST, "/api/v2/graphql", &body),
        )
    }

    fn params(&mut self, table: Params, query: &mut Vec<(String, String)>) {
        for &(name, p, most, values) in table {
            let n = either(self.chance(p), 1 + self.below(most), 0);
            query.extend((0..n).map(|_| (name.to_owned(), self.pick(values).to_owned())));
        }
    }
    fn rest_read(&mut self) -> Req {
        let (t, mut query) = (self.type_name(), Vec::new());
        let path = match self.below(10) {
            0..5 => {
                self.params(LIST_PARAMS, &mut query);
                let (filters, order) = (self.filters(t, false), self.prop(t, &["id"], false));
                query.extend(
                    [("filters", filters), ("order_by", order)].map(|(k, v)| (k.into(), v)),
                );
                query.truncate(query.len() - self.below(3));
                let n = self.pick(&[1, 1, 1, 1, 1, 1, 1, 10, 1501]);
                let n = self.below(n);
                query.extend((0..n).map(|_| ("ids[]".into(), self.id(t))));
                format!("/api/v1/content/{t}")
            }
            5..7 => {
                return Req::get(format!(
                    "/api/v1/content/{t}/{}?hydrate=2",
                    seg(&self.id(t))
                ));
            }
            _ => {
                let (n, long) = (self.pick(&[5, 5, 5, 5, 101]), self.long(60_000));
                let (q, n) = (
                    self.pick(&["*".into(), "((".into(), String::new(), long]),
                    self.below(n),
                );
                query.push(("q".into(), either(self.chance(0.6), self.words(n), q)));
                self.params(SEARCH_PARAMS, &mut query);
                "/api/v1/search".into()
            }
        };
        Req::get(format!("{path}?{}", encode(&query)))
    }
    fn rest_write(&mut self, t: &'static str) -> Req {
        let (method, suffix, kind) = self.pick(WRITES);
        let path = format!(
            "/api/v1/content/{t}{}",
            suffix.replace("ID", &seg(&self.id(t)))
        );
        let n = either(self.chance(0.05), 101, 1 + self.below(8));
        let mut items: Vec<Value> = (0..n).map(|_| self.object(t, false)).collect();
        for item in &mut items {
            item["id"] = match kind {
                "patches" => json!(self.id(t)),
                _ if method == "POST" && self.chance(0.4) => self.new_id(t),
                _ => continue,
            };
        }
        let body = match kind {
            "one" => items.swap_remove(0),
            "ids" => (0..n).map(|_| self.id(t)).collect(),
            "none" => Value::Null,
            _ => json!(items),
        };
        let mut req = Req::json(method.parse().expect("method"), &path, &body);
        let deep = 1 + self.below(3000);
        match self.below(25) {
            0 => req.media = self.pick(MEDIA),
            1 => {
                req.body =
                    format!(r#"{{"title": {}{}}}"#, "[".repeat(deep), "]".repeat(deep)).into()
            }
            2 => req.body.truncate(deep),
            _ => {}
        }
        req
    }
}

struct Fuzzer {
    app: TestApp,
    keys: Vec<Key>,
    g: Gen,
    rest: usize,
    docs: usize,
    failures: Vec<String>,
    statuses: BTreeMap<u16, usize>,
}

impl Fuzzer {
    fn fail(&mut self, key: usize, req: &Req, problem: String) {
        let body = short(&String::from_utf8_lossy(&req.body));
        let (name, method, path) = (self.keys[key].name, &req.method, short(&req.path));
        let message = format!("{problem}\n  key {name}: {method} {path} {body}");
        eprintln!("FUZZ FAILURE: {message}");
        self.failures.push(message);
    }

    async fn send(&mut self, key: usize, req: &Req) -> (u16, String) {
        assert!(!req.path.contains("MARK") && !req.body.windows(4).any(|w| w == b"MARK"));
        self.rest += usize::from(!req.path.contains("graphql")); // GraphQL counts documents
        let request = self
            .app
            .client
            .request(req.method.clone(), self.app.url(&req.path));
        let mut request = request.header("x-auth-token", &self.keys[key].token);
        if let Some(media) = req.media {
            request = request.header("content-type", media);
        }
        let request = request
            .body(req.body.clone())
            .timeout(Duration::from_secs(60));
        let response = match request.send().await {
            Ok(response) => response,
            Err(err) => panic!("no answer ({err}) to {} {}", req.method, short(&req.path)),
        };
        let status = response.status().as_u16();
        let bytes = response.bytes().await.expect("answer body");
        let text = String::from_utf8_lossy(&bytes).into_owned();
        *self.statuses.entry(status).or_default() += 1;
        self.check(key, req, status, &text);
        (status, text)
    }

    fn check(&mut self, key: usize, req: &Req, status: u16, text: &str) {
        let k = &self.keys[key];
        let mut problems = Vec::new();
        if status >= 500 || text.contains(r#""code":"INTERNAL""#) {
            problems.push("server error".to_owned());
        }
        if text.len() > MAX_ANSWER {
            problems.push(format!("an answer of {} bytes", text.len()));
        }
        let hidden = NAMES
            .iter()
            .filter(|t| !k.can(t, 'r'))
            .flat_map(|t| markers(t));
        let leaks = hidden.filter(|m| text.contains(m.as_str()));
        problems.extend(leaks.map(|m| format!("scope leak: {m}")));
        if let Some(t) = req
            .single_write()
            .filter(|t| status == 200 && !k.can(t, 'r'))
        {
            let answer: Value = serde_json::from_str(text).unwrap_or_default();
            if answer.as_object().is_none_or(|o| o.len() != 1) || !answer["id"].is_string() {
                problems.push(format!("a write to {t} answered more than the id"));
            }
        }
        for problem in problems {
            self.fail(key, req, format!("{problem}: {status} {}", short(text)));
        }
    }

    /// A REST read by a random key and, when it got 200, the same read by rw (sometimes
    /// first, so that an answer kept for rw would be served to the key).
    async fn rest_read(&mut self, key: usize) {
        let req = self.g.rest_read();
        let early = match key != RW && self.g.chance(0.3) {
            true => Some(self.send(RW, &req).await),
            false => None,
        };
        let (status, text) = self.send(key, &req).await;
        if key == RW || status != 200 {
            return;
        }
        let (rw_status, rw_text) = match early {
            Some(answer) => answer,
            None => self.send(RW, &req).await,
        };
        let count =
            |text: &str| serde_json::from_str::<Value>(text).map(|v| v["total_count"].clone());
        let (mine, theirs) = (count(&text).ok(), count(&rw_text).ok());
        let list = req
            .path
            .split('?')
            .next()
            .is_some_and(|p| p.matches('/').count() == 4);
        if rw_status != 200 || (list && mine != theirs) {
            let (mine, answer) = (mine.unwrap_or_default(), short(&rw_text));
            let problem =
                format!("200 with total_count {mine} for the key, rw got {rw_status}: {answer}");
            self.fail(key, &req, problem);
        }
    }

    /// Step `step` of a round: reads, then writes, so that no write falls between a read
    /// and its comparison. Writes mostly go with a key that may write their type.
    async fn step(&mut self, step: usize) {
        let t = self.g.type_name();
        let writers: Vec<usize> = (RW + 1..self.keys.len())
            .filter(|&k| "cud".chars().any(|action| self.keys[k].can(t, action)))
            .chain([RW])
            .collect();
        let writer = self
            .g
            .pick(&writers[..writers.len() - usize::from(writers.len() > 1)]);
        let key = match (step, self.g.below(10)) {
            (22.., 0..6) => writer,
            (22.., 6..8) => RW,
            _ => self.g.below(self.keys.len()),
        };
        match step {
            0..8 if self.rest < MAX_REST => self.rest_read(key).await,
            8..22 if self.docs < MAX_DOCS => {
                let legacy = self.g.chance(0.25);
                let (req, docs, must_refuse) = self.g.graphql(legacy);
                self.docs += docs;
                let (_, text) = self.send(key, &req).await;
                let answer: Value = serde_json::from_str(&text).unwrap_or_default();
                if must_refuse && answer.get("data").is_some_and(|d| !d.is_null()) {
                    let problem = format!("deep variables accepted: {}", short(&text));
                    self.fail(key, &req, problem);
                }
            }
            22..26 if self.rest < MAX_REST => {
                let req = self.g.rest_write(t);
                self.send(key, &req).await;
            }
            26.. if self.docs < MAX_DOCS => {
                let req = self.g.mutation(t);
                self.docs += 1;
                self.send(key, &req).await;
            }
            _ => {}
        }
    }

    /// Each key's SDL declares no object type it may not read.
    async fn check_schemas(&mut self) {
        for (key, path) in (0..self.keys.len()).flat_map(|k| [(k, "/api/v2"), (k, "/api")]) {
            let req = Req::get(format!("{path}/graphql/schema"));
            let (status, sdl) = self.send(key, &req).await;
            let k = &self.keys[key];
            assert_eq!(status, 200, "{path} for {}: {sdl}", k.name);
            let declared = NAMES
                .iter()
                .filter(|t| !k.can(t, 'r') && sdl.contains(&format!("type {t} {{")));
            let problems: Vec<String> = declared
                .map(|t| format!("the SDL declares type {t}"))
                .collect();
            for problem in problems {
                self.fail(key, &req, problem);
            }
        }
    }
}

/// The fuzzer's types and objects, each with a marker of its type.
async fn setup(app: &TestApp) {
    let property = |name, (schema, config)| (name, schema, config);
    let secret = [
        property("code", text_property("Code")),
        property("owner", relation_property("author")),
    ];
    let node = [
        property("label", text_property("Label")),
        property("children", relation_property("node")),
    ];
    let types = [
        definition("secret", &secret, &[]),
        definition("node", &node, &[]),
    ];
    let requests = types.map(|body| ("POST", "/api/v1/internal/contenttype".to_owned(), body));
    let setup = SETUP.iter().map(|(method, path, n, item)| {
        let item = |i: usize| {
            item.replace('#', &i.to_string())
                .replace('%', &(i % 6).to_string())
        };
        let items: Vec<Value> = (0..*n)
            .map(|i| serde_json::from_str(&item(i)).expect("item"))
            .collect();
        (*method, format!("/api/v1/content/{path}"), json!(items))
    });
    for (method, path, body) in requests.into_iter().chain(setup) {
        let method = method.parse().expect("method");
        let (status, answer) = app.call(method, &path, &app.rw, Some(&body)).await;
        assert_eq!(status, 200, "{path}: {answer}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzz_rest_and_graphql_against_the_oracle() {
    let seed = std::env::var("CONTENTGATE_FUZZ_SEED").ok();
    let seed: u64 = seed.and_then(|s| s.parse().ok()).unwrap_or(20_261_201);
    println!("seed {seed}: CONTENTGATE_FUZZ_SEED={seed} cargo test --test fuzz -- --nocapture");
    let (start, app) = (Instant::now(), TestApp::with_demo().await);
    setup(&app).await;
    let mut keys = vec![("ro", app.ro.clone(), None), ("rw", app.rw.clone(), None)];
    for &(name, rules) in USER_KEYS {
        keys.push((name, app.user_key(rules).await, Some(rules)));
    }
    let keys = keys
        .into_iter()
        .map(|(name, token, rules)| Key { name, token, rules })
        .collect();
    let rng = Some(StdRng::seed_from_u64(seed));
    let mut g = Gen {
        rng,
        ..Gen::default()
    };
    for t in NAMES {
        g.ids.insert(t, app.stored_ids(t).await);
    }
    let (failures, statuses) = (Vec::new(), BTreeMap::new());
    let mut f = Fuzzer {
        app,
        keys,
        g,
        rest: 0,
        docs: 0,
        failures,
        statuses,
    };
    f.check_schemas().await;
    let left = |f: &Fuzzer| f.rest < MAX_REST || f.docs < MAX_DOCS;
    while start.elapsed() < TIME_BUDGET && f.failures.len() < 30 && left(&f) {
        for step in 0..28 {
            f.step(step).await;
        }
    }
    assert_eq!(f.send(0, &Req::get("/health".into())).await.0, 200);
    let probe = json!({"query": "{ post { totalCount } }"});
    let (_, text) = f
        .send(0, &Req::json(Method::POST, "/api/v2/graphql", &probe))
        .await;
    let answer: Value = serde_json::from_str(&text).unwrap_or_default();
    assert!(
        answer["data"]["post"]["totalCount"].is_u64(),
        "at the end: {text}"
    );
    let (rest, docs, time) = (f.rest, f.docs, start.elapsed());
    println!("seed {seed}: {rest} REST requests, {docs} GraphQL documents in {time:.1?}");
    println!("statuses: {:?}", f.statuses);
    let (n, failures) = (f.failures.len(), f.failures.join("\n"));
    assert!(n == 0, "{n} failures, seed {seed}:\n{failures}");
}
