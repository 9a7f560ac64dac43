//! Per-account request quotas: the 30-day quota reached exactly, shared by every key of
//! an account and by every instance, kept across restarts; the per-second rate and its
//! recovery; 401s never counted; headers on every response; GraphQL batches counted
//! per operation.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::TestApp;
use contentgate::accounts;
use contentgate::quota::{Plans, QuotaOptions, usage};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

const PLANS: &str = r#"
default_plan = "five"

[plans.five]
requests_per_30_days = 5
requests_per_second = 1000
burst = 1000

[plans.slow]
requests_per_30_days = 1000000
requests_per_second = 0.5
burst = 2

[plans.shared]
requests_per_30_days = 300
requests_per_second = 100
burst = 20
"#;

const FLUSH: Duration = Duration::from_millis(100);
/// Any authenticated route will do; this one needs no content.
const TYPES: &str = "/api/v1/internal/contenttype";

async fn spawn() -> TestApp {
    TestApp::spawn_with(QuotaOptions {
        plans: Arc::new(Plans::parse(PLANS).unwrap()),
        flush_interval: FLUSH,
        enabled: true,
    })
    .await
}

struct Answer {
    status: u16,
    body: Value,
    headers: reqwest::header::HeaderMap,
}

impl Answer {
    fn header(&self, name: &str) -> Option<u64> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().parse().unwrap())
    }

    fn remaining(&self) -> Option<u64> {
        self.header("x-ratelimit-remaining")
    }
}

async fn send(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    Answer {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        headers,
    }
}

async fn get(base: &str, path: &str, key: &str) -> Answer {
    let mut request = reqwest::Client::new().get(format!("{base}{path}"));
    if !key.is_empty() {
        request = request.header("x-auth-token", key);
    }
    send(request).await
}

async fn graphql(base: &str, key: &str, body: Value) -> Answer {
    send(
        reqwest::Client::new()
            .post(format!("{base}/api/v2/graphql"))
            .header("x-auth-token", key)
            .json(&body),
    )
    .await
}

fn base(app: &TestApp) -> String {
    app.url("")
}

fn assert_quota_refusal(answer: &Answer) {
    assert_eq!(answer.status, 429, "{}", answer.body);
    assert_eq!(answer.remaining(), Some(0));
    let retry_after = answer.header("retry-after").expect("Retry-After");
    assert!((1..=30 * 86_400).contains(&retry_after), "{retry_after}");
}

#[tokio::test]
async fn the_quota_is_reached_exactly_and_shared_by_every_key_of_the_account() {
    let app = spawn().await;
    let base = base(&app);
    let user = app.user_key(&[]).await;
    // Bad keys are answered 401 and spend nothing.
    for bad in ["", "cg_nope", &format!("{}x", app.ro)] {
        let answer = get(&base, TYPES, bad).await;
        assert_eq!(answer.status, 401);
        assert_eq!(answer.remaining(), None);
    }
    let keys = [&app.ro, &app.rw, &user, &app.ro, &app.rw];
    for (i, key) in keys.iter().enumerate() {
        let answer = get(&base, TYPES, key).await;
        assert_eq!(answer.status, 200, "request {}", i + 1);
        assert_eq!(answer.header("x-ratelimit-limit"), Some(5));
        assert_eq!(answer.remaining(), Some(4 - i as u64));
        let reset = answer.header("x-ratelimit-reset").unwrap();
        assert!((1..=86_400).contains(&reset), "{reset}");
    }
    // Request 6, with any key and on any path, is refused.
    let answer = get(&base, TYPES, &user).await;
    assert_quota_refusal(&answer);
    assert_eq!(answer.body["code"], 429);
    let message = answer.body["message"].as_str().unwrap();
    assert!(message.contains("quota") && message.contains("5 requests per 30 days"));
    assert_quota_refusal(
        &get(
            &base,
            &format!("/api/v1/search?q=x&auth_token={}", app.ro),
            "",
        )
        .await,
    );
    let answer = graphql(&base, &app.rw, json!({"query": "{ __typename }"})).await;
    assert_quota_refusal(&answer);
    assert_eq!(
        answer.body["errors"][0]["extensions"]["code"],
        "QUOTA_EXCEEDED"
    );
    assert!(answer.body.get("data").is_none());

    // Another account on the same plan is untouched.
    let other = accounts::create(&app.keys, "other", "five").await.unwrap();
    let other_key = app.keys.list(&other.id).await.unwrap()[0]
        .key
        .clone()
        .unwrap();
    let answer = get(&base, TYPES, &other_key).await;
    assert_eq!((answer.status, answer.remaining()), (200, Some(4)));

    // A new plan applies within two flush intervals, on a running server.
    accounts::set_plan(
        &app.keys,
        &contentgate::audit::Actor::cli(),
        "default",
        "unlimited",
    )
    .await
    .unwrap();
    let answer = eventually_ok(&base, &app.ro).await;
    assert_eq!(answer.remaining(), None, "no quota, no allowance headers");
}

