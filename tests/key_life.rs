//! A key's life: what `GET /api/auth-context` says of it, expiry (the 401 of any bad
//! key), rotation with a grace period on every instance, and its last use and requests
//! per day, written with the quota flush and never per request.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::TestApp;
use contentgate::audit::Actor;
use contentgate::auth::Perms;
use contentgate::auth::access::KeyAccess;
use contentgate::auth::keys::{KeyChange, KeyLimits, KeyRef, KeyView};
use serde_json::json;

const LIST: &str = "/api/v1/content/post?limit=1";

fn post_reader() -> BTreeMap<String, Perms> {
    BTreeMap::from([(
        "post".to_owned(),
        Perms {
            read: true,
            update: true,
            ..Perms::default()
        },
    )])
}

async fn create(app: &TestApp, limits: KeyLimits) -> KeyView {
    app.keys
        .create_user_key(
            &Actor::cli(),
            &app.account_id,
            "frontend",
            &post_reader(),
            &limits,
            &app.quota.plans,
        )
        .await
        .unwrap()
}

fn in_micros(span: Duration) -> i64 {
    contentgate::db::now_micros() + span.as_micros() as i64
}

#[tokio::test]
async fn auth_context_describes_the_key_and_never_shows_it() {
    let app = TestApp::with_demo().await;
    let expires_at = in_micros(Duration::from_secs(86_400));
    let access =
        KeyAccess::parse(&["https://*.example.com".into()], &["10.0.0.0/8".into()]).unwrap();
    let view = create(
        &app,
        KeyLimits {
            expires_at: Some(expires_at),
            access,
        },
    )
    .await;
    let secret = view.key.clone().unwrap();
    let (status, body) = app.get("/api/auth-context", &secret).await;
    assert_eq!(status, 403, "the key is limited to 10.0.0.0/8: {body}");
    let open = create(
        &app,
        KeyLimits {
            expires_at: Some(expires_at),
            access: KeyAccess::default(),
        },
    )
    .await;
    let (status, body) = app
        .get("/api/auth-context", open.key.as_deref().unwrap())
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["account"], "default");
    assert_eq!(body["key"]["id"], open.id.as_str());
    assert_eq!(body["key"]["name"], "frontend");
    assert_eq!(body["key"]["kind"], "user");
    assert_eq!(
        body["key"]["rules"],
        json!([{"content_type": "post", "create": false, "read": true, "update": true, "delete": false}])
    );
    assert_eq!(
        body["key"]["expires_at"],
        open.expires_at.clone().unwrap().as_str()
    );
    assert_eq!(body["key"]["origins"], json!([]));
    assert_eq!(body["key"]["networks"], json!([]));
    assert_eq!(body["plan"]["name"], "unlimited");
    assert!(body["plan"]["requests_per_30_days"].is_null());
    assert!(!body.to_string().contains(open.key.as_deref().unwrap()));
    assert!(!body.to_string().contains("cg_"));

    let (status, body) = app.get("/api/auth-context", &app.ro).await;
    assert_eq!(status, 200);
    assert_eq!(body["key"]["kind"], "read_only");
    assert_eq!(body["key"]["rules"], json!([]));
    assert!(body["key"]["expires_at"].is_null());
    let bad = app.get("/api/auth-context", "cg_nonsense").await;
    assert_eq!(bad.0, 401);
    assert_eq!(bad, app.get("/api/v1/content/post", "cg_nonsense").await);
    // The limits a key holds, as the service reads them back.
    let listed = app
        .keys
        .get(&app.account_id, KeyRef::Id(view.id.clone()))
        .await
        .unwrap();
    assert_eq!(listed.origins, ["https://*.example.com"]);
    assert_eq!(listed.networks, ["10.0.0.0/8"]);
}

#[tokio::test]
async fn a_quota_plan_reports_what_remains() {
    let plans = contentgate::quota::Plans::parse(
        "default_plan = \"small\"\n[plans.small]\nrequests_per_30_days = 50\nrequests_per_second = 100\nburst = 100\n",
    )
    .unwrap();
    let app = TestApp::spawn_with(contentgate::quota::QuotaOptions {
        plans: std::sync::Arc::new(plans),
        flush_interval: Duration::from_millis(100),
        enabled: true,
    })
    .await;
    app.get("/api/v1/internal/contenttype", &app.ro).await;
    let (status, body) = app.get("/api/auth-context", &app.ro).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["plan"],
        json!({"name": "small", "requests_per_30_days": 50, "remaining": 48})
    );
}

