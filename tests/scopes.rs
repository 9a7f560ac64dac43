//! The scope matrix: every key kind × every REST endpoint → the expected status, with
//! the database unchanged after each refusal; plus authentication failures and account
//! isolation.

mod common;

use common::{TestApp, definition};
use contentgate::accounts;
use reqwest::Method;
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug)]
enum Need {
    Authenticated,
    SeeType,
    Admin,
    Read,
    Create,
    Update,
    Delete,
    ReadAndDelete,
    CreateAndUpdate,
}

struct Endpoint {
    method: Method,
    path: &'static str,
    body: Option<&'static str>,
    need: Need,
}

/// `{id}` is a fresh post and `{n}` a fresh number, made before each request.
const ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        method: Method::GET,
        path: "/api/v1/internal/contenttype",
        body: None,
        need: Need::Authenticated,
    },
    Endpoint {
        method: Method::GET,
        path: "/api/v1/internal/contenttype/post",
        body: None,
        need: Need::SeeType,
    },
    Endpoint {
        method: Method::POST,
        path: "/api/v1/internal/contenttype",
        body: Some("new-type"),
        need: Need::Admin,
    },
    Endpoint {
        method: Method::PUT,
        path: "/api/v1/internal/contenttype/post",
        body: Some("post-type"),
        need: Need::Admin,
    },
    Endpoint {
        method: Method::DELETE,
        path: "/api/v1/internal/contenttype/empty{n}",
        body: None,
        need: Need::Admin,
    },
    Endpoint {
        method: Method::GET,
        path: "/api/v1/content/post",
        body: None,
        need: Need::Read,
    },
    Endpoint {
        method: Method::GET,
        path: "/api/v1/content/post/{id}",
        body: None,
        need: Need::Read,
    },
    Endpoint {
        method: Method::POST,
        path: "/api/v1/content/post",
        body: Some("post"),
        need: Need::Create,
    },
    Endpoint {
        method: Method::PUT,
        path: "/api/v1/content/post/{id}",
        body: Some("post"),
        need: Need::Update,
    },
    Endpoint {
        method: Method::PATCH,
        path: "/api/v1/content/post/{id}",
        body: Some("patch"),
        need: Need::Update,
    },
    Endpoint {
        method: Method::DELETE,
        path: "/api/v1/content/post/{id}",
        body: None,
        need: Need::Delete,
    },
    Endpoint {
        method: Method::POST,
        path: "/api/v1/content/post/batch",
        body: Some("batch"),
        need: Need::Create,
    },
    Endpoint {
        method: Method::POST,
        path: "/api/v1/content/post/batch?updateExisting=true",
        body: Some("upsert"),
        need: Need::CreateAndUpdate,
    },
    Endpoint {
        method: Method::PATCH,
        path: "/api/v1/content/post/batch",
        body: Some("batch-patch"),
        need: Need::Update,
    },
    Endpoint {
        method: Method::POST,
        path: "/api/v1/content/post/batch-delete",
        body: Some("ids"),
        need: Need::Delete,
    },
    Endpoint {
        method: Method::GET,
        path: "/api/v1/content/post/removed",
        body: None,
        need: Need::ReadAndDelete,
    },
];

