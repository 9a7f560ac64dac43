//! Migrations roll back and apply again, and the triggers they leave keep counts and
//! revisions.

mod common;

use migration::{Migrator, MigratorTrait};

use sea_orm::{ConnectionTrait, Statement};

async fn counts(db: &sea_orm::DatabaseConnection) -> (i64, i64) {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT CAST(COALESCE(SUM(live), 0) AS BIGINT) AS live, \
             CAST(COALESCE(SUM(revision), 0) AS BIGINT) AS revision FROM content_counts",
        ))
        .await
        .expect("counts")
        .expect("a row");
    (
        row.try_get("", "live").expect("live"),
        row.try_get("", "revision").expect("revision"),
    )
}

async fn insert_and_delete(db: &sea_orm::DatabaseConnection, account: &str, id: &str) {
    for sql in [
        format!(
            "INSERT INTO content_objects (account_id, content_type, object_id, data, created_at, \
             updated_at, version) VALUES ('{account}', 'post', '{id}', '{{}}', 1, 1, 1)"
        ),
        format!("UPDATE content_objects SET deleted_at = 2 WHERE object_id = '{id}'"),
    ] {
        db.execute_raw(Statement::from_string(db.get_database_backend(), sql))
            .await
            .expect("write");
    }
}

#[tokio::test]
async fn the_newest_migrations_roll_back_and_apply_again() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = common::fresh_database(dir.path()).await;
    let db = contentgate::db::connect(&url).await.expect("migrated");
    let keys = contentgate::auth::keys::KeyStore {
        db: db.clone(),
        secret: contentgate::auth::ServerSecret::from_material(b"test secret"),
        show_once: false,
    };
    let (account, _) = contentgate::accounts::ensure_default(&keys, "unlimited")
        .await
        .expect("account");
    assert!(
        contentgate::demo::load(&db, &account.id)
            .await
            .expect("demo")
    );
    let (live_before, _) = counts(&db).await;
    insert_and_delete(&db, &account.id, "one").await;
    let (live, revision) = counts(&db).await;
    assert_eq!(live, live_before);
    assert!(revision >= 1, "{revision}");

    Migrator::down(&db, Some(2)).await.expect("down");
    db.close().await.expect("close");
    // As a server start does: migrate, then serve on new connections.
    let db = contentgate::db::connect(&url)
        .await
        .expect("migrated again");
    insert_and_delete(&db, &account.id, "two").await;
    let (live, again) = counts(&db).await;
    assert_eq!(live, live_before);
    assert!(again > 0, "{again}");
    if url.starts_with("postgres") {
        // The search index's pending list is bounded (searches read all of it).
        use sea_orm::{ConnectionTrait, DbBackend, Statement};
        let row = db
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT array_to_string(reloptions, ',') AS options FROM pg_class \
                 WHERE relname = 'idx_content_objects_search' \
                 AND relnamespace = current_schema()::regnamespace",
            ))
            .await
            .expect("options")
            .expect("the index");
        let options: String = row.try_get("", "options").expect("options");
        assert_eq!(options, "gin_pending_list_limit=256");
    }
}

