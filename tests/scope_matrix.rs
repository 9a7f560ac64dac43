//! One scope matrix over every path: key kind × content type × action × path → the expected
//! outcome, against the real server over HTTP. `ROWS` is the table (action, path, what the
//! key needs on the type, how a refusal looks), `KINDS` what each key kind may do per type,
//! written out; `run_matrix` runs every row for every type of the demo blog. Every answer is
//! also checked not to hold a secret value of a type the key cannot read, every refusal to
//! leave the data unchanged, and every allowed write to have taken effect. A new path is a
//! new `Path` with its rows, its requests in `request` and its answers in the two checks.

mod common;

use common::{TestApp, reference};
use reqwest::Method;
use serde_json::{Value, json};

/// A demo type. `field` of `secret_id` is set to `secret`, a word no other object holds;
/// `text` is what writes change; `from_post` is the property of `post-keys` referencing
/// this type, with the ids it references in order.
struct Ty {
    name: &'static str,
    capital: &'static str,
    text: &'static str,
    secret_id: &'static str,
    field: &'static str,
    secret: &'static str,
    from_post: Option<(&'static str, &'static [&'static str])>,
}

#[rustfmt::skip]
const TYPES: [Ty; 3] = [
    Ty { name: "post", capital: "Post", text: "title", secret_id: "post-keys", field: "body",
         secret: "zqpostsecret", from_post: None },
    Ty { name: "author", capital: "Author", text: "name", secret_id: "author-alan", field: "bio",
         secret: "zqauthorsecret", from_post: Some(("author", &["author-alan"])) },
    Ty { name: "category", capital: "Category", text: "name", secret_id: "category-rust", field: "name",
         secret: "zqcategorysecret", from_post: Some(("categories", &["category-guides", "category-rust"])) },
];

enum Key {
    ReadOnly,
    ReadWrite,
    User(&'static [(&'static str, &'static str)]),
}

/// A key kind and what it may do on post, author and category (letters of `crud`).
struct Kind(&'static str, Key, [&'static str; 3]);

#[rustfmt::skip]
const KINDS: &[Kind] = &[
    Kind("app.ro",                       Key::ReadOnly,                                      ["r", "r", "r"]),
    Kind("app.rw",                       Key::ReadWrite,                                     ["crud", "crud", "crud"]),
    Kind("user{}",                       Key::User(&[]),                                     ["", "", ""]),
    Kind("user{post=c}",                 Key::User(&[("post", "c")]),                        ["c", "", ""]),
    Kind("user{post=r}",                 Key::User(&[("post", "r")]),                        ["r", "", ""]),
    Kind("user{post=u}",                 Key::User(&[("post", "u")]),                        ["u", "", ""]),
    Kind("user{post=d}",                 Key::User(&[("post", "d")]),                        ["d", "", ""]),
    Kind("user{author=crud,category=r}", Key::User(&[("author", "crud"), ("category", "r")]), ["", "crud", "r"]),
    Kind("user{post=crud,author=r}",     Key::User(&[("post", "crud"), ("author", "r")]),    ["crud", "r", ""]),
    Kind("user{post=r,author=cu}",       Key::User(&[("post", "r"), ("author", "cu")]),      ["r", "cu", ""]),
];

/// `InType`: a search restricted to the type. `Relation`, `RelationInList`: `post-keys` with
/// its relation to the type (hydrated, resolved, or in the SDL). `Input`, `WriteAnswer`:
/// `<type>Input` and `<type>WriteResult { id }` in the SDL.
#[rustfmt::skip]
#[derive(Clone, Copy, Debug, PartialEq)]
enum Action {
    List, Get, Create, Put, Patch, Delete, BatchCreate, BatchUpsert, BatchPatch, BatchDelete,
    Removed, Definition, InType, Relation, RelationInList, Input, WriteAnswer,
}

#[rustfmt::skip]
#[derive(Clone, Copy, Debug, PartialEq)]
enum Path { Rest, RestSearch, GraphQl, GraphQlSearch, Legacy, Sdl }

/// `All`/`Any`: every/one of the letters on the type; `WriteOnly`: create or update and
/// not read; `Related`: read on `post` and on the type `post-keys` relates to.
#[derive(Clone, Copy, PartialEq)]
enum Need {
    All(&'static str),
    Any(&'static str),
    WriteOnly,
    Related,
    Never,
}

/// `Forbidden`: `403 {"code":403,"message":"Access denied"}`; `FieldForbidden`: GraphQL's
/// field is `null` with `FORBIDDEN`; `Filtered`: a 200 without the type's objects;
/// `NotInSchema`: the document fails validation; `KeptAsStored`: references as stored;
/// `Absent`: the SDL does not name it.
#[rustfmt::skip]
#[derive(Clone, Copy, PartialEq)]
enum Refusal { Forbidden, FieldForbidden, Filtered, NotInSchema, KeptAsStored, Absent }

#[derive(Clone, Copy)]
struct Row(Action, Path, Need, Refusal);

use Action::*;
use Need::*;
use Path::*;
use Refusal::*;

#[rustfmt::skip]
const ROWS: &[Row] = &[
    //  action          path           allowed with   refused as
    Row(List,           Rest,          All("r"),      Forbidden),
    Row(Get,            Rest,          All("r"),      Forbidden),
    Row(Create,         Rest,          All("c"),      Forbidden),
    Row(Put,            Rest,          All("u"),      Forbidden),
    Row(Patch,          Rest,          All("u"),      Forbidden),
    Row(Delete,         Rest,          All("d"),      Forbidden),
    Row(BatchCreate,    Rest,          All("c"),      Forbidden),
    Row(BatchUpsert,    Rest,          All("cu"),     Forbidden),
    Row(BatchPatch,     Rest,          All("u"),      Forbidden),
    Row(BatchDelete,    Rest,          All("d"),      Forbidden),
    Row(Removed,        Rest,          All("rd"),     Forbidden),
    Row(Definition,     Rest,          Any("crud"),   Forbidden),
    Row(Relation,       Rest,          Related,       KeptAsStored),
    Row(RelationInList, Rest,          Related,       KeptAsStored),
    Row(Get,            RestSearch,    All("r"),      Filtered),
    Row(List,           RestSearch,    All("r"),      Filtered),
    Row(InType,         RestSearch,    All("r"),      Forbidden),
    Row(Relation,       RestSearch,    Related,       KeptAsStored),
    Row(List,           GraphQl,       All("r"),      NotInSchema),
    Row(Get,            GraphQl,       All("r"),      NotInSchema),
    Row(Create,         GraphQl,       All("c"),      NotInSchema),
    Row(Patch,          GraphQl,       All("u"),      NotInSchema),
    Row(Delete,         GraphQl,       All("d"),      NotInSchema),
    Row(Relation,       GraphQl,       Related,       NotInSchema),
    Row(Get,            GraphQlSearch, All("r"),      Filtered),
    Row(List,           GraphQlSearch, All("r"),      Filtered),
    Row(InType,         GraphQlSearch, All("r"),      FieldForbidden),
    Row(List,           Legacy,        All("r"),      NotInSchema),
    Row(Get,            Legacy,        All("r"),      NotInSchema),
    Row(Relation,       Legacy,        Related,       NotInSchema),
    Row(Create,         Legacy,        Never,         NotInSchema),
    Row(Get,            Sdl,           All("r"),      Absent),
    Row(Create,         Sdl,           All("c"),      Absent),
    Row(Patch,          Sdl,           All("u"),      Absent),
    Row(Delete,         Sdl,           All("d"),      Absent),
    Row(Input,          Sdl,           Any("cu"),     Absent),
    Row(WriteAnswer,    Sdl,           WriteOnly,     Absent),
    Row(Relation,       Sdl,           Related,       Absent),
];

/// What a key's SDL shows for an allowed row, and lacks for a refused one: `{t}` is the
/// type, `{T}` its capitalised name, `{answer}` the type a write answers with; `true`: in
/// the legacy SDL. `Relation` is looked for in the `type post` block alone.
#[rustfmt::skip]
const SDL: &[(Action, &str, &str, bool)] = &[
    (Get,         "type {t} {",                                            "type {t} {",       false),
    (Get,         "\t{t}(id: String, field: String",                       "\t{t}(",           false),
    (Get,         "type {t} {",                                            "type {t} {",       true),
    (Get,         "\t{t}List(page: Int",                                   "\t{t}List(",       true),
    (Create,      "\tcreate{T}(data: {t}Input!): {answer}\n",              "create{T}(",       false),
    (Patch,       "\tupdate{T}(id: String!, data: {t}Input!): {answer}\n", "update{T}(",       false),
    (Delete,      "\tdelete{T}(id: String!): Boolean\n",                   "delete{T}(",       false),
    (Input,       "input {t}Input {",                                      "input {t}Input {", false),
    (WriteAnswer, "type {t}WriteResult {\n\tid: String!\n}",               "{t}WriteResult",   false),
    (Relation,    "\n\t{prop}: [{t}]\n",                                   "\t{prop}:",        false),
    (Relation,    "\n\t{prop}: [{t}]\n",                                   "\t{prop}:",        true),
];

struct Ctx {
    app: TestApp,
    key: String,
    kind: &'static Kind,
    /// The key's v2 SDL, its legacy SDL, and the type names introspection shows it.
    sdl: String,
    legacy: String,
    types: Vec<String>,
}

impl Ctx {
    fn can(&self, type_name: &str, letter: char) -> bool {
        let i = TYPES.iter().position(|t| t.name == type_name).unwrap();
        self.kind.2[i].contains(letter)
    }
    fn reads_any(&self) -> bool {
        self.kind.2.concat().contains('r')
    }
    fn writes_any(&self) -> bool {
        self.kind.2.concat().contains(['c', 'u', 'd'])
    }
    fn allowed(&self, need: Need, ty: &Ty) -> bool {
        let has = |l: char| self.can(ty.name, l);
        match need {
            All(letters) => letters.chars().all(has),
            Any(letters) => letters.chars().any(has),
            WriteOnly => (has('c') || has('u')) && !has('r'),
            Related => self.can("post", 'r') && has('r'),
            Never => false,
        }
    }
    /// The GraphQL type a write answers with: the object type, or `<type>WriteResult`.
    fn answer_type(&self, t: &str) -> String {
        let suffix = if self.can(t, 'r') { "" } else { "WriteResult" };
        format!("{t}{suffix}")
    }
    async fn stored(&self, type_name: &str) -> Vec<String> {
        let mut ids = self.app.stored_ids(type_name).await;
        ids.sort();
        ids
    }
    /// The row's SDL entries for the type: (shown if allowed, lacking if refused, SDL).
    fn sdl_texts(&self, action: Action, ty: &Ty) -> Vec<(String, String, &str)> {
        let prop = ty.from_post.map_or("", |(prop, _)| prop);
        let answer = self.answer_type(ty.name);
        let fill = |text: &str| {
            let text = text.replace("{t}", ty.name).replace("{T}", ty.capital);
            text.replace("{answer}", &answer).replace("{prop}", prop)
        };
        let rows = SDL.iter().filter(|(a, ..)| *a == action);
        rows.map(|(_, shown, lacking, legacy)| {
            let sdl = if *legacy { &self.legacy } else { &self.sdl };
            let sdl = if action == Relation {
                post_block(sdl)
            } else {
                sdl
            };
            (fill(shown), fill(lacking), sdl)
        })
        .collect()
    }
}

/// A new object of the type: `{id, <text>}` and a slug where the type has one.
fn fresh_body(ty: &Ty, id: &str, text: &str) -> Value {
    let mut body = json!({ "id": id, ty.text: text });
    if ty.name != "author" {
        body["slug"] = json!(id);
    }
    body
}

/// A JSON object of strings as a GraphQL input literal.
fn literal(body: &Value) -> String {
    let object = body.as_object().unwrap().iter();
    let fields: Vec<String> = object.map(|(k, v)| format!("{k}: {v}")).collect();
    format!("{{ {} }}", fields.join(", "))
}

const V2: &str = "/api/v2/graphql";
const LEGACY: &str = "/api/graphql";

/// The row's request for the type (GraphQL: the endpoint and the document); `id` is the
/// fresh object the row writes.
fn request(action: Action, path: Path, ty: &Ty, id: &str) -> (Method, String, Option<Value>) {
    let (t, cap, field, secret_id) = (ty.name, ty.capital, ty.field, ty.secret_id);
    let content = format!("/api/v1/content/{t}");
    let one = format!("{content}/{id}");
    let new = fresh_body(ty, id, &format!("new {id}"));
    let mut changed = fresh_body(ty, id, &format!("changed {id}"));
    let edit = json!({ ty.text: format!("changed {id}") });
    let prop = ty.from_post.map_or("", |(prop, _)| prop);
    let search = "/api/v1/search?limit=1000&q=";
    let get = |path: String| (Method::GET, path, None);
    let post = |path: String, body: Value| (Method::POST, path, Some(body));
    let graphql =
        |endpoint: &str, query: String| post(endpoint.to_owned(), json!({ "query": query }));
    let query = match (action, path) {
        (List, Rest) => return get(format!("{content}?limit=1000")),
        (Get, Rest) => return get(format!("{content}/{secret_id}")),
        (Create, Rest) => return post(content, new),
        (Put, Rest) => {
            changed.as_object_mut().unwrap().remove("id");
            return (Method::PUT, one, Some(changed));
        }
        (Patch, Rest) => return (Method::PATCH, one, Some(edit)),
        (Delete, Rest) => return (Method::DELETE, one, None),
        (BatchCreate, Rest) => return post(content + "/batch", json!([new])),
        (BatchUpsert, Rest) => {
            return post(content + "/batch?updateExisting=true", json!([changed]));
        }
        (BatchPatch, Rest) => {
            let edit = json!([{ "id": id, ty.text: format!("changed {id}") }]);
            return (Method::PATCH, content + "/batch", Some(edit));
        }
        (BatchDelete, Rest) => return post(content + "/batch-delete", json!([id])),
        (Removed, Rest) => return get(content + "/removed"),
        (Definition, Rest) => return get(format!("/api/v1/internal/contenttype/{t}")),
        (Relation, Rest) => return get("/api/v1/content/post/post-keys?hydrate=1".into()),
        (RelationInList, Rest) => return get("/api/v1/content/post?hydrate=1&limit=1000".into()),
        (Get, RestSearch) => return get(format!("{search}{}", ty.secret)),
        (List, RestSearch) => return get(format!("{search}*")),
        (InType, RestSearch) => return get(format!("{search}*&content_type[]={t}")),
        (Relation, RestSearch) => return get(format!("{search}{}&hydrate=1", TYPES[0].secret)),
        (List, GraphQl) => {
            format!("{{ {t}(first: 1000) {{ totalCount edges {{ node {{ id }} }} }} }}")
        }
        (Get, GraphQl) => {
            format!(r#"{{ {t}(id: "{secret_id}") {{ edges {{ node {{ id {field} }} }} }} }}"#)
        }
        (Create, GraphQl | Legacy) => {
            let data = literal(&new);
            format!("mutation {{ create{cap}(data: {data}) {{ __typename id }} }}")
        }
        (Patch, GraphQl) => {
            let data = literal(&edit);
            format!(r#"mutation {{ update{cap}(id: "{id}", data: {data}) {{ __typename id }} }}"#)
        }
        (Delete, GraphQl) => format!(r#"mutation {{ delete{cap}(id: "{id}") }}"#),
        (Relation, GraphQl) => {
            let node = format!("node {{ id {prop} {{ id {field} }} }}");
            format!(r#"{{ post(id: "post-keys") {{ edges {{ {node} }} }} }}"#)
        }
        (Get | List | InType, GraphQlSearch) => {
            let args = match action {
                Get => format!(r#"q: "{}", first: 10"#, ty.secret),
                List => r#"q: "*", first: 1000"#.to_owned(),
                _ => format!(r#"q: "*", content_type: ["{t}"], first: 1000"#),
            };
            format!("{{ search({args}) {{ totalCount edges {{ node {{ __typename }} }} }} }}")
        }
        (List, Legacy) => format!("{{ {t}List(limit: 1000) {{ id }} }}"),
        (Get, Legacy) => format!(r#"{{ {t}(id: "{secret_id}") {{ id {field} }} }}"#),
        (Relation, Legacy) => {
            format!(r#"{{ post(id: "post-keys") {{ id {prop} {{ id {field} }} }} }}"#)
        }
        other => panic!("no request for {other:?}"),
    };
    graphql(if path == Legacy { LEGACY } else { V2 }, query)
}

fn items(value: &Value) -> Vec<Value> {
    value.as_array().cloned().unwrap_or_default()
}

fn sorted_ids(objects: &[Value]) -> Vec<String> {
    let ids = objects.iter().map(|o| o["id"].as_str().unwrap_or("?"));
    let mut ids: Vec<String> = ids.map(str::to_owned).collect();
    ids.sort();
    ids
}

/// A search answer's total.
fn total(path: Path, body: &Value) -> &Value {
    match path {
        RestSearch => &body["total_count"],
        _ => &body["data"]["search"]["totalCount"],
    }
}

/// A search answer's hits, each as `(type, object)`.
fn hits(path: Path, body: &Value) -> Vec<(String, Value)> {
    let (list, object, kind) = match path {
        RestSearch => (&body["data"], "/item", "/item/internal/contentType"),
        _ => (
            &body["data"]["search"]["edges"],
            "/node",
            "/node/__typename",
        ),
    };
    let typed = |hit: &Value| {
        let kind = hit.pointer(kind).and_then(Value::as_str).unwrap_or("?");
        (
            kind.to_owned(),
            hit.pointer(object).cloned().unwrap_or_default(),
        )
    };
    items(list).iter().map(typed).collect()
}

/// The hits of one type.
fn hits_of(path: Path, body: &Value, t: &str) -> Vec<Value> {
    let hits = hits(path, body).into_iter().filter(|(c, _)| c == t);
    hits.map(|(_, o)| o).collect()
}

/// The object `post-keys` in an answer (one object, a list, search hits, GraphQL).
fn post_keys(action: Action, path: Path, body: &Value) -> Value {
    let list = match (action, path) {
        (Relation, Rest) => vec![body.clone()],
        (RelationInList, Rest) => items(&body["data"]),
        (Relation, RestSearch) => hits_of(path, body, "post"),
        (Relation, GraphQl) => vec![body["data"]["post"]["edges"][0]["node"].clone()],
        _ => vec![body["data"]["post"].clone()],
    };
    let found = list.into_iter().find(|o| o["id"] == "post-keys");
    found.unwrap_or_default()
}

/// The `type post { ... }` block of an SDL ("" if absent).
fn post_block(sdl: &str) -> &str {
    let (_, rest) = sdl.split_once("type post {").unwrap_or_default();
    rest.split_once('}').map_or("", |(block, _)| block)
}

/// Assertions that name the row and show the answer.
struct Check<'a>(&'a str, &'a str);

impl Check<'_> {
    #[track_caller]
    fn eq<T: PartialEq + std::fmt::Debug + ?Sized>(&self, what: &str, got: &T, want: &T) {
        let detail = format!("got {got:?}, expected {want:?}");
        self.yes(what, got == want, &detail);
    }
    #[track_caller]
    fn yes(&self, what: &str, ok: bool, detail: &str) {
        let answer: String = self.1.chars().take(4000).collect();
        assert!(ok, "{}: {what} {detail}\n    answer: {answer}", self.0);
    }
}

/// The status, the JSON body (`Null` if none) and the text of an answer.
type Answer = (u16, Value, String);

async fn check_allowed(ctx: &Ctx, row: &Row, ty: &Ty, id: &str, a: &Answer, c: &Check<'_>) {
    let (Row(action, path, ..), (status, body, _)) = (row, a);
    let (t, stored, field) = (ty.name, ctx.stored(ty.name).await, gql_field(ctx, row, ty));
    c.eq("status (should be allowed)", status, &200);
    if matches!(path, GraphQl | GraphQlSearch | Legacy) {
        c.yes("should be allowed", body.get("errors").is_none(), "");
    }
    let count = json!(stored.len());
    let (new, changed) = (json!(format!("new {id}")), json!(format!("changed {id}")));
    let write_answer = |answer: &Value, text: &Value| {
        if ctx.can(t, 'r') {
            let written = (&answer["id"], &answer[ty.text]);
            c.eq("the stored object", &written, &(&json!(id), text));
            c.yes("the stored object", answer["internal"].is_object(), "");
        } else {
            c.eq("the id alone", answer, &json!({ "id": id }));
        }
    };
    let batch_of_one = json!({"batch_total_count": 1, "batch_success_count": 1,
        "batch_error_count": 0, "errors": []});
    let deleted = json!({"code": 200, "message": "Deleted", "id": id});
    let secret = json!(ty.secret);
    match (*action, *path) {
        (List, Rest) => {
            c.eq("total_count", &body["total_count"], &count);
            c.eq("ids", &sorted_ids(&items(&body["data"])), &stored);
        }
        (Get, Rest) => c.eq("secret", &body[ty.field], &secret),
        (Create, Rest) => write_answer(body, &new),
        (Put | Patch, Rest) => write_answer(body, &changed),
        (Delete, Rest) => c.eq("", body, &deleted),
        (BatchCreate | BatchUpsert | BatchPatch, Rest) => c.eq("", body, &batch_of_one),
        (BatchDelete, Rest) => c.eq("", body, &json!({"deletedCount": 1})),
        (Removed, Rest) => c.yes("removed", items(body).contains(&json!(id)), id),
        (Definition, Rest) => c.eq("name", &body["name"], &json!(t)),
        (Relation | RelationInList, Rest | RestSearch | GraphQl | Legacy) => {
            let (prop, refs) = ty.from_post.unwrap();
            let related = items(&post_keys(*action, *path, body)[prop]);
            let ids: Vec<&Value> = related.iter().map(|o| &o["id"]).collect();
            c.eq(&format!("{prop} of post-keys"), &json!(ids), &json!(refs));
            let holder = related.iter().find(|o| o["id"] == ty.secret_id);
            c.eq("secret", &holder.map(|o| &o[ty.field]), &Some(&secret));
            for object in related.iter().filter(|_| matches!(path, Rest | RestSearch)) {
                let kind = &object["internal"]["contentType"];
                c.eq("hydrated type", kind, &json!(t));
            }
        }
        (Get, RestSearch | GraphQlSearch) => {
            c.eq("total", total(*path, body), &json!(1));
            c.eq("hits", &hits(*path, body).len(), &1);
            c.eq("hits of the type", &hits_of(*path, body, t).len(), &1);
        }
        (List | InType, RestSearch | GraphQlSearch) => {
            let of_type = hits_of(*path, body, t);
            c.eq("hits of the type", &of_type.len(), &stored.len());
            if *path == RestSearch {
                c.eq("ids of the type", &sorted_ids(&of_type), &stored);
            }
            if *action == InType {
                c.eq("hits", &hits(*path, body).len(), &stored.len());
                c.eq("total", total(*path, body), &count);
            }
        }
        (List, GraphQl) => {
            let connection = &body["data"][t];
            c.eq("totalCount", &connection["totalCount"], &count);
            let edges = items(&connection["edges"]);
            let nodes: Vec<Value> = edges.iter().map(|e| e["node"].clone()).collect();
            c.eq("ids", &sorted_ids(&nodes), &stored);
        }
        (Get, GraphQl) => {
            let node = &body["data"][t]["edges"][0]["node"];
            c.eq("secret", &node[ty.field], &secret);
        }
        (Create | Patch, GraphQl) => {
            let expected = json!({"__typename": ctx.answer_type(t), "id": id});
            c.eq("write answer", &body["data"][&field], &expected);
        }
        (Delete, GraphQl) => c.eq("deleted", &body["data"][&field], &json!(true)),
        (List, Legacy) => c.eq("ids", &sorted_ids(&items(&body["data"][&field])), &stored),
        (Get, Legacy) => c.eq("secret", &body["data"][t][ty.field], &secret),
        (_, Sdl) => {
            for (shown, _, sdl) in ctx.sdl_texts(*action, ty) {
                c.yes("shown in the SDL", sdl.contains(&shown), &shown);
            }
            if *action == Get {
                c.yes("introspection", ctx.types.iter().any(|n| n == t), t);
            }
        }
        other => panic!("no check for {other:?}"),
    }
    // The write took effect.
    let exists = ctx.stored(t).await.contains(&id.to_owned());
    match (*action, *path) {
        (_, Sdl) => {}
        (Create | BatchCreate, _) => c.yes("created", exists, id),
        (Delete | BatchDelete, _) => c.yes("deleted", !exists, id),
        (Put | Patch | BatchUpsert | BatchPatch, Rest) | (Patch, GraphQl) => {
            let path = format!("/api/v1/content/{t}/{id}");
            let (_, now) = ctx.app.get(&path, &ctx.app.ro).await;
            c.eq("changed", &now[ty.text], &changed);
        }
        _ => {}
    }
}

/// The GraphQL field a row asks for (the root field, or the relation of `post`).
fn gql_field(ctx: &Ctx, row: &Row, ty: &Ty) -> String {
    let (t, cap) = (ty.name, ty.capital);
    match (row.0, row.1) {
        (_, GraphQlSearch) => "search".to_owned(),
        (Relation, _) if !ctx.can("post", 'r') => "post".to_owned(),
        (Relation, _) => ty.from_post.map_or("", |(prop, _)| prop).to_owned(),
        (List, Legacy) => format!("{t}List"),
        (Create, _) => format!("create{cap}"),
        (Patch, _) => format!("update{cap}"),
        (Delete, _) => format!("delete{cap}"),
        _ => t.to_owned(),
    }
}

/// How the row is refused for this key: a relation whose source (`post`) the key cannot
/// read is refused as reading `post` is; a schema without readable types has no `search`.
fn refusal_form(ctx: &Ctx, row: &Row) -> Refusal {
    let Row(_, path, need, refused) = *row;
    let source_hidden = need == Related && !ctx.can("post", 'r');
    match path {
        Rest if source_hidden => Forbidden,
        RestSearch if source_hidden => Filtered,
        GraphQl | Legacy if source_hidden => NotInSchema,
        GraphQlSearch if !ctx.reads_any() => NotInSchema,
        _ => refused,
    }
}

fn check_refused(ctx: &Ctx, row: &Row, ty: &Ty, a: &Answer, c: &Check<'_>) {
    let (Row(action, path, ..), (status, body, _)) = (row, a);
    let (t, errors) = (ty.name, items(&body["errors"]));
    let form = refusal_form(ctx, row);
    if form != Forbidden && form != Absent {
        c.eq("status", status, &200);
    }
    match form {
        Forbidden => {
            let denied = json!({"code": 403, "message": "Access denied"});
            c.eq("should be refused", &(*status, body), &(403, &denied));
        }
        FieldForbidden => {
            c.eq("search", &body["data"]["search"], &Value::Null);
            let codes: Vec<&Value> = errors.iter().map(|e| &e["extensions"]["code"]).collect();
            c.eq("error codes", &codes, &vec![&json!("FORBIDDEN")]);
        }
        Filtered => {
            let subject = if *action == Relation { "post" } else { t };
            c.eq("hits of the type", &hits_of(*path, body, subject).len(), &0);
            if *action != List {
                c.eq("total", total(*path, body), &json!(0));
            }
        }
        NotInSchema => {
            c.eq("data", &body["data"], &Value::Null);
            // Legacy GraphQL has no mutations; v2 has them for a key that may write anything.
            let mutation = matches!(action, Create | Patch | Delete);
            let expected = match mutation && (*path == Legacy || !ctx.writes_any()) {
                true => "Schema is not configured for mutations.".to_owned(),
                false => format!("Unknown field \"{}\"", gql_field(ctx, row, ty)),
            };
            let says = |e: &Value| e["message"].as_str().unwrap_or("").contains(&expected);
            c.yes("validation error", errors.iter().any(says), &expected);
        }
        KeptAsStored => {
            let (prop, refs) = ty.from_post.unwrap();
            let stored: Vec<Value> = refs.iter().map(|id| reference(t, id)).collect();
            let post = post_keys(*action, *path, body);
            c.eq("references as stored", &post[prop], &json!(stored));
        }
        Absent => {
            for (_, lacking, sdl) in ctx.sdl_texts(*action, ty) {
                c.yes("absent from the SDL", !sdl.contains(&lacking), &lacking);
            }
            if *action == Get {
                c.yes("introspection", !ctx.types.iter().any(|n| n == t), t);
            }
        }
    }
}

async fn setup(kind: &'static Kind) -> Ctx {
    let app = TestApp::with_demo().await;
    for ty in &TYPES {
        let path = format!("/api/v1/content/{}/{}", ty.name, ty.secret_id);
        let body = json!({ ty.field: ty.secret });
        assert_eq!(app.patch(&path, &app.rw, &body).await.0, 200, "{path}");
    }
    let key = match kind.1 {
        Key::ReadOnly => app.ro.clone(),
        Key::ReadWrite => app.rw.clone(),
        Key::User(rules) => app.user_key(rules).await,
    };
    let text = |path: &'static str| {
        let request = app.client.get(app.url(path)).header("x-auth-token", &key);
        async move { request.send().await.unwrap().text().await.unwrap() }
    };
    let sdl = text("/api/v2/graphql/schema").await;
    let legacy = text("/api/graphql/schema").await;
    let query = json!({"query": "{ __schema { types { name } } }"});
    let (status, body) = app.post(V2, &key, &query).await;
    assert_eq!(status, 200, "{}: introspection {body}", kind.0);
    let names = items(&body["data"]["__schema"]["types"]);
    let types = names.iter().filter_map(|t| t["name"].as_str());
    let types = types.map(str::to_owned).collect();
    Ctx {
        app,
        key,
        kind,
        sdl,
        legacy,
        types,
    }
}

async fn run_matrix(label: &str) {
    let kind = KINDS.iter().find(|k| k.0 == label).unwrap();
    let ctx = setup(kind).await;
    let mut n = 0;
    for ty in &TYPES {
        for row in ROWS {
            n += 1;
            let at = format!("[{label} | {} | {:?} | {:?}]", ty.name, row.0, row.1);
            run_row(&ctx, row, ty, n, &at).await;
        }
    }
}

/// Runs one row for one type; `n` numbers the object the row writes.
async fn run_row(ctx: &Ctx, row: &Row, ty: &Ty, n: usize, at: &str) {
    let (Row(action, path, need, _), app, rw) = (*row, &ctx.app, &ctx.app.rw);
    if need == Related && ty.from_post.is_none() {
        return; // post does not relate to itself
    }
    // The object the row writes: new, or made (and for `Removed` deleted) beforehand.
    let id = format!("{}-m{n}", ty.name);
    let content = format!("/api/v1/content/{}", ty.name);
    let existing = [
        Put,
        Patch,
        Delete,
        BatchUpsert,
        BatchPatch,
        BatchDelete,
        Removed,
    ];
    if existing.contains(&action) && path != Sdl {
        let (status, _) = app.post(&content, rw, &fresh_body(ty, &id, "fresh")).await;
        assert_eq!(status, 200, "{at}: fresh object");
    }
    if action == Removed {
        let one = format!("{content}/{id}");
        assert_eq!(app.delete(&one, rw).await.0, 200, "{at}: deleting it");
    }
    let before = app.snapshot().await;
    let answer: Answer = if path == Sdl {
        let both = format!("{}\n{}", ctx.sdl, ctx.legacy);
        (200, json!(ctx.types), both)
    } else {
        let (method, path, body) = request(action, path, ty, &id);
        let (status, body) = app.call(method, &path, &ctx.key, body.as_ref()).await;
        let text = body.to_string();
        (status, body, text)
    };
    let check = Check(at, &answer.2);
    for hidden in TYPES.iter().filter(|h| !ctx.can(h.name, 'r')) {
        let leak = format!("LEAK of {}.{}", hidden.name, hidden.field);
        check.yes(&leak, !answer.2.contains(hidden.secret), "");
    }
    if ctx.allowed(need, ty) {
        check_allowed(ctx, row, ty, &id, &answer, &check).await;
    } else {
        check_refused(ctx, row, ty, &answer, &check);
        let unchanged = app.snapshot().await == before;
        check.yes("refused, yet the data changed", unchanged, "");
    }
    // Search totals count the readable objects of every type, whatever the row's type.
    if action == List && matches!(path, RestSearch | GraphQlSearch) && ctx.reads_any() {
        let mut readable = 0;
        for other in TYPES.iter().filter(|o| ctx.can(o.name, 'r')) {
            readable += ctx.stored(other.name).await.len();
        }
        let (body, want) = (&answer.1, json!(readable));
        check.eq("total of readable types", total(path, body), &want);
        check.eq("hits of readable types", &hits(path, body).len(), &readable);
    }
}

macro_rules! matrix_tests {
    ($($test:ident: $label:literal,)*) => {
        $(
            #[tokio::test]
            async fn $test() {
                run_matrix($label).await;
            }
        )*
        #[test]
        fn every_key_kind_has_a_test() {
            let tested = [$($label),*];
            for kind in KINDS {
                assert!(tested.contains(&kind.0), "{} has no test", kind.0);
            }
        }
    };
}

matrix_tests! {
    read_only_application_key: "app.ro",
    read_write_application_key: "app.rw",
    user_key_without_rules: "user{}",
    user_key_create_only: "user{post=c}",
    user_key_read_only: "user{post=r}",
    user_key_update_only: "user{post=u}",
    user_key_delete_only: "user{post=d}",
    user_key_on_other_types_only: "user{author=crud,category=r}",
    user_key_on_several_types: "user{post=crud,author=r}",
    user_key_reading_posts_writing_authors: "user{post=r,author=cu}",
}
