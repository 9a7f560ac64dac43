//! PostgreSQL's planner statistics are kept fresh by the server itself, so a bulk load
//! does not leave searches and lists on a wrong plan where autovacuum is off or late.

mod common;

use std::time::Duration;

use common::{TestApp, text_property};
use contentgate::app::GraphqlOptions;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};

async fn last_analyze(app: &TestApp) -> Option<String> {
    last(app, "last_analyze").await
}

/// When `content_objects` was last analysed or vacuumed (`column` of the statistics).
async fn last(app: &TestApp, column: &str) -> Option<String> {
    let row = app
        .db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            format!(
                "SELECT {column}::text AS at FROM pg_stat_user_tables \
                 WHERE relname = 'content_objects' AND schemaname = current_schema()"
            ),
        ))
        .await
        .expect("statistics")?;
    row.try_get::<Option<String>>("", "at").expect("at")
}

#[tokio::test]
async fn a_bulk_load_gets_the_objects_table_analysed() {
    let app = TestApp::spawn().await;
    if !app.database_url.starts_with("postgres") {
        return; // SQLite's plans here do not depend on statistics.
    }
    // An instance that looks often (the default is every 10 s).
    app.spawn_peer_configured(
        GraphqlOptions {
            introspection: true,
        },
        |state| state.with_statistics_interval(Duration::from_millis(100)),
    )
    .await;
    let (schema, config) = text_property("Title");
    let definition = common::definition("note", &[("title", schema, config)], &[]);
    let (status, body) = app
        .post("/api/v1/internal/contenttype", &app.rw, &definition)
        .await;
    assert_eq!(status, 200, "{body}");
    // Few changes: nothing to do.
    let small: Vec<Value> = (0..50).map(|i| json!({"title": format!("n{i}")})).collect();
    assert_eq!(
        app.post("/api/v1/content/note/batch", &app.rw, &json!(small))
            .await
            .0,
        200
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(last_analyze(&app).await, None, "analysed after 50 rows");
    // A load of 1,100 objects: analysed within a few intervals.
    for batch in 0..11 {
        let items: Vec<Value> = (0..100)
            .map(|i| json!({"title": format!("b{batch}-{i}")}))
            .collect();
        assert_eq!(
            app.post("/api/v1/content/note/batch", &app.rw, &json!(items))
                .await
                .0,
            200
        );
    }
    let mut analysed = None;
    for _ in 0..100 {
        analysed = last_analyze(&app).await;
        if analysed.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        analysed.is_some(),
        "content_objects was not analysed after 1,150 rows"
    );
    // Vacuumed too: the visibility map lets deep pages skip the table's rows.
    assert!(last(&app, "last_vacuum").await.is_some(), "not vacuumed");
}
