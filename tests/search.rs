//! Full-text search: matching, ranking, paging, aggregations, hydration, index kept in
//! step with writes, scope on hits, totals and aggregations, and hostile query text.

mod common;

use common::TestApp;
use serde_json::{Value, json};

fn ids(body: &Value) -> Vec<String> {
    let mut ids: Vec<String> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["item"]["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn search_finds_ranks_and_shapes_hits() {
    let app = TestApp::with_demo().await;
    let (status, body) = app.get("/api/v1/search?q=ContentGate", &app.ro).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(ids(&body), ["post-hello"]);
    let hit = &body["data"][0];
    assert!(hit["score"].as_f64().unwrap() > 0.0);
    assert_eq!(hit["item"]["title"], "Hello, ContentGate");
    let object_data: Value =
        serde_json::from_str(hit["item"]["object_data"].as_str().unwrap()).unwrap();
    assert_eq!(object_data["id"], "post-hello");
    assert!(hit["item"]["@timestamp"].is_string());
    assert_eq!(body["summary"]["aggregations"], json!([]));
    assert_eq!(
        (
            body["total_count"].as_u64(),
            body["total_pages"].as_u64(),
            body["current_page"].as_u64(),
            body["count"].as_u64()
        ),
        (Some(1), Some(1), Some(1), Some(1))
    );

    // All words must match; case and accents do not matter.
    assert_eq!(
        ids(&app.get("/api/v1/search?q=scoped%20KEYS", &app.ro).await.1),
        ["post-keys"]
    );
    assert_eq!(
        ids(&app
            .get("/api/v1/search?q=scoped%20graphql", &app.ro)
            .await
            .1),
        Vec::<String>::new()
    );
    // The more often a word occurs, the higher the hit ranks.
    let (_, ranked) = app.get("/api/v1/search?q=guides", &app.ro).await;
    assert_eq!(ranked["total_count"], 3, "{ranked}");
    // Relation references are not searchable text.
    assert_eq!(
        app.get("/api/v1/search?q=author", &app.ro).await.1["total_count"],
        0,
        "'author' is only in references"
    );

    let (_, everything) = app.get("/api/v1/search?q=*&limit=4&page=3", &app.ro).await;
    assert_eq!(
        (
            everything["total_count"].as_u64(),
            everything["total_pages"].as_u64(),
            everything["count"].as_u64()
        ),
        (Some(9), Some(3), Some(1))
    );
    assert_eq!(app.get("/api/v1/search", &app.ro).await.1["total_count"], 9);
    let (_, posts) = app
        .get(
            "/api/v1/search?q=*&content_type[]=post&content_type[]=author",
            &app.ro,
        )
        .await;
    assert_eq!(posts["total_count"], 6);
    let (_, categories) = app
        .get(
            "/api/v1/search?q=*&content_type[]=category&order_by=name&order_direction=desc",
            &app.ro,
        )
        .await;
    let names: Vec<&str> = categories["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["item"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Rust", "News", "Guides"]);
    let (_, published) = app
        .get("/api/v1/search?q=*&filters[status]=published", &app.ro)
        .await;
    assert_eq!(ids(&published), ["post-hello", "post-keys"]);
    let (_, in_slug) = app
        .get(
            "/api/v1/search?q=lists&fields[]=slug^2&fields[]=name",
            &app.ro,
        )
        .await;
    assert_eq!(ids(&in_slug), ["post-filters"]);
    assert_eq!(in_slug["data"][0]["score"], 2.0);
    let (_, hydrated) = app.get("/api/v1/search?q=scoped&hydrate=1", &app.ro).await;
    assert_eq!(
        hydrated["data"][0]["item"]["author"][0]["name"],
        "Alan Turing"
    );
}

