//! Apollo's automatic persisted queries: a hash the server does not know is answered
//! `PersistedQueryNotFound`; the document sent once with its hash is stored for the
//! account (every instance knows it, no other account does) and then runs by hash over
//! GET, as a conditional read; a wrong hash and deep documents are refused as any; an
//! account switched to persisted-only runs stored documents and nothing else.

mod common;

use common::TestApp;
use serde_json::{Value, json};

const QUERY: &str = "{ post(first: 2) { edges { node { id title } } } }";

fn extension(hash: &str) -> Value {
    json!({"persistedQuery": {"version": 1, "sha256Hash": hash}})
}

fn hash_of(document: &str) -> String {
    contentgate::persisted::hash_of(document)
}

/// `GET /api/v2/graphql` with only the hash, as Apollo's link sends it.
fn by_hash_path(hash: &str) -> String {
    let extensions = extension(hash).to_string();
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("extensions", &extensions)
        .finish();
    format!("/api/v2/graphql?{query}")
}

async fn get(
    app: &TestApp,
    base: &str,
    path: &str,
    key: &str,
    etag: Option<&str>,
) -> (u16, Value, Option<String>) {
    let mut request = app
        .client
        .get(format!("{base}{path}"))
        .header("x-auth-token", key);
    if let Some(etag) = etag {
        request = request.header("if-none-match", etag);
    }
    let answer = request.send().await.unwrap();
    let status = answer.status().as_u16();
    let etag = answer
        .headers()
        .get("etag")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = answer.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        etag,
    )
}

fn not_found() -> Value {
    json!({"errors": [{"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}]})
}

#[tokio::test]
async fn a_document_sent_once_with_its_hash_then_runs_by_hash_on_every_instance() {
    let app = TestApp::with_demo().await;
    let peer = app.spawn_peer().await;
    let hash = hash_of(QUERY);
    let path = by_hash_path(&hash);
    let base = app.url("");
    let (status, body, _) = get(&app, &base, &path, &app.ro, None).await;
    assert_eq!((status, body), (200, not_found()));
    // Apollo's link then sends the document with the hash (POST here).
    let (status, registered) = app
        .post(
            "/api/v2/graphql",
            &app.ro,
            &json!({"query": QUERY, "extensions": extension(&hash)}),
        )
        .await;
    assert_eq!(status, 200, "{registered}");
    assert_eq!(
        registered["data"]["post"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    for base in [base.clone(), peer.clone()] {
        let (status, body, etag) = get(&app, &base, &path, &app.ro, None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body, registered);
        // A short GET is a conditional read like any query over GET.
        let etag = etag.expect("an etag");
        let (status, _, _) = get(&app, &base, &path, &app.ro, Some(&etag)).await;
        assert_eq!(status, 304);
    }
    // Other keys of the account share it; other accounts never see it.
    let reader = app.user_key(&[("post", "r")]).await;
    assert_eq!(get(&app, &base, &path, &reader, None).await.0, 200);
    let other = contentgate::accounts::create(&app.keys, "other", "unlimited")
        .await
        .unwrap();
    let other_key = app.keys.list(&other.id).await.unwrap()[0]
        .key
        .clone()
        .unwrap();
    assert_eq!(
        get(&app, &base, &path, &other_key, None).await.1,
        not_found()
    );
    let stored = contentgate::persisted::PersistedDocuments::list(&app.db, &app.account_id)
        .await
        .unwrap();
    assert_eq!(stored, [hash]);
}

#[tokio::test]
async fn wrong_hashes_bad_extensions_and_deep_documents_are_refused_and_never_stored() {
    let app = TestApp::with_demo().await;
    let wrong = hash_of("{ __typename }");
    let (status, body) = app
        .post(
            "/api/v2/graphql",
            &app.ro,
            &json!({"query": QUERY, "extensions": extension(&wrong)}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("does not match"),
        "{body}"
    );
    for bad in [
        json!({"persistedQuery": {"version": 2, "sha256Hash": hash_of(QUERY)}}),
        json!({"persistedQuery": {"version": 1, "sha256Hash": "abc"}}),
        json!({"persistedQuery": "yes"}),
    ] {
        let (status, body) = app
            .post(
                "/api/v2/graphql",
                &app.ro,
                &json!({"query": QUERY, "extensions": bad}),
            )
            .await;
        assert_eq!(status, 400, "{body}");
    }
    // Past the depth limit: refused as the same document would be without a hash.
    let mut deep = String::from("{ post(first: 1) { edges { node { id ");
    for _ in 0..12 {
        deep.push_str("author { id ");
    }
    deep.push_str(&"} ".repeat(12));
    deep.push_str("} } } }");
    let plain = app
        .post("/api/v2/graphql", &app.ro, &json!({"query": deep}))
        .await;
    let hashed = app
        .post(
            "/api/v2/graphql",
            &app.ro,
            &json!({"query": deep, "extensions": extension(&hash_of(&deep))}),
        )
        .await;
    assert_eq!(plain.0, 400, "{}", plain.1);
    assert_eq!(hashed, plain);
    // Documents that do not validate are answered as always and never stored.
    for invalid in [
        "{ nosuchfield }",
        "query A { __typename } query A { __typename }",
    ] {
        let body = json!({"query": invalid, "extensions": extension(&hash_of(invalid))});
        let (status, answer) = app.post("/api/v2/graphql", &app.ro, &body).await;
        assert_eq!(status, 200);
        assert!(answer["errors"].is_array(), "{answer}");
    }
    let stored = contentgate::persisted::PersistedDocuments::list(&app.db, &app.account_id)
        .await
        .unwrap();
    assert!(stored.is_empty(), "{stored:?}");
}

#[tokio::test]
async fn a_persisted_only_account_runs_stored_documents_and_nothing_else() {
    let app = TestApp::with_demo().await;
    let stored = contentgate::persisted::PersistedDocuments::default()
        .store(&app.db, &app.account_id, QUERY)
        .await
        .unwrap();
    contentgate::persisted::set_persisted_only(&app.db, &app.account_id, true)
        .await
        .unwrap();
    let base = app.url("");
    // The stored document runs, by hash or as text.
    let (status, by_hash, _) = get(&app, &base, &by_hash_path(&stored), &app.ro, None).await;
    assert_eq!(status, 200, "{by_hash}");
    let as_text = app
        .post("/api/v2/graphql", &app.ro, &json!({"query": QUERY}))
        .await;
    assert_eq!(as_text, (200, by_hash));
    // Anything else is refused, and a client cannot add to the list.
    let other = "{ category(first: 1) { edges { node { id } } } }";
    let refused = app
        .post("/api/v2/graphql", &app.ro, &json!({"query": other}))
        .await;
    assert_eq!(refused.0, 403, "{}", refused.1);
    assert!(
        refused.1["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("persisted")
    );
    let register = app
        .post(
            "/api/v2/graphql",
            &app.rw,
            &json!({"query": other, "extensions": extension(&hash_of(other))}),
        )
        .await;
    assert_eq!(register.0, 403);
    let listed = contentgate::persisted::PersistedDocuments::list(&app.db, &app.account_id)
        .await
        .unwrap();
    assert_eq!(listed, [stored]);
    // REST is not GraphQL: it keeps working.
    assert_eq!(
        app.get("/api/v1/content/post?limit=1", &app.ro).await.0,
        200
    );
    contentgate::persisted::set_persisted_only(&app.db, &app.account_id, false)
        .await
        .unwrap();
    assert_eq!(
        app.post("/api/v2/graphql", &app.ro, &json!({"query": other}))
            .await
            .0,
        200
    );
}
