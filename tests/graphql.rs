//! The GraphQL API: generated schema, queries, relations, search, mutations, scopes
//! (the same answers as REST for every key kind), limits, errors and GraphiQL.

mod common;

use common::{TestApp, definition};
use reqwest::Method;
use serde_json::{Value, json};

async fn gql(app: &TestApp, path: &str, key: &str, query: &str, variables: Value) -> Value {
    let (status, body) = app
        .call(
            Method::POST,
            path,
            key,
            Some(&json!({"query": query, "variables": variables})),
        )
        .await;
    assert_eq!(status, 200, "{query}: {body}");
    body
}

async fn v2(app: &TestApp, key: &str, query: &str) -> Value {
    gql(app, "/api/v2/graphql", key, query, json!({})).await
}

/// The message of a request refused before execution (a 400, like REST's).
async fn refused(app: &TestApp, key: &str, query: &str) -> String {
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v2/graphql",
            key,
            Some(&json!({ "query": query })),
        )
        .await;
    assert_eq!(status, 400, "{query}: {body}");
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_REQUEST",
        "{body}"
    );
    body["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The messages of a document that does not validate against the caller's schema.
fn unknown_fields(body: &Value) -> Vec<String> {
    assert!(body.get("data").is_none_or(Value::is_null), "{body}");
    body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn codes(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["extensions"]["code"].as_str().unwrap_or("?").to_owned())
        .collect()
}

#[test]
fn schema_graphql_is_up_to_date() {
    let sdl = contentgate::graphql::sdl(&contentgate::graphql::example_models(), false).unwrap();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    if std::env::var("CONTENTGATE_UPDATE_SCHEMA").is_ok() {
        std::fs::write(path, &sdl).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap();
    assert!(
        committed == sdl,
        "schema.graphql is out of date: run `CONTENTGATE_UPDATE_SCHEMA=1 cargo test --test graphql schema_graphql`"
    );
}

#[tokio::test]
async fn connections_filters_and_lookups() {
    let app = TestApp::with_demo().await;
    let body = v2(&app, &app.ro, r#"{ post(first: 2, order_by: "rating", order_direction: "desc") { totalCount pageInfo { hasNextPage } edges { node { id title rating featured tags internal { contentType latestVersion } author { id name } categories { name } } } } }"#).await;
    let connection = &body["data"]["post"];
    assert_eq!(
        (
            connection["totalCount"].as_u64(),
            connection["pageInfo"]["hasNextPage"].as_bool()
        ),
        (Some(4), Some(true))
    );
    let first = &connection["edges"][0]["node"];
    assert_eq!(first["id"], "post-keys");
    assert_eq!(
        first["author"],
        json!([{"id": "author-alan", "name": "Alan Turing"}])
    );
    assert_eq!(
        first["categories"],
        json!([{"name": "Guides"}, {"name": "Rust"}]),
        "relation order is kept"
    );
    assert_eq!(
        first["internal"],
        json!({"contentType": "post", "latestVersion": 1})
    );

    let body = v2(&app, &app.ro, r#"{ post(offset: 3, first: 2, order_by: "rating", order_direction: "desc") { pageInfo { hasNextPage } edges { node { id } } } }"#).await;
    assert_eq!(
        body["data"]["post"]["edges"],
        json!([{"node": {"id": "post-draft"}}])
    );
    assert_eq!(body["data"]["post"]["pageInfo"]["hasNextPage"], false);

    let filtered = v2(&app, &app.ro, r#"{ post(filter: { status: { type: "equals", filter: "published" }, tags: { type: "includes", filter: "news" } }) { totalCount edges { node { id } } } }"#).await;
    assert_eq!(
        filtered["data"]["post"]["edges"],
        json!([{"node": {"id": "post-hello"}}])
    );
    let by_relation = v2(
        &app,
        &app.ro,
        r#"{ post(filter: { author: { type: "contains", filter: "alan" } }) { totalCount } }"#,
    )
    .await;
    assert_eq!(by_relation["data"]["post"]["totalCount"], 1);
    let ranged = v2(&app, &app.ro, r#"{ post(filter: { rating: { type: "inRange", filter: "3", filter2: "4.5" } }) { totalCount } }"#).await;
    assert_eq!(ranged["data"]["post"]["totalCount"], 2);
    let by_id = v2(
        &app,
        &app.ro,
        r#"{ post(id: "post-filters") { edges { node { title } } } }"#,
    )
    .await;
    assert_eq!(
        by_id["data"]["post"]["edges"][0]["node"]["title"],
        "Filtering lists"
    );
    let by_field = v2(
        &app,
        &app.ro,
        r#"{ post(field: "slug", value: "scoped-api-keys") { edges { node { id } } } }"#,
    )
    .await;
    assert_eq!(
        by_field["data"]["post"]["edges"][0]["node"]["id"],
        "post-keys"
    );
    let bad = v2(
        &app,
        &app.ro,
        r#"{ post(filter: { rating: { type: "near", filter: "1" } }) { totalCount } }"#,
    )
    .await;
    assert_eq!(codes(&bad), ["VALIDATION"]);
    assert_eq!(
        bad["errors"][0]["extensions"]["errors"]["filters"][0],
        "Unknown filter type \"near\" for rating"
    );

    let search = v2(&app, &app.ro, r#"{ search(q: "guides", first: 5) { totalCount edges { score node { __typename ... on post { title } ... on category { name } } } } }"#).await;
    assert_eq!(search["data"]["search"]["totalCount"], 3);
    assert!(
        search["data"]["search"]["edges"][0]["score"]
            .as_f64()
            .unwrap()
            > 0.0
    );
}

#[tokio::test]
async fn legacy_endpoint_serves_the_v1_shape() {
    let app = TestApp::with_demo().await;
    let filter = json!({"slug": {"type": "equals", "filter": "scoped-api-keys"}}).to_string();
    let body = gql(&app, "/api/graphql", &app.ro, r#"query($filter: String) { postList(limit: 5, filter: $filter) { id title author { name } } post(field: "slug", value: "filtering-lists") { id } category(id: "category-news") { name } }"#, json!({"filter": filter})).await;
    assert_eq!(
        body["data"]["postList"],
        json!([{"id": "post-keys", "title": "Scoped API keys", "author": [{"name": "Alan Turing"}]}])
    );
    assert_eq!(body["data"]["post"]["id"], "post-filters");
    assert_eq!(body["data"]["category"]["name"], "News");
    let sdl = app
        .client
        .get(app.url("/api/graphql/schema"))
        .header("x-auth-token", &app.ro)
        .send()
        .await
        .unwrap();
    assert_eq!(sdl.status(), 200);
    assert!(sdl.text().await.unwrap().contains("postList(page: Int, limit: Int, order_by: String, order_direction: String, filter: String): [post]"));
}

#[tokio::test]
async fn unreadable_relations_and_roots_are_not_in_the_keys_schema() {
    let app = TestApp::with_demo().await;
    let posts_only = app.user_key(&[("post", "r"), ("author", "cu")]).await;
    let body = v2(&app, &posts_only, r#"{ post(id: "post-keys") { totalCount edges { node { title author { name } categories { name } } } } }"#).await;
    let messages = unknown_fields(&body);
    assert_eq!(messages.len(), 2, "{body}");
    assert!(messages[0].contains("Unknown field \"author\""), "{body}");
    assert!(
        messages[1].contains("Unknown field \"categories\""),
        "{body}"
    );
    assert!(!body.to_string().contains("Alan"));
    let body = v2(
        &app,
        &posts_only,
        r#"{ post(id: "post-keys") { totalCount edges { node { title } } } }"#,
    )
    .await;
    assert_eq!(
        body["data"]["post"]["edges"][0]["node"]["title"],
        "Scoped API keys"
    );

    let root = v2(
        &app,
        &posts_only,
        "{ author { totalCount } post { totalCount } }",
    )
    .await;
    assert!(unknown_fields(&root)[0].contains("Unknown field \"author\""));
    let root = v2(&app, &posts_only, "{ post { totalCount } }").await;
    assert_eq!(root["data"]["post"]["totalCount"], 4);
    let search = v2(&app, &posts_only, r#"{ search(q: "*") { totalCount } }"#).await;
    assert_eq!(search["data"]["search"]["totalCount"], 4);
    let denied = v2(
        &app,
        &posts_only,
        r#"{ search(q: "*", content_type: ["author"]) { totalCount } }"#,
    )
    .await;
    assert_eq!(codes(&denied), ["FORBIDDEN"]);
}

/// The same questions through REST and GraphQL get the same answers for every key kind.
#[tokio::test]
async fn graphql_answers_like_rest_for_every_key_kind() {
    let app = TestApp::with_demo().await;
    let kinds = vec![
        ("read-only", app.ro.clone()),
        ("read-write", app.rw.clone()),
        ("post=r", app.user_key(&[("post", "r")]).await),
        ("post=cud", app.user_key(&[("post", "cud")]).await),
        ("none", app.user_key(&[]).await),
        (
            "post=r author=r",
            app.user_key(&[("post", "r"), ("author", "r")]).await,
        ),
        ("category=r", app.user_key(&[("category", "r")]).await),
    ];
    for (label, key) in kinds {
        for type_name in ["post", "author", "category"] {
            let (status, rest) = app
                .get(
                    &format!("/api/v1/content/{type_name}?limit=100&order_by=id&hydrate=1"),
                    &key,
                )
                .await;
            let body = v2(&app, &key, &format!("{{ {type_name}(first: 100, order_by: \"id\") {{ totalCount edges {{ node {{ id }} }} }} }}")).await;
            if status == 403 {
                let unknown = format!("Unknown field \"{type_name}\"");
                assert!(
                    unknown_fields(&body)[0].contains(&unknown),
                    "{label} {type_name}: {body}"
                );
                continue;
            }
            assert_eq!(status, 200, "{label} {type_name}");
            let rest_ids: Vec<&Value> = rest["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| &o["id"])
                .collect();
            let gql_ids: Vec<&Value> = body["data"][type_name]["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| &e["node"]["id"])
                .collect();
            assert_eq!(rest_ids, gql_ids, "{label} {type_name}");
            assert_eq!(
                rest["total_count"], body["data"][type_name]["totalCount"],
                "{label} {type_name}"
            );
        }
        // Relations: hydrated through REST exactly when resolvable through GraphQL.
        let (status, post) = app
            .get("/api/v1/content/post/post-keys?hydrate=1", &key)
            .await;
        if status == 200 {
            let body = v2(
                &app,
                &key,
                r#"{ post(id: "post-keys") { edges { node { author { name } } } } }"#,
            )
            .await;
            let rest_hydrated = post["author"][0].get("name").cloned();
            // A relation the key may not read is not in its schema at all.
            let gql_author = match body.get("errors") {
                Some(_) => {
                    assert!(unknown_fields(&body)[0].contains("Unknown field \"author\""));
                    Value::Null
                }
                None => body["data"]["post"]["edges"][0]["node"]["author"][0]["name"].clone(),
            };
            assert_eq!(
                rest_hydrated.unwrap_or(Value::Null),
                gql_author,
                "{label}: author"
            );
        }
        let (_, rest_search) = app.get("/api/v1/search?q=*", &key).await;
        let body = v2(&app, &key, r#"{ search(q: "*") { totalCount } }"#).await;
        if rest_search["total_count"] == 0 && body.get("errors").is_some() {
            // Nothing readable: no search field in the key's schema.
            assert!(unknown_fields(&body)[0].contains("Unknown field \"search\""));
            continue;
        }
        assert_eq!(
            rest_search["total_count"], body["data"]["search"]["totalCount"],
            "{label}: search"
        );
    }
}

#[tokio::test]
async fn mutations_go_through_the_same_services_and_scopes() {
    let app = TestApp::with_demo().await;
    let created = v2(&app, &app.rw, r#"mutation { createPost(data: { id: "gql-1", title: "From GraphQL", slug: "from-graphql", tags: ["x"], author: ["author-ada"] }) { id title author { name } } }"#).await;
    assert_eq!(
        created["data"]["createPost"],
        json!({"id": "gql-1", "title": "From GraphQL", "author": [{"name": "Ada Lovelace"}]})
    );
    let (_, stored) = app.get("/api/v1/content/post/gql-1", &app.ro).await;
    assert_eq!(
        stored["author"],
        json!([common::reference("author", "author-ada")])
    );

    let invalid = v2(
        &app,
        &app.rw,
        r#"mutation { createPost(data: { title: "" }) { id } }"#,
    )
    .await;
    assert_eq!(codes(&invalid), ["VALIDATION"]);
    assert_eq!(
        invalid["errors"][0]["extensions"]["errors"]["slug"],
        json!(["The property slug is required"])
    );

    let updated = v2(&app, &app.rw, r#"mutation { updatePost(id: "gql-1", data: { rating: 2.5 }) { title rating internal { latestVersion } } }"#).await;
    assert_eq!(
        updated["data"]["updatePost"],
        json!({"title": "From GraphQL", "rating": 2.5, "internal": {"latestVersion": 2}})
    );

    let reader = app.user_key(&[("post", "r")]).await;
    let before = app.snapshot().await;
    for mutation in [
        r#"mutation { createPost(data: { title: "x", slug: "x" }) { id } }"#,
        r#"mutation { updatePost(id: "gql-1", data: { rating: 1 }) { id } }"#,
        r#"mutation { deletePost(id: "gql-1") }"#,
    ] {
        // A read-only key's schema has no mutations at all.
        let body = v2(&app, &reader, mutation).await;
        assert!(!unknown_fields(&body).is_empty(), "{mutation}: {body}");
    }
    assert_eq!(app.snapshot().await, before);

    let deleted = v2(&app, &app.rw, r#"mutation { deletePost(id: "gql-1") }"#).await;
    assert_eq!(deleted["data"]["deletePost"], true);
    let missing = v2(&app, &app.rw, r#"mutation { deletePost(id: "gql-1") }"#).await;
    assert_eq!(codes(&missing), ["NOT_FOUND"]);
    let referenced = v2(
        &app,
        &app.rw,
        r#"mutation { deleteAuthor(id: "author-ada") }"#,
    )
    .await;
    assert_eq!(codes(&referenced), ["VALIDATION"]);

    // Mutations are refused over GET.
    let response = app
        .client
        .get(app.url("/api/v2/graphql"))
        .query(&[("query", "mutation { deletePost(id: \"post-keys\") }")])
        .header("x-auth-token", &app.rw)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    let response = app
        .client
        .get(app.url("/api/v2/graphql"))
        .query(&[("query", "{ post { totalCount } }")])
        .header("x-auth-token", &app.ro)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.json::<Value>().await.unwrap()["data"]["post"]["totalCount"],
        4,
        "queries work over GET"
    );
}

// On several worker threads, as the server runs: relation batches start without a timer,
// and must still gather every key of a page before they load.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_queries_run_a_number_of_statements_bounded_by_depth() {
    let app = TestApp::uncounted().await;
    app.load_demo().await;
    let authors: Vec<Value> = (0..50).map(|i| json!({"id": format!("a{i}"), "name": format!("A{i}"), "email": format!("a{i}@x.org")})).collect();
    assert_eq!(
        app.post("/api/v1/content/author/batch", &app.rw, &json!(authors))
            .await
            .0,
        200
    );
    let posts: Vec<Value> = (0..100)
        .map(|i| json!({"title": format!("P{i}"), "slug": format!("p-{i}"), "author": [common::reference("author", &format!("a{}", i % 50))], "categories": [common::reference("category", "category-news"), common::reference("category", "category-rust")]}))
        .collect();
    assert_eq!(
        app.post("/api/v1/content/post/batch", &app.rw, &json!(posts[..50]))
            .await
            .0,
        200
    );
    assert_eq!(
        app.post("/api/v1/content/post/batch", &app.rw, &json!(posts[50..]))
            .await
            .0,
        200
    );
    let count = |first: u32| {
        let app = &app;
        async move {
            let before = app.statements.load(std::sync::atomic::Ordering::SeqCst);
            let body = v2(app, &app.ro, &format!("{{ post(first: {first}) {{ edges {{ node {{ title author {{ name }} categories {{ name }} }} }} }} }}")).await;
            assert!(body.get("errors").is_none(), "{body}");
            assert_eq!(
                body["data"]["post"]["edges"].as_array().unwrap().len(),
                first as usize
            );
            app.statements.load(std::sync::atomic::Ordering::SeqCst) - before
        }
    };
    app.settle_notifications(&app.ro).await;
    // Builds the schema; a different document, so that the next one is rendered, not
    // answered from the kept answers.
    count(2).await;
    let one = count(1).await;
    let hundred = count(100).await;
    assert_eq!(
        one, hundred,
        "statements for 1 and 100 posts with their relations"
    );
}

#[tokio::test]
async fn the_schema_follows_definition_changes() {
    let app = TestApp::with_demo().await;
    let text = common::text_property;
    let (schema, config) = text("Name");
    assert_eq!(
        app.post(
            "/api/v1/internal/contenttype",
            &app.rw,
            &definition("product", &[("name", schema.clone(), config.clone())], &[])
        )
        .await
        .0,
        200
    );
    let body = v2(&app, &app.ro, "{ product { totalCount } }").await;
    assert_eq!(
        body["data"]["product"]["totalCount"], 0,
        "a new type appears at once: {body}"
    );

    let (price_schema, _) = (json!({"type": "number"}), ());
    let changed = definition(
        "product",
        &[
            ("name", schema.clone(), config.clone()),
            (
                "price",
                price_schema,
                json!({"label": "Price", "inputType": "number", "unique": false}),
            ),
        ],
        &[],
    );
    assert_eq!(
        app.put("/api/v1/internal/contenttype/product", &app.rw, &changed)
            .await
            .0,
        200
    );
    let body = v2(
        &app,
        &app.rw,
        r#"mutation { createProduct(data: { name: "Tea", price: 2.5 }) { name price } }"#,
    )
    .await;
    assert_eq!(
        body["data"]["createProduct"],
        json!({"name": "Tea", "price": 2.5})
    );

    // A refused definition leaves the schema as it was.
    let mut bad = changed.clone();
    bad["metaDefinition"]["propertiesConfig"]["price"]["inputType"] = json!("text");
    assert_eq!(
        app.put("/api/v1/internal/contenttype/product", &app.rw, &bad)
            .await
            .0,
        400
    );
    let body = v2(&app, &app.ro, "{ product { edges { node { price } } } }").await;
    assert_eq!(body["data"]["product"]["edges"][0]["node"]["price"], 2.5);

    // Another instance on the same database sees the change on its next request.

    let id = app.get("/api/v1/content/product", &app.ro).await.1["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.delete(&format!("/api/v1/content/product/{id}"), &app.rw)
            .await
            .0,
        200
    );
    assert_eq!(
        app.delete("/api/v1/internal/contenttype/product", &app.rw)
            .await
            .0,
        200
    );
    let body = v2(&app, &app.ro, "{ product { totalCount } }").await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("product"),
        "the type is gone: {body}"
    );
}

#[tokio::test]
async fn awkward_names_get_deterministic_graphql_names() {
    let app = TestApp::spawn().await;
    let prop = common::text_property;
    let (a, b) = prop("First");
    let body = definition(
        "search",
        &[("1st", a.clone(), b.clone()), ("n_1st", a, b)],
        &[],
    );
    let (status, created) = app
        .post("/api/v1/internal/contenttype", &app.rw, &body)
        .await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(
        app.post(
            "/api/v1/content/search",
            &app.rw,
            &json!({"1st": "one", "n_1st": "two"})
        )
        .await
        .0,
        200
    );
    let body = v2(
        &app,
        &app.ro,
        "{ search_2 { edges { node { n_1st n_1st_2 } } } }",
    )
    .await;
    assert_eq!(
        body["data"]["search_2"]["edges"][0]["node"],
        json!({"n_1st": "two", "n_1st_2": "one"}),
        "a property whose name is valid keeps it: {body}"
    );
    let sdl = app
        .client
        .get(app.url("/api/v2/graphql/schema"))
        .header("x-auth-token", &app.ro)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(sdl.contains("search_2(") && sdl.contains("search(q: String"));

    // No change moves a kept property to another field: removing `n_1st` would give its
    // field to `1st`, and adding `n_2nd` beside `2nd` would take `2nd`'s.
    let (a, b) = prop("First");
    let removing = definition("search", &[("1st", a.clone(), b.clone())], &[]);
    let (status, refused) = app
        .put("/api/v1/internal/contenttype/search", &app.rw, &removing)
        .await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused.to_string().contains("would move"), "{refused}");
    let second = definition("second", &[("2nd", a.clone(), b.clone())], &[]);
    let (status, _) = app
        .post("/api/v1/internal/contenttype", &app.rw, &second)
        .await;
    assert_eq!(status, 200);
    let adding = definition(
        "second",
        &[("2nd", a.clone(), b.clone()), ("n_2nd", a, b)],
        &[],
    );
    let (status, refused) = app
        .put("/api/v1/internal/contenttype/second", &app.rw, &adding)
        .await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused.to_string().contains("property 2nd would move"),
        "{refused}"
    );
    let body = v2(
        &app,
        &app.ro,
        "{ search_2 { edges { node { n_1st n_1st_2 } } } }",
    )
    .await;
    assert_eq!(
        body["data"]["search_2"]["edges"][0]["node"],
        json!({"n_1st": "two", "n_1st_2": "one"}),
        "nothing changed: {body}"
    );
}

#[tokio::test]
async fn limits_are_enforced_before_resolvers_run() {
    let app = TestApp::with_demo().await;
    let message = |body: &Value| {
        body["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let deep = "{ post { edges { node { author { name } categories { name } } } } }";
    assert!(v2(&app, &app.ro, deep).await.get("errors").is_none());

    let nested = "{ search(q: \"x\") { edges { node { ... on post { author { name } categories { name } } } } } }";
    assert!(v2(&app, &app.ro, nested).await.get("errors").is_none());
    // GraphiQL's introspection nests deeper than content queries may.
    let introspection = format!(
        "{{ __schema {{ types {{ fields {{ type {{ {}name{} }} }} }} }} }}",
        "ofType { ".repeat(8),
        " }".repeat(8)
    );
    let body = v2(&app, &app.ro, &introspection).await;
    assert!(body.get("errors").is_none(), "{body}");
    // A type that relates to itself can nest without end; past 10 levels it is refused.
    let relation = common::relation_property("folder");
    let folder = definition("folder", &[("parent", relation.0, relation.1)], &[]);
    assert_eq!(
        app.post("/api/v1/internal/contenttype", &app.rw, &folder)
            .await
            .0,
        200
    );
    let nested = |levels: usize| {
        format!(
            "{{ folder {{ edges {{ node {{ {}id{} }} }} }} }}",
            "parent { ".repeat(levels),
            " }".repeat(levels)
        )
    };
    assert!(v2(&app, &app.ro, &nested(6)).await.get("errors").is_none());
    assert!(
        refused(&app, &app.ro, &nested(8))
            .await
            .contains("nested too deep")
    );
    let complex = "{ post(first: 1000) { edges { node { author { name email bio } categories { name slug } tags title slug body } } } author(first: 1000) { edges { node { name email bio } } } category(first: 1000) { edges { node { name slug } } } }";
    assert!(
        refused(&app, &app.ro, complex)
            .await
            .contains("too complex")
    );
    let aliases: String = (0..31)
        .map(|i| format!("a{i}: post {{ totalCount }} "))
        .collect();
    assert!(
        refused(&app, &app.ro, &format!("{{ {aliases} }}"))
            .await
            .contains("aliases")
    );
    let huge = format!("{{ post {{ totalCount }} }} # {}", "x".repeat(40_000));
    assert!(refused(&app, &app.ro, &huge).await.contains("larger than"));
    let batch: Vec<Value> = (0..11)
        .map(|_| json!({"query": "{ post { totalCount } }"}))
        .collect();
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v2/graphql",
            &app.ro,
            Some(&json!(batch)),
        )
        .await;
    assert_eq!(status, 400);
    assert!(message(&body).contains("batch"));
    let small: Vec<Value> = (0..2)
        .map(|_| json!({"query": "{ post { totalCount } }"}))
        .collect();
    let (_, body) = app
        .call(
            Method::POST,
            "/api/v2/graphql",
            &app.ro,
            Some(&json!(small)),
        )
        .await;
    assert_eq!(body[1]["data"]["post"]["totalCount"], 4);
}

#[tokio::test]
async fn authentication_and_errors_match_rest() {
    let app = TestApp::with_demo().await;
    let unauthorized = json!({"code": 401, "message": "Unauthorized"});
    for key in ["", "cg_not_a_key"] {
        let (status, body) = app
            .call(
                Method::POST,
                "/api/v2/graphql",
                key,
                Some(&json!({"query": "{ post { totalCount } }"})),
            )
            .await;
        assert_eq!((status, body), (401, unauthorized.clone()));
    }
    assert_eq!(
        app.call(
            Method::POST,
            "/api/graphql",
            "",
            Some(&json!({"query": "{ postList { id } }"}))
        )
        .await
        .0,
        401
    );
    assert_eq!(
        app.get("/api/v2/graphql/schema", "").await,
        (401, unauthorized.clone())
    );
    let by_query = app
        .client
        .post(format!(
            "{}?auth_token={}",
            app.url("/api/v2/graphql"),
            app.ro
        ))
        .json(&json!({"query": "{ post { totalCount } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        by_query.json::<Value>().await.unwrap()["data"]["post"]["totalCount"],
        4
    );
    // Errors say what is wrong without internals.
    let body = v2(
        &app,
        &app.ro,
        r#"{ post(order_by: "nope") { totalCount } }"#,
    )
    .await;
    assert_eq!(codes(&body), ["VALIDATION"]);
    let text = body.to_string().to_lowercase();
    for leak in [
        "select",
        "sqlite",
        "postgres",
        "content_objects",
        "/src/",
        "panicked",
    ] {
        assert!(!text.contains(leak), "{leak} in {body}");
    }
}

#[tokio::test]
async fn graphiql_is_served_with_its_own_assets() {
    let app = TestApp::spawn().await;
    for path in ["/api/v2/graphql", "/api/graphql"] {
        let page = app
            .client
            .get(app.url(path))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains("/graphiql/graphiql.min.js") && html.contains(path));
        assert!(
            !html.contains("https://") && !html.contains("http://"),
            "no CDN"
        );
    }
    for (asset, kind) in [
        ("graphiql.min.js", "javascript"),
        ("graphiql.min.css", "css"),
        ("react.production.min.js", "javascript"),
        ("react-dom.production.min.js", "javascript"),
    ] {
        let response = app
            .client
            .get(app.url(&format!("/graphiql/{asset}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .contains(kind)
        );
        assert!(response.bytes().await.unwrap().len() > 10_000);
    }
    assert_eq!(app.get("/graphiql/other.js", "").await.0, 404);
}

#[tokio::test]
async fn graphiql_with_a_key_opens_on_a_first_query_over_a_type_it_reads() {
    let app = TestApp::with_demo().await;
    let page = |query: String| {
        let request = app.client.get(app.url(&format!("/api/v2/graphql{query}")));
        async move {
            let answer = request.header("accept", "text/html").send().await.unwrap();
            answer.text().await.unwrap()
        }
    };
    assert!(
        !page(String::new())
            .await
            .contains("The first five objects of")
    );
    assert!(
        !page("?auth_token=cg_wrong".into())
            .await
            .contains("The first five objects of")
    );
    let html = page(format!("?auth_token={}", app.ro)).await;
    assert!(html.contains("The first five objects of"), "{html}");
    assert!(
        html.contains("category(first: 5)"),
        "the first type of the demo"
    );
    let authors_only = app.user_key(&[("author", "r")]).await;
    let html = page(format!("?auth_token={authors_only}")).await;
    assert!(html.contains("author(first: 5)") && !html.contains("category(first"));
}

#[tokio::test]
async fn another_instance_on_the_same_database_serves_changes_at_once() {
    let app = TestApp::with_demo().await;
    let peer = app.spawn_peer().await;
    let ask = |query: &'static str| {
        let (app, peer) = (&app, peer.clone());
        async move {
            let response = app
                .client
                .post(format!("{peer}/api/v2/graphql"))
                .header("x-auth-token", &app.ro)
                .json(&json!({"query": query}))
                .send()
                .await
                .unwrap();
            response.json::<Value>().await.unwrap()
        }
    };
    assert_eq!(
        ask("{ post { totalCount } }").await["data"]["post"]["totalCount"],
        4,
        "the peer has built and cached its schema"
    );
    let text = common::text_property("Name");
    let body = definition("gadget", &[("name", text.0, text.1)], &[]);
    assert_eq!(
        app.post("/api/v1/internal/contenttype", &app.rw, &body)
            .await
            .0,
        200,
        "changed through the first instance"
    );
    assert_eq!(
        ask("{ gadget { totalCount } }").await["data"]["gadget"]["totalCount"],
        0,
        "the peer serves the new type on its next request"
    );
}

#[tokio::test]
async fn introspection_can_be_turned_off() {
    let app = TestApp::with_demo().await;
    let closed = app
        .spawn_peer_with(contentgate::app::GraphqlOptions {
            introspection: false,
        })
        .await;
    let ask = |base: String, query: &'static str| {
        let app = &app;
        async move {
            let response = app
                .client
                .post(format!("{base}/api/v2/graphql"))
                .header("x-auth-token", &app.ro)
                .json(&json!({"query": query}))
                .send()
                .await
                .unwrap();
            response.json::<Value>().await.unwrap()
        }
    };
    let open = ask(app.url(""), "{ __schema { queryType { name } } }").await;
    assert_eq!(open["data"]["__schema"]["queryType"]["name"], "Query");
    let refused = ask(closed.clone(), "{ __schema { queryType { name } } }").await;
    assert!(
        refused["data"]["__schema"].is_null() || refused.get("errors").is_some(),
        "{refused}"
    );
    assert_ne!(refused["data"]["__schema"]["queryType"]["name"], "Query");
    let data = ask(closed, "{ post { totalCount } }").await;
    assert_eq!(data["data"]["post"]["totalCount"], 4, "queries still work");
    // Suggestions are always off: a misspelt field names no alternative.
    let misspelt = ask(app.url(""), "{ post { totalCont } }").await;
    assert!(!misspelt.to_string().contains("Did you mean"), "{misspelt}");
}

#[tokio::test]
async fn huge_page_numbers_are_refused_not_overflowed() {
    let app = TestApp::with_demo().await;
    let body = gql(
        &app,
        "/api/graphql",
        &app.ro,
        "{ postList(page: 9223372036854775807, limit: 1000) { id } }",
        json!({}),
    )
    .await;
    assert_eq!(codes(&body), ["VALIDATION"], "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["errors"]["page"],
        json!(["This value is too large."])
    );
}

/// For every key kind, the content types its SDL names (object types, write inputs,
/// deletions) are exactly the definitions REST lets it see, and its object types exactly
/// the types it may read, in both APIs and through introspection.
#[tokio::test]
async fn each_key_sees_a_schema_of_exactly_its_scope() {
    let app = TestApp::with_demo().await;
    let kinds: Vec<(&str, String, &[&str])> = vec![
        ("read-only", app.ro.clone(), &["author", "category", "post"]),
        (
            "read-write",
            app.rw.clone(),
            &["author", "category", "post"],
        ),
        ("none", app.user_key(&[]).await, &[]),
        ("post=r", app.user_key(&[("post", "r")]).await, &["post"]),
        ("post=c", app.user_key(&[("post", "c")]).await, &[]),
        ("post=d", app.user_key(&[("post", "d")]).await, &[]),
        (
            "post=u author=r",
            app.user_key(&[("post", "u"), ("author", "r")]).await,
            &["author"],
        ),
        (
            "category=rd author=c",
            app.user_key(&[("category", "rd"), ("author", "c")]).await,
            &["category"],
        ),
    ];
    for (label, key, readable) in kinds {
        let text = |path: &'static str| {
            let app = &app;
            let key = key.clone();
            async move {
                app.client
                    .get(app.url(path))
                    .header("x-auth-token", key)
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap()
            }
        };
        let (sdl, legacy) = (
            text("/api/v2/graphql/schema").await,
            text("/api/graphql/schema").await,
        );
        let (_, definitions) = app.get("/api/v1/internal/contenttype", &key).await;
        let visible: Vec<&str> = definitions["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["name"].as_str().unwrap())
            .collect();
        for name in ["author", "category", "post"] {
            let capital = format!("{}{}", name[..1].to_uppercase(), &name[1..]);
            let named = sdl.contains(&format!("type {name} {{"))
                || sdl.contains(&format!("input {name}Input {{"))
                || sdl.contains(&format!("delete{capital}("));
            assert_eq!(named, visible.contains(&name), "{label}: {name}\n{sdl}");
            let object = format!("type {name} {{");
            let reads = readable.contains(&name);
            assert_eq!(sdl.contains(&object), reads, "{label}: {name}");
            assert_eq!(legacy.contains(&object), reads, "{label}: legacy {name}");
        }
        let types = v2(&app, &key, "{ __schema { types { name } } }").await;
        let names: Vec<&str> = types["data"]["__schema"]["types"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        for name in ["author", "category", "post"] {
            assert_eq!(
                names.contains(&name),
                readable.contains(&name),
                "{label}: introspection {name}"
            );
        }
    }
}

#[tokio::test]
async fn answers_keep_the_order_of_the_selection() {
    let app = TestApp::with_demo().await;
    // Selected against alphabetical order at every level, aliases included.
    let query =
        r#"{ post(first: 1) { totalCount edges { node { title z: id author { name id } } } } }"#;
    let body = json!({ "query": query }).to_string();
    let text = app
        .post_raw("/api/v2/graphql", &app.ro, Some("application/json"), &body)
        .await
        .text()
        .await
        .expect("body");
    let at = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("{needle} in {text}"))
    };
    assert!(at("\"totalCount\"") < at("\"edges\""), "{text}");
    assert!(at("\"title\"") < at("\"z\""), "{text}");
    assert!(text.contains(r#""author":[{"name":"#), "{text}");
}