#[tokio::test]
async fn aggregations_count_terms_of_matched_objects() {
    let app = TestApp::with_demo().await;
    let (_, body) = app
        .get(
            "/api/v1/search?q=*&content_type[]=post&aggregate_by[]=status&aggregate_by[]=tags",
            &app.ro,
        )
        .await;
    assert_eq!(
        body["summary"]["aggregations"]["status"]["buckets"],
        json!([{"key": "published", "doc_count": 2}, {"key": "draft", "doc_count": 1}, {"key": "review", "doc_count": 1}])
    );
    assert_eq!(
        body["summary"]["aggregations"]["status"]["sum_other_doc_count"],
        0
    );
    assert_eq!(
        body["summary"]["aggregations"]["tags"]["buckets"][0],
        json!({"key": "guides", "doc_count": 2})
    );
    let (_, narrowed) = app
        .get("/api/v1/search?q=guides&aggregate_by[]=status", &app.ro)
        .await;
    let buckets = &narrowed["summary"]["aggregations"]["status"]["buckets"];
    assert_eq!(
        buckets,
        &json!([{"key": "published", "doc_count": 1}, {"key": "review", "doc_count": 1}]),
        "only matched objects count"
    );
}

#[tokio::test]
async fn the_index_follows_every_write() {
    let app = TestApp::with_demo().await;
    let search = |q: &'static str| {
        let app = &app;
        async move {
            app.get(&format!("/api/v1/search?q={q}"), &app.ro).await.1["total_count"]
                .as_u64()
                .unwrap()
        }
    };
    let (status, _) = app
        .post(
            "/api/v1/content/post",
            &app.rw,
            &json!({"id": "p-new", "title": "Zanzibar", "slug": "p-new"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        search("zanzibar").await,
        1,
        "searchable as soon as the write is acknowledged"
    );
    assert_eq!(
        app.patch(
            "/api/v1/content/post/p-new",
            &app.rw,
            &json!({"title": "Kilimanjaro"})
        )
        .await
        .0,
        200
    );
    assert_eq!(
        (search("zanzibar").await, search("kilimanjaro").await),
        (0, 1)
    );
    assert_eq!(
        app.delete("/api/v1/content/post/p-new", &app.rw).await.0,
        200
    );
    assert_eq!(search("kilimanjaro").await, 0, "never found after deletion");
    assert_eq!(
        app.post(
            "/api/v1/content/post/batch",
            &app.rw,
            &json!([{"title": "Timbuktu", "slug": "timbuktu"}])
        )
        .await
        .0,
        200
    );
    assert_eq!(search("timbuktu").await, 1);
}

#[tokio::test]
async fn hits_totals_and_aggregations_come_only_from_readable_types() {
    let app = TestApp::with_demo().await;
    let posts_only = app.user_key(&[("post", "r"), ("author", "cud")]).await;
    // "program" is only in an author's bio.
    assert_eq!(
        app.get("/api/v1/search?q=program", &app.ro).await.1["total_count"],
        1
    );
    assert_eq!(
        app.get("/api/v1/search?q=program", &posts_only).await.1["total_count"],
        0
    );
    let (_, all) = app
        .get(
            "/api/v1/search?q=*&aggregate_by[]=name&limit=2",
            &posts_only,
        )
        .await;
    assert_eq!(
        (
            all["total_count"].as_u64(),
            all["total_pages"].as_u64(),
            all["count"].as_u64()
        ),
        (Some(4), Some(2), Some(2))
    );
    assert!(
        all["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["item"]["internal"]["contentType"] == "post")
    );
    assert_eq!(
        all["summary"]["aggregations"]["name"]["buckets"],
        json!([]),
        "authors' and categories' names are not counted"
    );
    assert_eq!(
        app.get("/api/v1/search?q=*&content_type[]=author", &posts_only)
            .await,
        (403, json!({"code": 403, "message": "Access denied"}))
    );
    let (_, hydrated) = app
        .get("/api/v1/search?q=scoped&hydrate=1", &posts_only)
        .await;
    assert_eq!(
        hydrated["data"][0]["item"]["author"],
        json!([common::reference("author", "author-alan")])
    );
    let nothing = app.user_key(&[]).await;
    let writer = app.user_key(&[("author", "cud"), ("post", "cud")]).await;
    for key in [&nothing, &writer] {
        for q in ["*", "program", "post"] {
            let (status, body) = app.get(&format!("/api/v1/search?q={q}"), key).await;
            assert_eq!(
                (status, body["total_count"].as_u64()),
                (200, Some(0)),
                "{q}"
            );
        }
    }
    // The index-only plan (relevance order) and the plan that reads rows (another
    // order) count the same hits.
    for key in [&app.ro, &posts_only] {
        let (_, ranked) = app.get("/api/v1/search?q=post", key).await;
        let (_, ordered) = app.get("/api/v1/search?q=post&order_by=id", key).await;
        assert!(ranked["total_count"].as_u64() > Some(0), "{ranked}");
        assert_eq!(ranked["total_count"], ordered["total_count"]);
    }
    assert_eq!(app.get("/api/v1/search?q=*", "").await.0, 401);
}

#[tokio::test]
async fn hostile_query_text_is_inert() {
    let app = TestApp::with_demo().await;
    let before = app.snapshot().await;
    for q in [
        "\"",
        "NEAR(scoped keys)",
        "scoped*",
        "-scoped",
        "title:scoped",
        "((scoped",
        "scoped)",
        "'; DROP TABLE content_objects; --",
        "a OR 1=1",
        "%",
        "_",
        "\\",
        "scoped AND NOT keys",
        "{\"$ne\":1}",
    ] {
        let encoded: String = form_urlencoded::byte_serialize(q.as_bytes()).collect();
        let (status, body) = app
            .get(&format!("/api/v1/search?q={encoded}"), &app.ro)
            .await;
        assert!(status == 200 || status == 400, "{q}: {status} {body}");
        if status == 400 {
            assert_eq!(
                body,
                json!({"q": ["The query has no words to search for"]}),
                "{q}"
            );
        }
    }
    // Operators are plain words: `NEAR(scoped keys)` needs the word "near".
    assert_eq!(
        app.get("/api/v1/search?q=NEAR(scoped%20keys)", &app.ro)
            .await
            .1["total_count"],
        0
    );
    assert_eq!(
        app.get("/api/v1/search?q=scoped*", &app.ro).await.1["total_count"],
        1
    );
    for (query, param) in [
        ("order_by=a;b", "order_by"),
        ("filters[a%20b]=x", "filters"),
        ("aggregate_by[]=x)", "aggregate_by"),
        ("fields[]=title^x", "fields"),
        ("limit=5000", "limit"),
        ("hydrate=9", "hydrate"),
        ("geo_filters[x]=geo_distance,1km,1,1", "geo_filters"),
        ("post_filters[status]=draft", "post_filters"),
    ] {
        let (status, body) = app
            .get(&format!("/api/v1/search?q=x&{query}"), &app.ro)
            .await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(body.get(param).is_some(), "{query}: {body}");
    }
    assert_eq!(app.snapshot().await, before);
}

/// A term with thousands of hits is ranked by another plan on SQLite (from the index
/// alone, with the scope as tokens of the index); hits, totals and order obey the same
/// scope as for a rare term.
#[tokio::test]
async fn a_very_common_term_is_ranked_within_the_scope_too() {
    let app = TestApp::spawn().await;
    let (schema, config) = common::text_property("Text");
    for name in ["note", "memo"] {
        let body = common::definition(name, &[("text", schema.clone(), config.clone())], &[]);
        assert_eq!(
            app.post("/api/v1/internal/contenttype", &app.rw, &body)
                .await
                .0,
            200
        );
    }
    for batch in 0..21 {
        let notes: Vec<Value> = (0..100)
            .map(|i| {
                let n = batch * 100 + i;
                // Every tenth note says "common" twice, so ranks higher.
                let text = if n % 10 == 0 {
                    "common common"
                } else {
                    "common"
                };
                json!({"id": format!("note-{n}"), "text": format!("{text} note {n}")})
            })
            .collect();
        assert_eq!(
            app.post("/api/v1/content/note/batch", &app.rw, &json!(notes))
                .await
                .0,
            200
        );
    }
    let memos: Vec<Value> = (0..30)
        .map(|n| json!({"id": format!("memo-{n}"), "text": "common common common memo"}))
        .collect();
    assert_eq!(
        app.post("/api/v1/content/memo/batch", &app.rw, &json!(memos))
            .await
            .0,
        200
    );
    let notes_only = app.user_key(&[("note", "r"), ("memo", "cud")]).await;
    let memos_only = app.user_key(&[("memo", "r")]).await;

    let (_, all) = app.get("/api/v1/search?q=common&limit=40", &app.ro).await;
    assert_eq!(all["total_count"], 2130);
    let types: Vec<&str> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["item"]["internal"]["contentType"].as_str().unwrap())
        .collect();
    // The memos say it three times in fewer words: they rank first, then notes.
    assert!(types[..30].iter().all(|t| *t == "memo"), "{types:?}");
    assert!(types[30..].iter().all(|t| *t == "note"), "{types:?}");
    let scores: Vec<f64> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["score"].as_f64().unwrap())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");

    let (_, notes) = app
        .get("/api/v1/search?q=common&limit=40", &notes_only)
        .await;
    assert_eq!(notes["total_count"], 2100);
    assert_eq!(notes["count"], 40);
    assert!(notes["data"].as_array().unwrap().iter().all(|h| {
        h["item"]["internal"]["contentType"] == "note"
            && h["item"]["text"]
                .as_str()
                .unwrap()
                .starts_with("common common")
    }));
    let (_, ordered) = app
        .get("/api/v1/search?q=common&order_by=id", &notes_only)
        .await;
    assert_eq!(ordered["total_count"], 2100);
    let (_, memos) = app.get("/api/v1/search?q=common", &memos_only).await;
    assert_eq!(memos["total_count"], 30);
    let (_, last) = app
        .get("/api/v1/search?q=common&limit=100&page=22", &notes_only)
        .await;
    assert_eq!(last["count"], 0);
    assert_eq!(last["total_count"], 2100);
}