/// Retries until the server admits a request again (after a plan change or a wait).
async fn eventually_ok(base: &str, key: &str) -> Answer {
    for _ in 0..100 {
        let answer = get(base, TYPES, key).await;
        if answer.status == 200 {
            return answer;
        }
        assert_eq!(answer.status, 429);
        tokio::time::sleep(FLUSH).await;
    }
    panic!("never admitted again");
}

#[tokio::test]
async fn graphql_counts_each_operation_and_errors_carry_the_allowance() {
    let app = spawn().await;
    let base = base(&app);
    let three = json!([{"query": "{ __typename }"}, {"query": "{ __typename }"}, {"query": "{ __typename }"}]);
    let answer = graphql(&base, &app.ro, three.clone()).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.remaining(), Some(2));
    // Three more do not fit in the two left: all are refused, none is counted.
    let answer = graphql(&base, &app.ro, three).await;
    assert_eq!(answer.status, 429);
    assert_eq!(
        answer.body["errors"][0]["extensions"]["code"],
        "QUOTA_EXCEEDED"
    );
    assert_eq!(answer.remaining(), Some(2));
    // Error responses count and say so too.
    let answer = get(&base, "/api/v1/content/missing/x", &app.ro).await;
    assert_eq!((answer.status, answer.remaining()), (404, Some(1)));
    let answer = graphql(&base, &app.ro, json!({"query": "{ nope }"})).await;
    assert_eq!(answer.remaining(), Some(0));
    assert_quota_refusal(&get(&base, TYPES, &app.rw).await);
}

async fn stored_total(app: &TestApp) -> u64 {
    let (today, _) = usage::utc_day_and_second();
    let (_, days) = usage::plan_and_window(&app.db, &app.account_id, today)
        .await
        .unwrap()
        .unwrap();
    days.values().sum()
}

#[tokio::test]
async fn a_restart_keeps_the_count() {
    let mut app = spawn().await;
    let base = base(&app);
    for _ in 0..3 {
        assert_eq!(get(&base, TYPES, &app.ro).await.status, 200);
    }
    app.stop().await;
    assert_eq!(stored_total(&app).await, 3, "flushed on a graceful stop");
    let restarted = app.spawn_instance().await;
    let answer = get(&restarted.url, TYPES, &app.ro).await;
    assert_eq!((answer.status, answer.remaining()), (200, Some(1)));
    assert_eq!(
        get(&restarted.url, TYPES, &app.ro).await.remaining(),
        Some(0)
    );
    assert_quota_refusal(&get(&restarted.url, TYPES, &app.ro).await);
    restarted.stop().await;
    assert_eq!(stored_total(&app).await, 5, "refusals are not counted");
}

#[tokio::test]
async fn the_per_second_rate_refuses_bursts_and_recovers() {
    let app = spawn().await;
    accounts::set_plan(
        &app.keys,
        &contentgate::audit::Actor::cli(),
        "default",
        "slow",
    )
    .await
    .unwrap();
    let base = base(&app);
    for _ in 0..2 {
        assert_eq!(get(&base, TYPES, &app.ro).await.status, 200);
    }
    let answer = get(&base, TYPES, &app.rw).await;
    assert_eq!(answer.status, 429);
    assert!(
        answer.body["message"]
            .as_str()
            .unwrap()
            .contains("Rate limit")
    );
    assert!(
        answer.remaining().is_some_and(|r| r > 0),
        "the 30-day quota is not the limit hit"
    );
    let retry_after = answer.header("retry-after").unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    // Refused requests take no token: after the advertised wait the next one is admitted.
    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    assert_eq!(get(&base, TYPES, &app.rw).await.status, 200);
}