#[tokio::test]
async fn an_expired_key_gets_exactly_the_401_of_a_bad_key() {
    let app = TestApp::with_demo().await;
    let unknown = app.get(LIST, "cg_nonsense").await;
    assert_eq!(unknown.0, 401);
    // Expiry is checked on every use, also of a principal this instance keeps.
    let soon = create(
        &app,
        KeyLimits {
            expires_at: Some(in_micros(Duration::from_millis(1500))),
            access: KeyAccess::default(),
        },
    )
    .await;
    let secret = soon.key.unwrap();
    assert_eq!(app.get(LIST, &secret).await.0, 200);
    assert_eq!(app.get(LIST, &secret).await.0, 200);
    tokio::time::sleep(Duration::from_millis(1700)).await;
    assert_eq!(app.get(LIST, &secret).await, unknown);
    assert_eq!(app.get("/api/auth-context", &secret).await, unknown);
    let graphql = app
        .post(
            "/api/v2/graphql",
            &secret,
            &json!({"query": "{ __typename }"}),
        )
        .await;
    assert_eq!(graphql.0, 401);
    // Moving the expiry revives it; removing it makes it last.
    let change = KeyChange {
        expires_at: Some(None),
        ..KeyChange::default()
    };
    app.keys
        .update(&Actor::cli(), &app.account_id, &soon.id, &change)
        .await
        .unwrap();
    assert_eq!(app.get(LIST, &secret).await.0, 200);
    // An expiry in the past is refused, not stored.
    let past = KeyChange {
        expires_at: Some(Some(in_micros(Duration::ZERO) - 1)),
        ..KeyChange::default()
    };
    assert!(
        app.keys
            .update(&Actor::cli(), &app.account_id, &soon.id, &past)
            .await
            .is_err()
    );
    assert_eq!(app.get(LIST, &secret).await.0, 200);
    // Application keys have no expiry to set.
    let ro = app
        .keys
        .get(&app.account_id, KeyRef::parse("read_only".into()))
        .await
        .unwrap();
    assert!(
        app.keys
            .update(&Actor::cli(), &app.account_id, &ro.id, &change)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_rotation_with_grace_keeps_the_old_secret_working_on_every_instance_until_it_ends() {
    let app = TestApp::with_demo().await;
    let peer = app.spawn_peer().await;
    let view = create(&app, KeyLimits::default()).await;
    let old = view.key.clone().unwrap();
    let rotated = app
        .keys
        .regenerate(
            &Actor::cli(),
            &app.account_id,
            KeyRef::Id(view.id.clone()),
            Some(Duration::from_secs(3600)),
        )
        .await
        .unwrap();
    let new = rotated.key.clone().unwrap();
    assert_ne!(new, old);
    assert!(rotated.previous_valid_until.is_some());
    for base in [app.url(""), peer.clone()] {
        for secret in [&old, &new] {
            let (status, _) = app
                .call_at(&base, reqwest::Method::GET, LIST, secret, None)
                .await;
            assert_eq!(status, 200);
        }
    }
    // The key is listed as in grace.
    let listed = app
        .keys
        .get(&app.account_id, KeyRef::Id(view.id.clone()))
        .await
        .unwrap();
    assert_eq!(listed.previous_valid_until, rotated.previous_valid_until);
    // A second rotation without grace ends every older secret at once (Flotiq's way).
    let again = app
        .keys
        .regenerate(
            &Actor::cli(),
            &app.account_id,
            KeyRef::Id(view.id.clone()),
            None,
        )
        .await
        .unwrap();
    let newest = again.key.unwrap();
    assert!(again.previous_valid_until.is_none());
    for base in [app.url(""), peer.clone()] {
        for (secret, status) in [(&old, 401), (&new, 401), (&newest, 200)] {
            assert_eq!(
                app.call_at(&base, reqwest::Method::GET, LIST, secret, None)
                    .await
                    .0,
                status
            );
        }
    }
    // Two rotations at once run one after the other: both new secrets work (the later
    // one current, the earlier one in its grace).
    let actor = Actor::cli();
    let regenerate = || {
        app.keys.regenerate(
            &actor,
            &app.account_id,
            KeyRef::Id(view.id.clone()),
            Some(Duration::from_secs(3600)),
        )
    };
    let (first, second) = tokio::join!(regenerate(), regenerate());
    for secret in [first.unwrap().key.unwrap(), second.unwrap().key.unwrap()] {
        assert_eq!(app.get(LIST, &secret).await.0, 200);
    }
    // A grace ends by itself, for application keys too.
    let ro = app.ro.clone();
    let short = app
        .keys
        .regenerate(
            &Actor::cli(),
            &app.account_id,
            KeyRef::parse("read_only".into()),
            Some(Duration::from_millis(1200)),
        )
        .await
        .unwrap();
    assert_eq!(app.get(LIST, &ro).await.0, 200);
    assert_eq!(app.get(LIST, short.key.as_deref().unwrap()).await.0, 200);
    tokio::time::sleep(Duration::from_millis(1400)).await;
    assert_eq!(app.get(LIST, &ro).await.0, 401);
    assert_eq!(app.get(LIST, short.key.as_deref().unwrap()).await.0, 200);
    assert!(
        app.keys
            .get(&app.account_id, KeyRef::parse("read_only".into()))
            .await
            .unwrap()
            .previous_valid_until
            .is_none()
    );
}

#[tokio::test]
async fn last_use_and_requests_per_day_are_written_with_the_flush_not_per_request() {
    // Flushed only when the server stops, so that nothing in the background writes
    // while one request's statements are recorded.
    let mut app = TestApp::spawn_with(contentgate::quota::QuotaOptions {
        flush_interval: Duration::from_secs(3600),
        ..Default::default()
    })
    .await;
    app.load_demo().await;
    let used = create(&app, KeyLimits::default()).await;
    let unused = create(&app, KeyLimits::default()).await;
    let secret = used.key.clone().unwrap();
    // Answering a request writes nothing about the key.
    let statements = app.record_statements(LIST, &secret).await;
    for statement in &statements {
        let sql = statement.to_string().to_ascii_lowercase();
        let writes = sql.starts_with("insert") || sql.starts_with("update");
        let about_keys = sql.contains("key_usage") || sql.contains("last_used_at");
        assert!(!(writes && about_keys), "{sql}");
    }
    for _ in 0..4 {
        assert_eq!(app.get(LIST, &secret).await.0, 200);
    }
    // Refused (by scope) and unauthenticated requests: the first counts, the second cannot.
    assert_eq!(app.get("/api/v1/content/author", &secret).await.0, 403);
    assert_eq!(app.get(LIST, "cg_nonsense").await.0, 401);
    app.stop().await;
    let listed = app.keys.list(&app.account_id).await.unwrap();
    let of = |id: &str| listed.iter().find(|k| k.id == id).unwrap().clone();
    let last = of(&used.id).last_used_at.expect("last use written");
    assert!(last.starts_with(&contentgate::time::format_iso(contentgate::db::now_micros())[..10]));
    assert!(of(&unused.id).last_used_at.is_none());
    let today = contentgate::quota::usage::utc_day_and_second().0;
    let days = contentgate::quota::key_use::days_of(&app.db, &used.id, today)
        .await
        .unwrap();
    assert_eq!(days.len(), 1);
    // One request inside `record_statements`, four here, one refused by scope.
    assert_eq!(days[0].requests, 6);
    assert!(
        contentgate::quota::key_use::days_of(&app.db, &unused.id, today)
            .await
            .unwrap()
            .is_empty()
    );
    // Deleting the key deletes its usage.
    app.keys
        .delete(&Actor::cli(), &app.account_id, &used.id)
        .await
        .unwrap();
    assert!(
        contentgate::quota::key_use::days_of(&app.db, &used.id, today)
            .await
            .unwrap()
            .is_empty()
    );
}