/// Two accounts with the same type names never see each other's objects, in the plan
/// that ranks from the index alone (over 2,000 hits), the one that counts from the index
/// and reads rows, and the one that reads rows in another order.
#[tokio::test]
async fn searches_never_cross_accounts_in_either_plan() {
    let app = TestApp::spawn().await;
    let other = contentgate::accounts::create(&app.keys, "other", "unlimited")
        .await
        .unwrap();
    let other_rw = app
        .keys
        .list(&other.id)
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.kind == "read_write")
        .and_then(|k| k.key)
        .unwrap();
    let (schema, config) = common::text_property("Text");
    let note = common::definition("note", &[("text", schema, config)], &[]);
    for (key, prefix, total) in [(&app.rw, "mine", 2_100), (&other_rw, "theirs", 2_050)] {
        assert_eq!(
            app.post("/api/v1/internal/contenttype", key, &note).await.0,
            200
        );
        for batch in 0..total / 100 + 1 {
            let notes: Vec<Value> = (batch * 100..(batch * 100 + 100).min(total))
                .map(|n| {
                    let rare = if n % 100 == 0 { " rare" } else { "" };
                    json!({"id": format!("{prefix}-{n}"), "text": format!("common note {n}{rare}")})
                })
                .collect();
            if notes.is_empty() {
                continue;
            }
            let (status, body) = app
                .post("/api/v1/content/note/batch", key, &json!(notes))
                .await;
            assert_eq!(status, 200, "{body}");
        }
    }
    let other_reader = {
        let rules = [(
            "note".to_owned(),
            contentgate::auth::Perms {
                read: true,
                ..Default::default()
            },
        )];
        app.keys
            .create_user_key(
                &contentgate::audit::Actor::cli(),
                &other.id,
                "reader",
                &rules.into_iter().collect(),
                &Default::default(),
                &app.quota.plans,
            )
            .await
            .unwrap()
            .key
            .unwrap()
    };
    let mine_reader = app.user_key(&[("note", "r")]).await;
    for (key, prefix, total) in [
        (&app.rw, "mine", 2_100),
        (&mine_reader, "mine", 2_100),
        (&other_rw, "theirs", 2_050),
        (&other_reader, "theirs", 2_050),
    ] {
        // (query, total, hits on the page): pages past the last hit are counted too.
        for (query, expected, on_page) in [
            ("q=common&limit=50", total, 50),
            ("q=rare&limit=50", 21, 21),
            ("q=common&order_by=id&limit=50", total, 50),
            ("q=rare&order_by=id&limit=50", 21, 21),
            ("q=common&limit=50&page=42", total, total - 2_050),
            ("q=common&limit=50&page=43", total, 0),
            ("q=rare&limit=10&page=3", 21, 1),
            ("q=rare&limit=10&page=4", 21, 0),
            ("q=rare&order_by=id&limit=50&page=2", 21, 0),
        ] {
            let (status, body) = app.get(&format!("/api/v1/search?{query}"), key).await;
            assert_eq!(status, 200);
            assert_eq!(body["total_count"], expected, "{prefix} {query}");
            let hits = body["data"].as_array().unwrap();
            assert_eq!(hits.len() as u64, on_page, "{prefix} {query}");
            assert_eq!(
                hits.len() as u64,
                body["count"].as_u64().unwrap(),
                "{prefix} {query}"
            );
            for hit in hits {
                let id = hit["item"]["id"].as_str().unwrap();
                assert!(
                    id.starts_with(&format!("{prefix}-")),
                    "{prefix} {query}: {id}"
                );
                assert_eq!(hit["item"]["internal"]["contentType"], "note");
            }
        }
    }
}

