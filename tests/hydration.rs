//! Hydration of related objects under the caller's read scope, and the bound on SQL
//! statements per page.

mod common;

use common::relation_property as relation;

use common::text_property as text;

use common::{TestApp, definition, reference};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

/// `top` → `middle` → `leaf`, each with a `name`.
async fn chain(app: &TestApp) {
    let (name_schema, name_config) = text("Name");
    let (leaf_schema, leaf_config) = relation("leaf");
    let (middle_schema, middle_config) = relation("middle");
    for body in [
        definition(
            "leaf",
            &[("name", name_schema.clone(), name_config.clone())],
            &[],
        ),
        definition(
            "middle",
            &[
                ("name", name_schema.clone(), name_config.clone()),
                ("leaf", leaf_schema, leaf_config),
            ],
            &[],
        ),
        definition(
            "top",
            &[
                ("name", name_schema, name_config),
                ("middle", middle_schema, middle_config),
            ],
            &[],
        ),
    ] {
        assert_eq!(
            app.post("/api/v1/internal/contenttype", &app.rw, &body)
                .await
                .0,
            200
        );
    }
    assert_eq!(
        app.post(
            "/api/v1/content/leaf",
            &app.rw,
            &json!({"id": "l1", "name": "Leaf"})
        )
        .await
        .0,
        200
    );
    assert_eq!(
        app.post(
            "/api/v1/content/middle",
            &app.rw,
            &json!({"id": "m1", "name": "Middle", "leaf": [reference("leaf", "l1")]})
        )
        .await
        .0,
        200
    );
    assert_eq!(
        app.post(
            "/api/v1/content/top",
            &app.rw,
            &json!({"id": "t1", "name": "Top", "middle": [reference("middle", "m1")]})
        )
        .await
        .0,
        200
    );
}

#[tokio::test]
async fn hydrate_replaces_references_in_order() {
    let app = TestApp::with_demo().await;
    let (_, post) = app
        .get("/api/v1/content/post/post-keys?hydrate=1", &app.ro)
        .await;
    assert_eq!(post["author"][0]["name"], "Alan Turing");
    assert_eq!(post["author"][0]["internal"]["contentType"], "author");
    let categories: Vec<&str> = post["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        categories,
        ["category-guides", "category-rust"],
        "order of references is kept"
    );
    let (_, plain) = app
        .get("/api/v1/content/post/post-keys?hydrate=0", &app.ro)
        .await;
    assert_eq!(plain["author"], json!([reference("author", "author-alan")]));
    let (_, list) = app
        .get("/api/v1/content/post?hydrate=1&order_by=slug", &app.ro)
        .await;
    assert_eq!(list["data"][0]["categories"][0]["name"], "News");
    assert_eq!(list["total_count"], 4);
}

#[tokio::test]
async fn two_levels_and_unreadable_targets_stay_as_stored() {
    let app = TestApp::spawn().await;
    chain(&app).await;
    let (_, one) = app.get("/api/v1/content/top/t1?hydrate=1", &app.ro).await;
    assert_eq!(one["middle"][0]["name"], "Middle");
    assert_eq!(
        one["middle"][0]["leaf"],
        json!([reference("leaf", "l1")]),
        "level 1 leaves deeper references alone"
    );
    let (_, two) = app.get("/api/v1/content/top/t1?hydrate=2", &app.ro).await;
    assert_eq!(two["middle"][0]["leaf"][0]["name"], "Leaf");

    // A readable middle type linking to an unreadable leaf.
    let partial = app.user_key(&[("top", "r"), ("middle", "r")]).await;
    let (_, body) = app.get("/api/v1/content/top/t1?hydrate=2", &partial).await;
    assert_eq!(body["middle"][0]["name"], "Middle");
    assert_eq!(body["middle"][0]["leaf"], json!([reference("leaf", "l1")]));
    assert!(!body.to_string().contains("\"Leaf\""));

    // Nothing readable beyond the top: the reference is returned as stored.
    let top_only = app.user_key(&[("top", "r"), ("leaf", "r")]).await;
    let (_, body) = app.get("/api/v1/content/top?hydrate=2", &top_only).await;
    assert_eq!(
        body["data"][0]["middle"],
        json!([reference("middle", "m1")])
    );
    assert!(!body.to_string().contains("\"Middle\""));
    // Create/update rights on a type do not make it readable through hydration.
    let writer = app.user_key(&[("top", "r"), ("middle", "cud")]).await;
    let (_, body) = app.get("/api/v1/content/top/t1?hydrate=1", &writer).await;
    assert_eq!(body["middle"], json!([reference("middle", "m1")]));
}