/// A key kind of the matrix: application key, or user key with rules.
#[derive(Clone, Copy)]
enum Kind {
    ReadOnly,
    ReadWrite,
    User(&'static [(&'static str, &'static str)]),
}

fn allowed(kind: Kind, need: Need) -> bool {
    let letters = |kind: Kind| match kind {
        Kind::User(rules) => rules
            .iter()
            .find(|(t, _)| *t == "post")
            .map_or("", |(_, l)| *l),
        Kind::ReadOnly => "r",
        Kind::ReadWrite => "crud",
    };
    let has = |c: char| letters(kind).contains(c);
    match need {
        Need::Authenticated => true,
        Need::SeeType => !letters(kind).is_empty(),
        Need::Admin => matches!(kind, Kind::ReadWrite),
        Need::Read => has('r'),
        Need::Create => has('c'),
        Need::Update => has('u'),
        Need::Delete => has('d'),
        Need::ReadAndDelete => has('r') && has('d'),
        Need::CreateAndUpdate => has('c') && has('u'),
    }
}

/// A content type with a single text property `title`.
fn one_text_type(name: &str) -> Value {
    let (schema, config) = common::text_property("T");
    definition(name, &[("title", schema, config)], &[])
}

fn body_for(name: &str, id: &str, n: usize) -> Value {
    match name {
        "new-type" => one_text_type(&format!("fresh{}", letters_of(n))),
        "post-type" => serde_json::from_str(contentgate::demo::DEFINITIONS[2]).unwrap(),
        "post" => json!({"title": format!("Post {n}"), "slug": format!("post-{n}")}),
        "patch" => json!({"rating": n}),
        "batch" => json!([{"title": format!("Batch {n}"), "slug": format!("batch-{n}")}]),
        "upsert" => {
            json!([{"id": id, "title": format!("Upsert {n}"), "slug": format!("upsert-{n}")}])
        }
        "batch-patch" => json!([{"id": id, "rating": n}]),
        "ids" => json!([id]),
        other => panic!("unknown body {other}"),
    }
}

/// Type names allow only letters and `_`.
fn letters_of(n: usize) -> String {
    n.to_string()
        .chars()
        .map(|d| (b'a' + d.to_digit(10).unwrap() as u8) as char)
        .collect()
}

async fn run_matrix(kind: Kind, label: &str) {
    let app = TestApp::with_demo().await;
    let key = match kind {
        Kind::ReadOnly => app.ro.clone(),
        Kind::ReadWrite => app.rw.clone(),
        Kind::User(rules) => app.user_key(rules).await,
    };
    check_schema(&app, kind, &key, label).await;
    for (n, endpoint) in ENDPOINTS.iter().enumerate() {
        // A fresh, unreferenced post and an empty type for this request, made with the
        // read-write key before the snapshot.
        let id = format!("fresh-{n}");
        let (status, _) = app
            .post(
                "/api/v1/content/post",
                &app.rw,
                &json!({"id": id, "title": "Fresh", "slug": format!("fresh-{n}")}),
            )
            .await;
        assert_eq!(status, 200);
        let empty = one_text_type(&format!("empty{}", letters_of(n)));
        assert_eq!(
            app.post("/api/v1/internal/contenttype", &app.rw, &empty)
                .await
                .0,
            200
        );
        let path = endpoint
            .path
            .replace("{id}", &id)
            .replace("{n}", &letters_of(n));
        let body = endpoint.body.map(|name| body_for(name, &id, n));
        let before = app.snapshot().await;
        let (status, response) = app
            .call(endpoint.method.clone(), &path, &key, body.as_ref())
            .await;
        if allowed(kind, endpoint.need) {
            assert_eq!(
                status, 200,
                "{label}: {} {path} should be allowed: {response}",
                endpoint.method
            );
            check_write_answer(kind, endpoint, &response, label);
        } else {
            assert_eq!(
                (status, &response),
                (403, &json!({"code": 403, "message": "Access denied"})),
                "{label}: {} {path} should be refused",
                endpoint.method
            );
            assert_eq!(
                app.snapshot().await,
                before,
                "{label}: {} {path} changed data although refused",
                endpoint.method
            );
        }
    }
}

/// A write answers with the stored object only to a key that may read it; to any
/// other key with the id alone (batches with their counts).
fn check_write_answer(kind: Kind, endpoint: &Endpoint, response: &Value, label: &str) {
    let is_write = matches!(endpoint.method, Method::POST | Method::PUT | Method::PATCH);
    if !is_write || endpoint.path.contains("contenttype") || endpoint.path.contains("batch") {
        if endpoint.path.contains("/batch") && endpoint.method != Method::GET {
            let keys: Vec<&String> = response.as_object().unwrap().keys().collect();
            assert!(
                keys.iter()
                    .all(|k| k.starts_with("batch_") || *k == "errors" || *k == "deletedCount"),
                "{label}: {} {}: {response}",
                endpoint.method,
                endpoint.path
            );
        }
        return;
    }
    if allowed(kind, Need::Read) {
        assert!(response.get("internal").is_some(), "{label}: {response}");
    } else {
        let id = response["id"].as_str().expect("an id");
        assert_eq!(
            response,
            &json!({ "id": id }),
            "{label}: {} {}",
            endpoint.method,
            endpoint.path
        );
    }
}

async fn sdl_of(app: &TestApp, path: &str, key: &str) -> String {
    let response = app
        .client
        .get(app.url(path))
        .header("x-auth-token", key)
        .send()
        .await
        .unwrap();
    response.text().await.unwrap()
}

/// The key's GraphQL schema shows exactly what the matrix allows it.
async fn check_schema(app: &TestApp, kind: Kind, key: &str, label: &str) {
    let sdl = sdl_of(app, "/api/v2/graphql/schema", key).await;
    let legacy = sdl_of(app, "/api/graphql/schema", key).await;
    let (read, create, update, delete) = (
        allowed(kind, Need::Read),
        allowed(kind, Need::Create),
        allowed(kind, Need::Update),
        allowed(kind, Need::Delete),
    );
    for (shown, text) in [
        (read, "type post {"),
        (read, "post(id: String, field"),
        (create, "createPost("),
        (update, "updatePost("),
        (delete, "deletePost("),
        (create || update, "input postInput {"),
        ((create || update) && !read, "type postWriteResult {"),
    ] {
        assert_eq!(sdl.contains(text), shown, "{label}: {text} in\n{sdl}");
    }
    assert_eq!(legacy.contains("type post {"), read, "{label}: legacy");
    assert_eq!(legacy.contains("postList("), read, "{label}: legacy");
}

#[tokio::test]
async fn matrix_read_only_key() {
    run_matrix(Kind::ReadOnly, "read-only").await;
}
#[tokio::test]
async fn matrix_read_write_key() {
    run_matrix(Kind::ReadWrite, "read-write").await;
}
#[tokio::test]
async fn matrix_user_key_create_only() {
    run_matrix(Kind::User(&[("post", "c")]), "user c").await;
}
#[tokio::test]
async fn matrix_user_key_read_only() {
    run_matrix(Kind::User(&[("post", "r")]), "user r").await;
}
#[tokio::test]
async fn matrix_user_key_update_only() {
    run_matrix(Kind::User(&[("post", "u")]), "user u").await;
}
#[tokio::test]
async fn matrix_user_key_delete_only() {
    run_matrix(Kind::User(&[("post", "d")]), "user d").await;
}
#[tokio::test]
async fn matrix_user_key_without_rules() {
    run_matrix(Kind::User(&[]), "user without rules").await;
}
#[tokio::test]
async fn matrix_user_key_on_other_types_only() {
    run_matrix(
        Kind::User(&[("author", "crud"), ("category", "r")]),
        "user on other types",
    )
    .await;
}
#[tokio::test]
async fn matrix_user_key_with_several_types() {
    run_matrix(
        Kind::User(&[("post", "crud"), ("author", "r")]),
        "user on several types",
    )
    .await;
}

#[tokio::test]
async fn user_keys_see_only_the_definitions_their_rules_name() {
    let app = TestApp::with_demo().await;
    let names = |body: &Value| {
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["name"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let several = app.user_key(&[("post", "r"), ("author", "c")]).await;
    let (_, body) = app.get("/api/v1/internal/contenttype", &several).await;
    assert_eq!(
        (names(&body), body["total_count"].as_u64()),
        (vec!["author".to_owned(), "post".to_owned()], Some(2))
    );
    let none = app.user_key(&[]).await;
    let (status, body) = app.get("/api/v1/internal/contenttype", &none).await;
    assert_eq!((status, body["total_count"].as_u64()), (200, Some(0)));
    assert_eq!(
        app.get("/api/v1/internal/contenttype/category", &several)
            .await
            .0,
        403
    );
}

#[tokio::test]
async fn every_authentication_failure_gets_the_same_401() {
    let app = TestApp::with_demo().await;
    let unauthorized = (401, json!({"code": 401, "message": "Unauthorized"}));
    let user = app.user_key(&[("post", "r")]).await;
    let listed = app.keys.list(&app.account_id).await.unwrap();
    let user_id = listed.iter().find(|k| k.kind == "user").unwrap().id.clone();
    let unknown = contentgate::auth::ApiToken::generate().expose().to_owned();
    let mut typo = app.ro.clone().into_bytes();
    typo[5] = if typo[5] == b'x' { b'y' } else { b'x' };
    let typo = String::from_utf8(typo).unwrap();
    for key in ["", "garbage", unknown.as_str(), typo.as_str()] {
        assert_eq!(
            app.get("/api/v1/content/post", key).await,
            unauthorized,
            "key {key:?}"
        );
    }
    // The header name is case-insensitive, and the query parameter works too.
    let response = app
        .client
        .get(app.url("/api/v1/content/post"))
        .header("X-Auth-Token", &app.ro)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        app.get(&format!("/api/v1/content/post?auth_token={}", app.ro), "")
            .await
            .0,
        200
    );
    // Header and query disagreeing is refused; agreeing is fine.
    assert_eq!(
        app.get(
            &format!("/api/v1/content/post?auth_token={}", app.rw),
            &app.ro
        )
        .await,
        unauthorized
    );
    assert_eq!(
        app.get(
            &format!("/api/v1/content/post?auth_token={}", app.ro),
            &app.ro
        )
        .await
        .0,
        200
    );

    // Regenerated and deleted keys stop working on the next request.
    assert_eq!(app.get("/api/v1/content/post", &user).await.0, 200);
    let fresh = app
        .keys
        .regenerate(
            &contentgate::audit::Actor::cli(),
            &app.account_id,
            contentgate::auth::keys::KeyRef::Id(user_id.clone()),
            None,
        )
        .await
        .unwrap();
    assert_eq!(app.get("/api/v1/content/post", &user).await, unauthorized);
    let fresh = fresh.key.unwrap();
    assert_eq!(app.get("/api/v1/content/post", &fresh).await.0, 200);
    // Re-scoping takes effect at once too.
    app.keys
        .update_rules(
            &contentgate::audit::Actor::cli(),
            &app.account_id,
            &user_id,
            None,
            &Default::default(),
        )
        .await
        .unwrap();
    assert_eq!(app.get("/api/v1/content/post", &fresh).await.0, 403);
    app.keys
        .delete(&contentgate::audit::Actor::cli(), &app.account_id, &user_id)
        .await
        .unwrap();
    assert_eq!(app.get("/api/v1/content/post", &fresh).await, unauthorized);
    let old_ro = app.ro.clone();
    app.keys
        .regenerate(
            &contentgate::audit::Actor::cli(),
            &app.account_id,
            contentgate::auth::keys::KeyRef::Application(contentgate::auth::KeyKind::ReadOnly),
            None,
        )
        .await
        .unwrap();
    assert_eq!(app.get("/api/v1/content/post", &old_ro).await, unauthorized);
}

#[tokio::test]
async fn a_key_never_crosses_accounts() {
    let app = TestApp::with_demo().await;
    let other = accounts::create(&app.keys, "other", "unlimited")
        .await
        .unwrap();
    let other_keys = app.keys.list(&other.id).await.unwrap();
    let other_rw = other_keys
        .iter()
        .find(|k| k.kind == "read_write")
        .unwrap()
        .key
        .clone()
        .unwrap();
    let before = app.snapshot().await;
    let (status, body) = app
        .get("/api/v1/internal/contenttype?internal=0", &other_rw)
        .await;
    assert_eq!((status, body["total_count"].as_u64()), (200, Some(0)));
    assert_eq!(
        app.get("/api/v1/internal/contenttype/post", &other_rw)
            .await
            .0,
        404
    );
    assert_eq!(app.get("/api/v1/content/post", &other_rw).await.0, 404);
    for search in [
        "/api/v1/search?q=program",
        "/api/v1/search?q=post&order_by=id",
    ] {
        let (status, body) = app.get(search, &other_rw).await;
        assert_eq!(
            (status, body["total_count"].as_u64()),
            (200, Some(0)),
            "{search}"
        );
    }
    assert_eq!(
        app.get("/api/v1/content/post/post-hello", &other_rw)
            .await
            .0,
        404
    );
    assert_eq!(
        app.delete("/api/v1/content/post/post-hello", &other_rw)
            .await
            .0,
        404
    );
    assert_eq!(
        app.post(
            "/api/v1/content/post",
            &other_rw,
            &json!({"title": "x", "slug": "x"})
        )
        .await
        .0,
        404
    );
    assert_eq!(app.snapshot().await, before);

    // The same type name in the other account is a separate type with separate objects,
    // and a relation cannot point into another account.
    for definition in contentgate::demo::DEFINITIONS {
        let body: Value = serde_json::from_str(definition).unwrap();
        assert_eq!(
            app.post("/api/v1/internal/contenttype", &other_rw, &body)
                .await
                .0,
            200
        );
    }
    assert_eq!(
        app.get("/api/v1/content/post", &other_rw).await.1["total_count"],
        0
    );
    let (status, body) = app.post("/api/v1/content/post", &other_rw, &json!({"title": "x", "slug": "hello-contentgate", "author": [common::reference("author", "author-ada")]})).await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({"author": ["This value does not exist in database"]})
        ),
        "unique values and relations are per account"
    );
    let (status, _) = app
        .post(
            "/api/v1/content/post",
            &other_rw,
            &json!({"id": "post-hello", "title": "x", "slug": "hello-contentgate"}),
        )
        .await;
    assert_eq!(status, 200, "ids and unique values are per account");
    assert_eq!(
        app.get("/api/v1/content/post/post-hello", &app.ro).await.1["title"],
        "Hello, ContentGate"
    );
}