#[tokio::test]
async fn two_instances_share_one_quota_within_the_documented_overshoot() {
    let mut app = spawn().await;
    accounts::set_plan(
        &app.keys,
        &contentgate::audit::Actor::cli(),
        "default",
        "shared",
    )
    .await
    .unwrap();
    let second = app.spawn_instance().await;
    let (quota, rate, burst) = (300u64, 100.0, 20.0);
    // quota + (N - 1) * (burst + rate * (3F + 2d)), taking the flush latency d as F.
    let bound = quota + (burst + rate * 5.0 * FLUSH.as_secs_f64()).ceil() as u64;
    let mut clients = Vec::new();
    for url in [
        base(&app),
        second.url.clone(),
        base(&app),
        second.url.clone(),
    ] {
        let key = app.ro.clone();
        clients.push(tokio::spawn(async move {
            let mut admitted = 0u64;
            loop {
                let answer = get(&url, TYPES, &key).await;
                match answer.status {
                    200 => admitted += 1,
                    429 if answer.body["message"].as_str().unwrap().contains("quota") => {
                        return admitted;
                    }
                    429 => tokio::time::sleep(Duration::from_millis(5)).await,
                    other => panic!("unexpected {other}"),
                }
            }
        }));
    }
    let mut admitted = 0;
    for client in clients {
        admitted += client.await.unwrap();
    }
    eprintln!("two instances admitted {admitted} with a quota of {quota} (bound {bound})");
    assert!(
        (quota..=bound).contains(&admitted),
        "admitted {admitted}, quota {quota}, bound {bound}"
    );
    second.stop().await;
    app.stop().await;
    assert_eq!(
        stored_total(&app).await,
        admitted,
        "every admitted request is counted once"
    );
}

#[tokio::test]
async fn requests_are_admitted_while_a_flush_waits_for_the_database() {
    let mut app = spawn().await;
    accounts::set_plan(
        &app.keys,
        &contentgate::audit::Actor::cli(),
        "default",
        "shared",
    )
    .await
    .unwrap();
    let base = base(&app);
    assert_eq!(get(&base, TYPES, &app.ro).await.status, 200);
    while stored_total(&app).await < 1 {
        tokio::time::sleep(FLUSH).await;
    }
    // Another connection holds the count's row (and, on SQLite, the write lock), so
    // every flush of this account waits.
    let blocker = contentgate::db::connect(&app.database_url).await.unwrap();
    let txn = contentgate::db::begin_write(&blocker).await.unwrap();
    let mut hold = contentgate::db::Sql::new(blocker.get_database_backend());
    hold.push("UPDATE account_usage SET requests = requests WHERE account_id = ")
        .bind(app.account_id.as_str());
    txn.execute_raw(hold.statement()).await.unwrap();
    for _ in 0..10 {
        let answer = tokio::time::timeout(Duration::from_secs(5), get(&base, TYPES, &app.ro))
            .await
            .expect("admitted without waiting for the blocked flush");
        assert_eq!(answer.status, 200);
        tokio::time::sleep(FLUSH / 2).await;
    }
    txn.commit().await.unwrap();
    app.stop().await;
    assert_eq!(
        stored_total(&app).await,
        11,
        "nothing admitted meanwhile is lost"
    );
}

#[tokio::test]
async fn a_graphql_batch_larger_than_the_burst_waits_for_a_full_bucket() {
    let app = spawn().await;
    let account = accounts::create(&app.keys, "batcher", "slow")
        .await
        .unwrap();
    let key = app.keys.list(&account.id).await.unwrap()[0]
        .key
        .clone()
        .unwrap();
    let base = base(&app);
    // Burst 2, batch of 3: admitted on a full bucket, which it leaves one request in debt.
    let three = json!([{"query": "{ __typename }"}, {"query": "{ __typename }"}, {"query": "{ __typename }"}]);
    let answer = graphql(&base, &key, three).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body.as_array().unwrap().len(), 3);
    let answer = get(&base, TYPES, &key).await;
    assert_eq!(answer.status, 429);
    let retry_after = answer.header("retry-after").unwrap();
    assert!((3..=4).contains(&retry_after), "{retry_after}");
}

#[tokio::test]
async fn graphql_requests_of_user_keys_count_like_any_other() {
    let app = spawn().await;
    app.load_demo().await;
    let base = base(&app);
    let user = app.user_key(&[("post", "r")]).await;
    let answer = graphql(&base, &user, json!({"query": "{ __typename }"})).await;
    assert_eq!((answer.status, answer.remaining()), (200, Some(4)));
    let two = json!([{"query": "{ __typename }"}, {"query": "{ __typename }"}]);
    let answer = graphql(&base, &user, two.clone()).await;
    assert_eq!((answer.status, answer.remaining()), (200, Some(2)));
    let answer = graphql(&base, &user, two.clone()).await;
    assert_eq!((answer.status, answer.remaining()), (200, Some(0)));
    let answer = graphql(&base, &user, json!({"query": "{ __typename }"})).await;
    assert_quota_refusal(&answer);
    assert_quota_refusal(&graphql(&base, &user, two).await);
}