/// The search index's scope tokens are written by a trigger (SQL) and asked for by the
/// search (Rust, `migration::scope_token`): both must spell them alike, for any name.
#[tokio::test]
async fn search_scope_tokens_are_spelled_alike_by_the_trigger_and_the_search() {
    let app = common::TestApp::spawn().await;
    if app.db.get_database_backend() != sea_orm::DbBackend::Sqlite {
        return; // PostgreSQL searches its own tsvector; there is no scope column.
    }
    let type_name = "scoped_type";
    let (schema, config) = common::text_property("Title");
    let body = common::definition(type_name, &[("title", schema, config)], &[]);
    let (status, answer) = app
        .post("/api/v1/internal/contenttype", &app.rw, &body)
        .await;
    assert_eq!(status, 200, "{answer}");
    let (status, object) = app
        .post(
            &format!("/api/v1/content/{type_name}"),
            &app.rw,
            &serde_json::json!({"title": "tokens"}),
        )
        .await;
    assert_eq!(status, 200, "{object}");
    let row = app
        .db
        .query_one_raw(Statement::from_sql_and_values(
            sea_orm::DbBackend::Sqlite,
            "SELECT s.scope AS scope FROM content_search s JOIN content_objects o ON o.pk = s.rowid \
             WHERE o.object_id = ?",
            [object["id"].as_str().unwrap().into()],
        ))
        .await
        .expect("query")
        .expect("an index row");
    let stored: String = row.try_get("", "scope").expect("scope");
    let expected = format!(
        "{} {}",
        migration::scope_token('a', &app.account_id),
        migration::scope_token('t', type_name)
    );
    assert_eq!(stored, expected);
    // Beyond ASCII: the trigger's `hex()` of a text value and the Rust token agree.
    let row = app
        .db
        .query_one_raw(Statement::from_sql_and_values(
            sea_orm::DbBackend::Sqlite,
            "SELECT 't' || hex(?) AS token",
            ["zażółć gęślą".into()],
        ))
        .await
        .expect("query")
        .expect("a row");
    let token: String = row.try_get("", "token").expect("token");
    assert_eq!(token, migration::scope_token('t', "zażółć gęślą"));
}

/// The index of unique values is built from the objects already stored when the
/// migration runs: a value taken before the upgrade is still taken after it.
#[tokio::test]
async fn the_unique_values_index_is_built_from_existing_objects() {
    let app = common::TestApp::with_demo().await;
    Migrator::down(&app.db, Some(1)).await.expect("down");
    Migrator::up(&app.db, None).await.expect("up again");
    let (status, body) = app
        .post(
            "/api/v1/content/category",
            &app.rw,
            &serde_json::json!({"name": "Again", "slug": "news"}),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            400,
            serde_json::json!({"slug": ["This value is already used"]})
        )
    );
    let (status, _) = app
        .post(
            "/api/v1/content/category",
            &app.rw,
            &serde_json::json!({"name": "New", "slug": "brand-new"}),
        )
        .await;
    assert_eq!(status, 200);
}

/// How the index spells values (`migration::unique_value`), which the server's checks
/// and the migration's backfill share.
#[test]
fn values_are_kept_by_kind_and_by_digest_when_long() {
    use migration::unique_value;
    use serde_json::json;
    assert_eq!(unique_value(&json!("a")), Some("s:a".into()));
    assert_eq!(unique_value(&json!(1)), unique_value(&json!(1.0)));
    assert_eq!(unique_value(&json!(0)), unique_value(&json!(-0.0)));
    assert_ne!(
        unique_value(&json!(9_007_199_254_740_993_u64)),
        unique_value(&json!(9_007_199_254_740_992_u64))
    );
    assert_eq!(unique_value(&json!(1.5)), Some("n:1.5".into()));
    assert_ne!(unique_value(&json!(1)), unique_value(&json!("1")));
    assert_eq!(unique_value(&json!(true)), Some("b:true".into()));
    for none in [json!(null), json!(""), json!([1]), json!({"a": 1})] {
        assert_eq!(unique_value(&none), None, "{none}");
    }
    let long = unique_value(&json!("x".repeat(1000))).unwrap();
    assert!(long.starts_with("h:") && long.len() == 66, "{long}");
    assert_ne!(long, unique_value(&json!("x".repeat(1001))).unwrap());
}

#[tokio::test]
async fn processes_starting_together_on_a_new_database_migrate_one_after_the_other() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = common::fresh_database(dir.path()).await;
    // Four pools at once, as instances behind a load balancer (or a command run while
    // the server starts) would open them: each must come up on the whole schema.
    let (a, b, c, d) = tokio::join!(
        contentgate::db::connect(&url),
        contentgate::db::connect(&url),
        contentgate::db::connect(&url),
        contentgate::db::connect(&url),
    );
    for db in [a, b, c, d] {
        let db = db.expect("connected and migrated");
        assert!(
            Migrator::get_pending_migrations(&db)
                .await
                .unwrap()
                .is_empty()
        );
        db.close().await.ok();
    }
}