/// Search and hydration, asked by every key kind, see exactly the readable types.
#[tokio::test]
async fn search_and_hydration_follow_the_read_scope_of_every_key_kind() {
    let app = TestApp::with_demo().await;
    let demo_counts = [("author", 2u64), ("category", 3), ("post", 4)];
    let kinds: Vec<(&str, String, Vec<&str>)> = vec![
        (
            "read-only",
            app.ro.clone(),
            vec!["author", "category", "post"],
        ),
        (
            "read-write",
            app.rw.clone(),
            vec!["author", "category", "post"],
        ),
        ("post=r", app.user_key(&[("post", "r")]).await, vec!["post"]),
        ("post=cud", app.user_key(&[("post", "cud")]).await, vec![]),
        ("none", app.user_key(&[]).await, vec![]),
        (
            "post=r author=r",
            app.user_key(&[("post", "r"), ("author", "r")]).await,
            vec!["author", "post"],
        ),
        (
            "category=r author=cu",
            app.user_key(&[("category", "r"), ("author", "cu")]).await,
            vec!["category"],
        ),
    ];
    for (label, key, readable) in kinds {
        let expected: u64 = demo_counts
            .iter()
            .filter(|(t, _)| readable.contains(t))
            .map(|(_, n)| n)
            .sum();
        let (status, body) = app
            .get("/api/v1/search?q=*&limit=1&aggregate_by[]=name", &key)
            .await;
        assert_eq!(status, 200, "{label}");
        assert_eq!(
            body["total_count"].as_u64(),
            Some(expected),
            "{label}: search total"
        );
        // `name` exists on authors and categories only.
        let named: u64 = demo_counts
            .iter()
            .filter(|(t, _)| *t != "post" && readable.contains(t))
            .map(|(_, n)| n)
            .sum();
        let buckets: u64 = body["summary"]["aggregations"]["name"]["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["doc_count"].as_u64().unwrap())
            .sum();
        assert_eq!(buckets, named, "{label}: aggregation counts");
        for (type_name, _) in demo_counts {
            let (status, _) = app
                .get(
                    &format!("/api/v1/search?q=*&content_type[]={type_name}"),
                    &key,
                )
                .await;
            assert_eq!(
                status,
                if readable.contains(&type_name) {
                    200
                } else {
                    403
                },
                "{label}: search in {type_name}"
            );
        }
        let (status, post) = app
            .get("/api/v1/content/post/post-keys?hydrate=2", &key)
            .await;
        if readable.contains(&"post") {
            assert_eq!(status, 200);
            let author_hydrated = post["author"][0].get("name").is_some();
            assert_eq!(
                author_hydrated,
                readable.contains(&"author"),
                "{label}: author hydration"
            );
            assert_eq!(
                post["categories"][0].get("name").is_some(),
                readable.contains(&"category"),
                "{label}: category hydration"
            );
        } else {
            assert_eq!(status, 403, "{label}");
        }
    }
}