#[tokio::test]
async fn a_property_named_like_a_hit_field_does_not_shadow_it() {
    let app = TestApp::spawn().await;
    let (text_schema, text_config) = common::text_property("Text");
    let props = [
        ("title", text_schema.clone(), text_config.clone()),
        ("object_data", text_schema, text_config),
    ];
    let (status, body) = app
        .post(
            "/api/v1/internal/contenttype",
            &app.rw,
            &common::definition("note", &props, &[]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let note = json!({"id": "note-1", "title": "quokka", "object_data": "stored"});
    let (status, body) = app.post("/api/v1/content/note", &app.rw, &note).await;
    assert_eq!(status, 200, "{body}");
    let text = app
        .client
        .get(app.url("/api/v1/search?q=quokka"))
        .header("x-auth-token", &app.ro)
        .send()
        .await
        .expect("search")
        .text()
        .await
        .expect("body");
    // Once, as the hit's own field: the object as JSON text.
    assert_eq!(text.matches("\"object_data\":").count(), 1, "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    let object: Value =
        serde_json::from_str(body["data"][0]["item"]["object_data"].as_str().unwrap()).unwrap();
    assert_eq!(object["object_data"], "stored");
    assert_eq!(object["id"], "note-1");
    // GraphQL's hits are the objects themselves: `object_data` is the property.
    let query = r#"{ search(q: "quokka") { edges { node { ... on note { id object_data } } } } }"#;
    let (status, body) = app
        .call(
            reqwest::Method::POST,
            "/api/v2/graphql",
            &app.ro,
            Some(&json!({ "query": query })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["search"]["edges"][0]["node"],
        json!({"id": "note-1", "object_data": "stored"}),
        "{body}"
    );
}