#[tokio::test]
async fn references_to_deleted_objects_are_dropped() {
    let app = TestApp::with_demo().await;
    // Deletion through the API is refused while referenced; data from elsewhere can still
    // hold a stale reference, which hydration must survive.
    app.db
        .execute_unprepared(
            "UPDATE content_objects SET deleted_at = 1 WHERE object_id = 'category-rust'",
        )
        .await
        .unwrap();
    let (status, post) = app
        .get("/api/v1/content/post/post-keys?hydrate=1", &app.ro)
        .await;
    assert_eq!(status, 200);
    let categories: Vec<&str> = post["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(categories, ["category-guides"]);
    let (_, plain) = app.get("/api/v1/content/post/post-keys", &app.ro).await;
    assert_eq!(
        plain["categories"].as_array().unwrap().len(),
        2,
        "without hydration the data is as stored"
    );
}

#[tokio::test]
async fn statements_per_page_do_not_grow_with_objects() {
    let app = TestApp::uncounted().await;
    chain(&app).await;
    let many: Vec<Value> = (0..99).map(|i| json!({"id": format!("t{}", i + 2), "name": "Top", "middle": [reference("middle", "m1")]})).collect();
    // Extra middles and leaves so that references point at many distinct objects.
    let leaves: Vec<Value> = (0..99)
        .map(|i| json!({"id": format!("l{}", i + 2), "name": "Leaf"}))
        .collect();
    assert_eq!(
        app.post("/api/v1/content/leaf/batch", &app.rw, &json!(leaves))
            .await
            .0,
        200
    );
    let middles: Vec<Value> = (0..99).map(|i| json!({"id": format!("m{}", i + 2), "name": "Middle", "leaf": [reference("leaf", &format!("l{}", i + 2))]})).collect();
    assert_eq!(
        app.post("/api/v1/content/middle/batch", &app.rw, &json!(middles))
            .await
            .0,
        200
    );
    let tops: Vec<Value> = many
        .into_iter()
        .enumerate()
        .map(|(i, mut t)| {
            t["middle"] = json!([
                reference("middle", &format!("m{}", i + 2)),
                reference("middle", "m1")
            ]);
            t
        })
        .collect();
    assert_eq!(
        app.post("/api/v1/content/top/batch", &app.rw, &json!(tops))
            .await
            .0,
        200
    );
    let key = app
        .user_key(&[("top", "r"), ("middle", "r"), ("leaf", "r")])
        .await;
    // Type models are loaded once per schema revision, by the first read after a change.
    assert_eq!(app.get("/api/v1/content/top?limit=1", &key).await.0, 200);
    for depth in [1, 2] {
        let (one, body) = app
            .statements_for(
                &format!("/api/v1/content/top?limit=1&hydrate={depth}"),
                &key,
            )
            .await;
        assert_eq!(body["count"], 1);
        let (hundred, body) = app
            .statements_for(
                &format!("/api/v1/content/top?limit=100&hydrate={depth}"),
                &key,
            )
            .await;
        assert_eq!(body["count"], 100);
        assert_eq!(body["data"][99]["middle"].as_array().unwrap().len(), 2);
        assert_eq!(
            one, hundred,
            "hydrate={depth}: statements for 1 and 100 objects"
        );
    }
}

/// On SQLite, related objects are read by id from the live-id index, never by scanning
/// every object of their type (which its planner preferred without statistics).
#[tokio::test]
async fn related_objects_are_read_by_id_whatever_their_type_holds() {
    let app = TestApp::uncounted().await;
    if !app.database_url.starts_with("sqlite") {
        return;
    }
    chain(&app).await;
    let key = app
        .user_key(&[("top", "r"), ("middle", "r"), ("leaf", "r")])
        .await;
    // Many ids: SQLite's planner weighs an IN list by its length.
    let many: String = (1..=100).map(|i| format!("&ids[]=m{i}")).collect();
    let many_ids = format!("/api/v1/content/middle?limit=100{many}");
    let refs: Vec<Value> = (1..=100)
        .map(|i| reference("middle", &format!("m{i}")))
        .collect();
    let middles: Vec<Value> = (2..=100)
        .map(
            |i| json!({"id": format!("m{i}"), "name": "Middle", "leaf": [reference("leaf", "l1")]}),
        )
        .collect();
    let (status, body) = app
        .post("/api/v1/content/middle/batch", &app.rw, &json!(middles))
        .await;
    assert_eq!(status, 200, "{body}");
    let hub = json!({"id": "hub", "name": "Hub", "middle": refs});
    assert_eq!(app.post("/api/v1/content/top", &app.rw, &hub).await.0, 200);
    for path in [
        "/api/v1/content/top?hydrate=2",
        "/api/v1/content/top/hub?hydrate=2",
        many_ids.as_str(),
    ] {
        let by_id: Vec<_> = app
            .record_statements(path, &key)
            .await
            .into_iter()
            .filter(|s| s.sql.contains("object_id IN") || s.sql.contains("object_id = "))
            .collect();
        assert!(!by_id.is_empty(), "{path}: no read by id");
        for statement in by_id {
            let explain = sea_orm::Statement::from_sql_and_values(
                sea_orm::DbBackend::Sqlite,
                format!("EXPLAIN QUERY PLAN {}", statement.sql),
                statement.values.map(|v| v.0).unwrap_or_default(),
            );
            let plan: Vec<String> = app
                .db
                .query_all_raw(explain)
                .await
                .expect("plan")
                .iter()
                .map(|row| row.try_get::<String>("", "detail").expect("detail"))
                .collect();
            // By the live-id index or by row id; never the listing index, never a scan.
            assert!(
                plan.iter().all(|line| !line.contains("content_objects")
                    || line.contains("idx_content_objects_live_id")
                    || line.contains("INTEGER PRIMARY KEY")),
                "{path}: {plan:?} for {}",
                statement.sql
            );
        }
    }
}
