//! Rendered content answers kept between requests. A kept answer is served only for
//! the same account revisions, read scope and request, so it is always what rendering
//! again would give: after writes on any instance, for every kind of key.

mod common;

use common::{TestApp, text_property};
use contentgate::app::GraphqlOptions;
use reqwest::Method;
use serde_json::{Value, json};

const LIST: &str = "/api/v1/content/post?limit=10&hydrate=1&order_by=title";

/// The first author of each post that has one: a name where hydrated, else null.
fn author_names(list: &Value) -> Vec<Value> {
    list["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter(|post| post["author"].as_array().is_some_and(|a| !a.is_empty()))
        .map(|post| post["author"][0]["name"].clone())
        .collect()
}

#[tokio::test]
async fn a_repeated_read_is_answered_with_the_authentication_statement_at_most() {
    let app = TestApp::uncounted().await;
    app.load_demo().await;
    // Even that is skipped while nothing the key is read from has changed (SQLite's
    // data_version, PostgreSQL's notifications).
    let expected = 0;
    for path in [
        LIST,
        "/api/v1/content/post/post-keys?hydrate=2",
        "/api/v1/search?q=post&aggregate_by[]=status",
    ] {
        let (first, body) = app.statements_for(path, &app.ro).await;
        assert!(first > 1, "{path}: {first} statements");
        let (again, same) = repeated(&app, path, &app.ro).await;
        assert_eq!(again, expected, "{path}");
        assert_eq!(same, body, "{path}");
        // The key in the query instead of the header is the same request.
        let (by_query, same) = app
            .statements_for(&format!("{path}&auth_token={}", app.ro), "")
            .await;
        assert_eq!((by_query, same), (expected, body), "{path}");
    }
    // Without the cache every read renders again.
    let bare = app
        .spawn_peer_configured(
            GraphqlOptions {
                introspection: true,
            },
            |state| state.with_response_cache(0),
        )
        .await;
    for _ in 0..2 {
        let before = app.statements.load(std::sync::atomic::Ordering::SeqCst);
        assert_eq!(
            app.call_at(&bare, Method::GET, LIST, &app.ro, None).await.0,
            200
        );
        let used = app.statements.load(std::sync::atomic::Ordering::SeqCst) - before;
        assert!(used > 1, "{used} statements without the cache");
    }
}

/// The statements and body of a repeated read of `path`, once the notifications of the
/// test's own writes are in (`settle_notifications`).
async fn repeated(app: &TestApp, path: &str, key: &str) -> (usize, Value) {
    app.settle_notifications(key).await;
    app.statements_for(path, key).await
}

/// The status of `path` for `key` once it is `want`, polling for up to five seconds:
/// on PostgreSQL a change made elsewhere reaches a server by notification, a moment
/// after its commit.
async fn status_becomes(app: &TestApp, path: &str, key: &str, want: u16) -> u16 {
    let started = std::time::Instant::now();
    loop {
        let status = app.get(path, key).await.0;
        if status == want || started.elapsed() > std::time::Duration::from_secs(5) {
            return status;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_key_changed_by_another_process_is_looked_up_again() {
    use sea_orm::ConnectionTrait;
    let app = TestApp::uncounted().await;
    app.load_demo().await;
    let key = app.user_key(&[("post", "r")]).await;
    let path = "/api/v1/content/post?limit=1";
    assert_eq!(app.get(path, &key).await.0, 200);
    assert_eq!(repeated(&app, path, &key).await.0, 0, "the key is reused");
    if app.database_url.starts_with("postgres") {
        // The last use, written by every usage flush, is not part of a principal.
        app.db
            .execute_unprepared("UPDATE api_keys SET last_used_at = 1")
            .await
            .expect("last use");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert_eq!(app.statements_for(path, &key).await.0, 0, "still reused");
    }
    // Another client of the database takes the key's only rule away.
    app.db
        .execute_unprepared("DELETE FROM key_rules")
        .await
        .expect("delete rules");
    assert_eq!(status_becomes(&app, path, &key, 403).await, 403);
    app.db
        .execute_unprepared("DELETE FROM api_keys WHERE kind = 'user'")
        .await
        .expect("delete key");
    if app.database_url.starts_with("sqlite") {
        // SQLite's data_version is exact: the very next request.
        assert_eq!(app.get(path, &key).await.0, 401);
    } else {
        assert_eq!(status_becomes(&app, path, &key, 401).await, 401);
    }
}

#[tokio::test]
async fn writes_on_another_instance_change_the_next_answer() {
    let app = TestApp::with_demo().await;
    let peer = app.spawn_peer().await;
    let ro = app.ro.clone();
    let (_, before) = app.get(LIST, &ro).await;
    assert_eq!(app.get(LIST, &ro).await.1, before);
    let total = before["total_count"].as_u64().expect("total");

    // An update of another type changes the hydrated list.
    let ada = "/api/v1/content/author/author-ada";
    assert_eq!(app.call_at(&peer, Method::GET, ada, &ro, None).await.0, 200);
    let patch = json!({"name": "Ada King"});
    let (status, _) = app
        .call_at(&peer, Method::PATCH, ada, &app.rw, Some(&patch))
        .await;
    assert_eq!(status, 200);
    let (_, after) = app.get(LIST, &ro).await;
    assert!(author_names(&after).contains(&json!("Ada King")), "{after}");
    assert!(!author_names(&after).contains(&json!("Ada Lovelace")));

    // A creation, a search hit and a deletion.
    let search = "/api/v1/search?q=quokka";
    assert_eq!(app.get(search, &ro).await.1["total_count"], 0);
    let quokka = json!({"id": "post-quokka", "title": "A quokka", "slug": "quokka"});
    let (status, _) = app
        .call_at(
            &peer,
            Method::POST,
            "/api/v1/content/post",
            &app.rw,
            Some(&quokka),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(app.get(LIST, &ro).await.1["total_count"], total + 1);
    assert_eq!(app.get(search, &ro).await.1["total_count"], 1);
    let path = "/api/v1/content/post/post-quokka";
    assert_eq!(app.get(path, &ro).await.0, 200);
    assert_eq!(
        app.call_at(&peer, Method::DELETE, path, &app.rw, None)
            .await
            .0,
        200
    );
    assert_eq!(app.get(path, &ro).await.0, 404);
    assert_eq!(app.get(search, &ro).await.1["total_count"], 0);
    assert_eq!(app.get(LIST, &ro).await.1["total_count"], total);

    // A definition made on the peer is served here at once.
    assert_eq!(app.get("/api/v1/content/note", &ro).await.0, 404);
    let (schema, config) = text_property("Text");
    let note = common::definition("note", &[("text", schema, config)], &[]);
    let (status, _) = app
        .call_at(
            &peer,
            Method::POST,
            "/api/v1/internal/contenttype",
            &app.rw,
            Some(&note),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(app.get("/api/v1/content/note", &ro).await.0, 200);
}

#[tokio::test]
async fn kept_answers_never_cross_keys() {
    let app = TestApp::with_demo().await;
    let posts_only = app.user_key(&[("post", "r")]).await;
    let no_posts = app.user_key(&[("author", "r")]).await;

    // The read-only key first: its answer hydrates authors.
    let (_, full) = app.get(LIST, &app.ro).await;
    assert_eq!(author_names(&full).len(), 3);
    assert!(author_names(&full).iter().all(Value::is_string), "{full}");
    // A key that may not read authors gets the stored references, not the kept answer.
    let (status, scoped) = app.get(LIST, &posts_only).await;
    assert_eq!(status, 200);
    assert!(author_names(&scoped).iter().all(Value::is_null), "{scoped}");
    assert_eq!(author_names(&scoped).len(), 3);
    assert_eq!(
        scoped["data"][1]["author"][0]["dataUrl"]
            .as_str()
            .map(|u| u.starts_with("/api/v1/content/author/")),
        Some(true)
    );
    assert_eq!(app.get(LIST, &no_posts).await.0, 403);
    // And in the other order, on a request nobody asked before.
    let search = "/api/v1/search?q=ada";
    let (_, narrow) = app.get(search, &posts_only).await;
    let (_, wide) = app.get(search, &app.ro).await;
    assert_eq!(narrow["total_count"], 0, "{narrow}");
    assert!(wide["total_count"].as_u64() > Some(0), "{wide}");

    // Taking the read permission away, or the key, applies to kept answers at once.
    let key_id = |key: &str| {
        let key = key.to_owned();
        let keys = app.keys.clone();
        let account = app.account_id.clone();
        async move {
            keys.list(&account)
                .await
                .expect("keys")
                .into_iter()
                .find(|k| k.key.as_deref() == Some(key.as_str()))
                .expect("key")
                .id
        }
    };
    let id = key_id(&posts_only).await;
    let rules = [("post".to_owned(), contentgate::auth::Perms::default())].into();
    app.keys
        .update_rules(
            &contentgate::audit::Actor::cli(),
            &app.account_id,
            &id,
            None,
            &rules,
        )
        .await
        .expect("rules");
    assert_eq!(app.get(LIST, &posts_only).await.0, 403);
    app.keys
        .delete(&contentgate::audit::Actor::cli(), &app.account_id, &id)
        .await
        .expect("delete");
    assert_eq!(app.get(LIST, &posts_only).await.0, 401);
}

/// `query` as a GET path on the current GraphQL endpoint.
fn graphql_get(query: &str) -> String {
    let encoded: String = form_urlencoded::byte_serialize(query.as_bytes()).collect();
    format!("/api/v2/graphql?query={encoded}")
}

#[tokio::test]
async fn a_repeated_graphql_query_is_kept_per_rule_set_and_revision() {
    let app = TestApp::uncounted().await;
    app.load_demo().await;
    let expected = 0;
    let query = graphql_get(
        "{ post(first: 5, order_by: \"title\") { totalCount edges { node { title author { name } } } } }",
    );
    let reader = app.user_key(&[("post", "r"), ("author", "r")]).await;
    let (first, body) = app.statements_for(&query, &reader).await;
    assert!(first > 1, "{first} statements");
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(
        repeated(&app, &query, &reader).await,
        (expected, body.clone())
    );
    // Another key with the same rules gets the same kept answer (one statement: its
    // first request reads the key).
    let twin = app.user_key(&[("author", "r"), ("post", "r")]).await;
    assert_eq!(app.statements_for(&query, &twin).await, (1, body.clone()));
    // A key that may not read authors never gets it: its schema has no `author` field.
    let posts_only = app.user_key(&[("post", "r")]).await;
    let (status, refused) = app.get(&query, &posts_only).await;
    assert_eq!(status, 200);
    assert!(
        refused["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("author")),
        "{refused}"
    );
    assert!(!refused.to_string().contains("Alan"), "{refused}");
    // Variables and the operation name are part of the request.
    let named = graphql_get("query Few($n: Int) { post(first: $n) { edges { node { title } } } }");
    let (_, two) = app
        .get(&format!("{named}&variables=%7B%22n%22%3A2%7D"), &reader)
        .await;
    let (_, three) = app
        .get(&format!("{named}&variables=%7B%22n%22%3A3%7D"), &reader)
        .await;
    assert_eq!(
        two["data"]["post"]["edges"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(
        three["data"]["post"]["edges"].as_array().map(Vec::len),
        Some(3)
    );

    // A write makes the next answer current, on this instance as on any other.
    let first_title = body["data"]["post"]["edges"][0]["node"]["title"].clone();
    let id = app.stored_ids("post").await[0].clone();
    let (_, listed) = app
        .get("/api/v1/content/post?order_by=title&limit=1", &app.rw)
        .await;
    let first_id = listed["data"][0]["id"].as_str().unwrap_or(&id).to_owned();
    let (status, _) = app
        .patch(
            &format!("/api/v1/content/post/{first_id}"),
            &app.rw,
            &json!({"title": "AAA renamed first"}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, after) = app.get(&query, &reader).await;
    let renamed = &after["data"]["post"]["edges"][0]["node"]["title"];
    assert_eq!(renamed, "AAA renamed first", "was {first_title}");
}

#[tokio::test]
async fn graphql_mutations_and_errors_are_never_kept() {
    let app = TestApp::uncounted().await;
    app.load_demo().await;
    let create = json!({"query": r#"mutation { createPost(data: { title: "kept?", slug: "kept" }) { id } }"#});
    let mut ids = Vec::new();
    for _ in 0..2 {
        let (status, body) = app
            .call(Method::POST, "/api/v2/graphql", &app.rw, Some(&create))
            .await;
        assert_eq!(status, 200, "{body}");
        ids.push(body["data"]["createPost"]["id"].clone());
    }
    assert_ne!(ids[0], ids[1], "the second mutation ran again");
    // An answer holding an error is rendered again each time: the first field reads
    // the database, the second is refused.
    let partly = graphql_get(
        r#"{ post(first: 2) { totalCount } author(filter: { name: { type: "bogus", filter: "x" } }) { totalCount } }"#,
    );
    let (_, once) = app.get(&partly, &app.ro).await;
    assert!(!once["errors"].is_null(), "{once}");
    assert!(once["data"]["post"]["totalCount"].is_u64(), "{once}");
    let before = app.statements.load(std::sync::atomic::Ordering::SeqCst);
    let (_, again) = app.get(&partly, &app.ro).await;
    let used = app.statements.load(std::sync::atomic::Ordering::SeqCst) - before;
    assert_eq!(again, once);
    assert!(used > 0, "{used} statements: the answer was kept");
    // A large request (here 70 KB of variables) is rendered each time.
    let large = json!({
        "query": "query($pad: String) { post(first: 2, id: $pad) { totalCount } }",
        "variables": {"pad": "x".repeat(70_000)},
    });
    let mut answers = Vec::new();
    let mut used = Vec::new();
    for _ in 0..2 {
        let before = app.statements.load(std::sync::atomic::Ordering::SeqCst);
        let (status, body) = app
            .call(Method::POST, "/api/v2/graphql", &app.ro, Some(&large))
            .await;
        assert_eq!(status, 200, "{body}");
        used.push(app.statements.load(std::sync::atomic::Ordering::SeqCst) - before);
        answers.push(body);
    }
    assert_eq!(answers[0], answers[1]);
    assert!(answers[0]["errors"].is_null(), "{}", answers[0]);
    assert!(
        used[1] > 0,
        "{used:?} statements: the large answer was kept"
    );
}
