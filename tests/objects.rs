//! Content objects over REST: CRUD, validation messages, unique and relation checks,
//! batches with partial success, soft deletion and `removed`, size and media type limits.

mod common;

use common::{TestApp, reference};
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn create_read_update_patch_and_delete() {
    let app = TestApp::with_demo().await;

    assert_eq!(total(&app).await, 4);
    let body = json!({"title": "New", "slug": "new-post", "internal": {"contentType": "forged"}});
    let (status, created) = app.post("/api/v1/content/post", &app.rw, &body).await;
    assert_eq!(status, 200, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("post-"));
    assert_eq!(
        created["internal"]["contentType"], "post",
        "client-sent internal is ignored"
    );
    assert_eq!(created["internal"]["latestVersion"], 1);
    assert_eq!(created["internal"]["objectTitle"], "New");
    assert!(
        created["internal"]["createdAt"]
            .as_str()
            .unwrap()
            .ends_with("+00:00")
    );

    assert_eq!(total(&app).await, 5, "counted as soon as created");
    let (status, read) = app
        .get(&format!("/api/v1/content/post/{id}"), &app.ro)
        .await;
    assert_eq!((status, &read), (200, &created));

    let (status, replaced) = app
        .put(
            &format!("/api/v1/content/post/{id}"),
            &app.rw,
            &json!({"title": "Replaced", "slug": "replaced"}),
        )
        .await;
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(replaced["internal"]["latestVersion"], 2);
    let (status, patched) = app
        .patch(
            &format!("/api/v1/content/post/{id}"),
            &app.rw,
            &json!({"rating": 2}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (patched["title"].as_str(), patched["rating"].as_i64()),
        (Some("Replaced"), Some(2))
    );

    let (status, body) = app
        .put(
            &format!("/api/v1/content/post/{id}"),
            &app.rw,
            &json!({"id": "other", "title": "x", "slug": "x"}),
        )
        .await;
    assert_eq!(
        (status, body),
        (400, json!({"id": ["The id cannot be changed"]}))
    );
    assert_eq!(
        app.put(
            &format!("/api/v1/content/post/{id}"),
            &app.rw,
            &json!({"slug": "no-title"})
        )
        .await
        .1,
        json!({"title": ["The property title is required"]})
    );

    let (status, body) = app
        .delete(&format!("/api/v1/content/post/{id}"), &app.rw)
        .await;
    assert_eq!(status, 200, "DELETE answers 200 with JSON for the SDK");
    assert_eq!(body["id"], json!(id));
    assert_eq!(
        app.get(&format!("/api/v1/content/post/{id}"), &app.ro)
            .await,
        (404, json!({"code": 404, "message": "Not found"}))
    );
    assert_eq!(
        app.delete(&format!("/api/v1/content/post/{id}"), &app.rw)
            .await
            .0,
        404
    );
    assert_eq!(total(&app).await, 4, "not counted once deleted");
    assert_eq!(
        app.get("/api/v1/content/nosuchtype/x", &app.ro).await.0,
        404
    );
    assert_eq!(app.get("/api/v1/content/nosuchtype", &app.ro).await.0, 404);
}

#[tokio::test]
async fn validation_messages_match_the_reference() {
    let app = TestApp::with_demo().await;
    let (status, body) = app.post("/api/v1/content/post", &app.rw, &json!({"title": "", "rating": "high", "status": "gone", "slug": "Not A Slug", "unknown": 1})).await;
    assert_eq!(status, 400);
    assert_eq!(body["title"], json!(["Must be at least 1 characters long"]));
    assert_eq!(
        body["rating"],
        json!(["String value found, but a number is required"])
    );
    assert_eq!(
        body["status"],
        json!(["The value does not match possible options"])
    );
    assert_eq!(
        body["slug"],
        json!(["Does not match the regex pattern ^[a-z0-9-]+$"])
    );
    assert_eq!(
        body["unknown"],
        json!([
            "The property unknown is not defined and the definition does not allow additional properties"
        ])
    );

    let (_, body) = app
        .post("/api/v1/content/post", &app.rw, &json!({"slug": "x"}))
        .await;
    assert_eq!(body, json!({"title": ["The property title is required"]}));

    let (_, body) = app
        .post(
            "/api/v1/content/category",
            &app.rw,
            &json!({"name": "Dup", "slug": "news"}),
        )
        .await;
    assert_eq!(body, json!({"slug": ["This value is already used"]}));
    let (_, body) = app
        .post(
            "/api/v1/content/category",
            &app.rw,
            &json!({"id": "category-news", "name": "Dup", "slug": "other"}),
        )
        .await;
    assert_eq!(body, json!({"id": ["This value is already used"]}));

    let (_, body) = app
        .post(
            "/api/v1/content/post",
            &app.rw,
            &json!({"title": "t", "slug": "t", "author": [reference("author", "nobody")]}),
        )
        .await;
    assert_eq!(
        body,
        json!({"author": ["This value does not exist in database"]})
    );
    let (_, body) = app
        .post(
            "/api/v1/content/post",
            &app.rw,
            &json!({"title": "t", "slug": "t", "author": [reference("category", "category-news")]}),
        )
        .await;
    assert_eq!(
        body,
        json!({"author": ["This value does not exist in database"]}),
        "a reference to the wrong type is refused"
    );

    // Updating an object keeps its own unique value.
    let (status, _) = app
        .patch(
            "/api/v1/content/category/category-news",
            &app.rw,
            &json!({"name": "Renamed"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        app.stored_ids("post").await.len(),
        4,
        "nothing invalid was stored"
    );
}

#[tokio::test]
async fn referenced_objects_cannot_be_deleted() {
    let app = TestApp::with_demo().await;
    let (status, body) = app
        .delete("/api/v1/content/author/author-ada", &app.rw)
        .await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({"errors": ["This content object is used in another content object."]})
        )
    );
    // Once the referencing posts are gone, the author can go.
    for post in ["post-hello", "post-filters"] {
        assert_eq!(
            app.delete(&format!("/api/v1/content/post/{post}"), &app.rw)
                .await
                .0,
            200
        );
    }
    assert_eq!(
        app.delete("/api/v1/content/author/author-ada", &app.rw)
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn batch_create_reports_partial_success_and_upserts() {
    let app = TestApp::with_demo().await;
    let items = json!([
        {"id": "c1", "name": "One", "slug": "one"},
        {"id": "c2", "name": "Two"},
        {"id": "c1", "name": "Again", "slug": "again"},
        {"id": "c3", "name": "Three", "slug": "three"}
    ]);
    let (status, report) = app
        .post("/api/v1/content/category/batch", &app.rw, &items)
        .await;
    assert_eq!(status, 400);
    assert_eq!(report["batch_total_count"], 4);
    assert_eq!(report["batch_success_count"], 2);
    assert_eq!(report["batch_error_count"], 2);
    assert_eq!(
        report["errors"][0],
        json!({"data": {"id": "c2", "name": "Two"}, "errors": {"slug": ["The property slug is required"]}})
    );
    assert_eq!(
        report["errors"][1]["errors"],
        json!({"id": ["There are duplications in object data, key: id"]})
    );
    let ids = app.stored_ids("category").await;
    assert!(
        ids.contains(&"c1".to_owned())
            && ids.contains(&"c3".to_owned())
            && !ids.contains(&"c2".to_owned())
    );

    let (status, _) = app
        .post(
            "/api/v1/content/category/batch",
            &app.rw,
            &json!([{"id": "c1", "name": "One", "slug": "one"}]),
        )
        .await;
    assert_eq!(
        status, 400,
        "without updateExisting an existing id is an error"
    );
    let (status, report) = app.post("/api/v1/content/category/batch?updateExisting=true", &app.rw, &json!([{"id": "c1", "name": "Uno", "slug": "uno"}, {"id": "c9", "name": "Nine", "slug": "nine"}])).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        report,
        json!({"batch_total_count": 2, "batch_success_count": 2, "batch_error_count": 0, "errors": []})
    );
    assert_eq!(
        app.get("/api/v1/content/category/c1", &app.ro).await.1["name"],
        "Uno"
    );

    let too_many: Vec<Value> = (0..101)
        .map(|i| json!({"name": format!("n{i}"), "slug": format!("s{i}")}))
        .collect();
    let (status, body) = app
        .post("/api/v1/content/category/batch", &app.rw, &json!(too_many))
        .await;
    assert_eq!(status, 400);
    assert!(body.get("batch_limit").is_some());
}

#[tokio::test]
async fn batch_patch_and_batch_delete() {
    let app = TestApp::with_demo().await;
    let (status, report) = app
        .patch(
            "/api/v1/content/post/batch",
            &app.rw,
            &json!([{"id": "post-hello", "rating": 1}, {"id": "post-keys", "rating": "bad"}]),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(report["batch_success_count"], 1);
    assert_eq!(
        report["errors"][0]["errors"],
        json!({"rating": ["String value found, but a number is required"]})
    );
    assert_eq!(
        app.get("/api/v1/content/post/post-hello", &app.ro).await.1["rating"],
        1
    );

    let before = app.snapshot().await;
    let (status, _) = app
        .patch(
            "/api/v1/content/post/batch",
            &app.rw,
            &json!([{"id": "post-hello", "rating": 2}, {"id": "missing", "rating": 2}]),
        )
        .await;
    assert_eq!(status, 404, "a missing object fails the whole batch patch");
    assert_eq!(app.snapshot().await, before);

    let (status, body) = app
        .post(
            "/api/v1/content/category/batch-delete",
            &app.rw,
            &json!(["category-rust", "nope", "category-news"]),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["deletedCount"], 0);
    assert_eq!(
        body["errors"],
        json!([
            "Content object: \"category-news\" is used in another content object.",
            "Content object: \"category-rust\" is used in another content object.",
            "Content object: \"nope\" doesn't exist"
        ])
    );
    let (status, body) = app
        .post(
            "/api/v1/content/post/batch-delete",
            &app.rw,
            &json!(["post-draft", "post-filters"]),
        )
        .await;
    assert_eq!((status, body), (200, json!({"deletedCount": 2})));
}

#[tokio::test]
async fn removed_lists_deleted_ids_after_a_date() {
    let app = TestApp::with_demo().await;
    let before = chrono::Utc::now() - chrono::Duration::seconds(2);
    assert_eq!(
        app.delete("/api/v1/content/post/post-draft", &app.rw)
            .await
            .0,
        200
    );
    let (status, ids) = app.get("/api/v1/content/post/removed", &app.rw).await;
    assert_eq!((status, ids), (200, json!(["post-draft"])));
    let after = before
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
        .replace(' ', "%20");
    assert_eq!(
        app.get(
            &format!("/api/v1/content/post/removed?deletedAfter={after}"),
            &app.rw
        )
        .await
        .1,
        json!(["post-draft"])
    );
    let future = (chrono::Utc::now() + chrono::Duration::hours(1))
        .to_rfc3339()
        .replace('+', "%2B");
    assert_eq!(
        app.get(
            &format!("/api/v1/content/post/removed?deletedAfter={future}"),
            &app.rw
        )
        .await
        .1,
        json!([])
    );
    assert_eq!(
        app.get(
            "/api/v1/content/post/removed?deletedAfter=notadate",
            &app.rw
        )
        .await,
        (400, json!({"deletedAfter": ["Wrong date format"]}))
    );
    // The deleted object is hidden from every read, and its id can be used again.
    assert_eq!(
        app.get("/api/v1/content/post?ids[]=post-draft", &app.ro)
            .await
            .1["total_count"],
        0
    );
    let (status, _) = app
        .post(
            "/api/v1/content/post",
            &app.rw,
            &json!({"id": "post-draft", "title": "Back", "slug": "back"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        app.get("/api/v1/content/post/removed", &app.rw).await.1,
        json!([])
    );
}

#[tokio::test]
async fn size_and_media_type_limits_and_malformed_bodies() {
    let app = TestApp::with_demo().await;
    let big = json!({"title": "big", "slug": "big", "body": "x".repeat(1024 * 1024)});
    let (status, body) = app.post("/api/v1/content/post", &app.rw, &big).await;
    assert_eq!(status, 413);
    assert_eq!(body["code"], 413);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("Content Object size limit exceeded")
    );

    let response = app
        .post_raw("/api/v1/content/post", &app.rw, Some("text/plain"), "{}")
        .await;
    assert_eq!(response.status(), 415);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"code": 415, "message": "Unsupported Media Type"})
    );
    let response = app
        .post_raw("/api/v1/content/post", &app.rw, None, "{}")
        .await;
    assert_eq!(
        response.status(),
        415,
        "a body without a content type is refused"
    );

    let response = app
        .post_raw(
            "/api/v1/content/post",
            &app.rw,
            Some("application/json;charset=utf-8"),
            "{\"title\":",
        )
        .await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"body": ["Malformed json - Syntax error"]})
    );

    // Framework rejections come in the same JSON shape.
    let (status, body) = app.get("/api/v1/content/post/%FF", &app.ro).await;
    assert_eq!((status, body["code"].as_u64()), (400, Some(400)));
    assert!(body["message"].as_str().unwrap().contains("UTF-8"));
    let (status, body) = app
        .get(
            "/api/v1/internal/contenttype?page=18446744073709551615",
            &app.ro,
        )
        .await;
    assert_eq!(
        (status, body),
        (400, json!({"page": ["This value is too large."]}))
    );

    // Every answer, errors included, is JSON that no cache or referrer keeps.
    let response = app
        .client
        .get(app.url("/api/v1/content/post/missing"))
        .header("x-auth-token", &app.ro)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    for (name, value) in [
        ("cache-control", "no-store"),
        ("referrer-policy", "no-referrer"),
        ("content-type", "application/json"),
    ] {
        assert_eq!(response.headers()[name], value);
    }
    assert!(response.headers().contains_key("x-request-id"));

    // The SDK sends Content-Type: application/json on GET and DELETE too.
    let (status, _) = app
        .call(
            Method::GET,
            "/api/v1/content/post/post-hello",
            &app.ro,
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        app.call(
            Method::POST,
            "/api/v1/content/post/post-hello",
            &app.rw,
            Some(&json!({}))
        )
        .await
        .0,
        405
    );
    assert_eq!(
        app.get("/api/v1/nothing/here", &app.ro).await,
        (404, json!({"code": 404, "message": "Not found"}))
    );
    assert_eq!(app.stored_ids("post").await.len(), 4);
}

async fn total(app: &TestApp) -> u64 {
    app.get("/api/v1/content/post", &app.ro).await.1["total_count"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn concurrent_writes_all_succeed_and_unique_values_stay_unique() {
    let app = TestApp::with_demo().await;
    let mut tasks = Vec::new();
    for n in 0..16 {
        let (client, url, key) = (
            app.client.clone(),
            app.url("/api/v1/content/post"),
            app.rw.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut statuses = Vec::new();
            for i in 0..5 {
                let body = json!({"title": format!("T{n}-{i}"), "slug": format!("t-{n}-{i}")});
                let response = client
                    .post(&url)
                    .header("x-auth-token", &key)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                statuses.push(response.status().as_u16());
            }
            // Everyone also races for the same unique slug.
            let body = json!({"title": "Race", "slug": "the-one-slug"});
            let response = client
                .post(&url)
                .header("x-auth-token", &key)
                .json(&body)
                .send()
                .await
                .unwrap();
            (statuses, response.status().as_u16())
        }));
    }
    let mut winners = 0;
    for task in tasks {
        let (statuses, race) = task.await.unwrap();
        assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
        assert!(race == 200 || race == 400, "{race}");
        winners += usize::from(race == 200);
    }
    assert_eq!(winners, 1, "exactly one object holds a unique value");
    assert_eq!(total(&app).await, 4 + 16 * 5 + 1);
}

#[tokio::test]
async fn nul_characters_are_refused_everywhere_with_a_400() {
    let app = TestApp::with_demo().await;
    let before = app.snapshot().await;
    let nul =
        |status: u16, body: &Value| status == 400 && body.to_string().contains("NUL character");
    let (status, body) = app
        .patch(
            "/api/v1/content/post/post-hello",
            &app.rw,
            &json!({"body": "a\u{0}b"}),
        )
        .await;
    assert!(nul(status, &body), "{status} {body}");
    let (status, body) = app
        .post(
            "/api/v1/content/post",
            &app.rw,
            &json!({"title": "x", "slug": "x", "tags": ["\u{0}"]}),
        )
        .await;
    assert!(nul(status, &body), "{status} {body}");
    for path in [
        "/api/v1/content/post/%00",
        "/api/v1/content/post?filters=%7B%22title%22%3A%7B%22type%22%3A%22equals%22%2C%22filter%22%3A%22%5Cu0000%22%7D%7D",
        "/api/v1/content/post?ids[]=a%00",
        "/api/v1/search?q=*&filters[tags]=%00",
    ] {
        let (status, body) = app.get(path, &app.ro).await;
        assert!(nul(status, &body), "{path}: {status} {body}");
    }
    let (status, body) = app
        .call(reqwest::Method::POST, "/api/v2/graphql", &app.rw, Some(&json!({"query": "mutation($t: String) { createPost(data: {title: $t, slug: \"nul\"}) { id } }", "variables": {"t": "a\u{0}"}})))
        .await;
    assert_eq!(status, 400);
    assert!(body.to_string().contains("NUL character"), "{body}");
    let (_, body) = app
        .call(reqwest::Method::POST, "/api/v2/graphql", &app.rw, Some(&json!({"query": "mutation { createPost(data: {title: \"a\\u0000\", slug: \"nul\"}) { id } }"})))
        .await;
    assert!(body.to_string().contains("NUL character"), "{body}");
    assert_eq!(app.snapshot().await, before);
}

/// Writes that reference an object race its deletion: either the reference lands and
/// the deletion is refused, or the deletion lands and the reference is refused; never a
/// live object pointing at a deleted one.
#[tokio::test]
async fn a_reference_and_a_deletion_of_its_target_never_both_succeed() {
    let app = TestApp::with_demo().await;
    for round in 0..15 {
        let author = format!("racer-{round}");
        let (status, _) = app
            .post(
                "/api/v1/content/author",
                &app.rw,
                &json!({"id": author, "name": "Racer"}),
            )
            .await;
        assert_eq!(status, 200);
        let mut tasks = Vec::new();
        for n in 0..4 {
            let (client, key) = (app.client.clone(), app.rw.clone());
            let (posts, authors) = (
                app.url("/api/v1/content/post"),
                app.url(&format!("/api/v1/content/author/{author}")),
            );
            let author = author.clone();
            tasks.push(tokio::spawn(async move {
                if n == 2 {
                    client.delete(&authors).header("x-auth-token", &key).header("content-type", "application/json").send().await.unwrap().status().as_u16()
                } else {
                    let body = json!({"title": "Race", "slug": format!("{author}-{n}"), "author": [common::reference("author", &author)]});
                    client.post(&posts).header("x-auth-token", &key).json(&body).send().await.unwrap().status().as_u16()
                }
            }));
        }
        for task in tasks {
            let status = task.await.unwrap();
            assert!(status == 200 || status == 400, "round {round}: {status}");
        }
        let author_live = app.stored_ids("author").await.contains(&author);
        let filters = json!({"author[*].dataUrl": {"type": "includes", "filter": format!("/api/v1/content/author/{author}")}}).to_string();
        let path = format!(
            "/api/v1/content/post?filters={}",
            form_urlencoded::byte_serialize(filters.as_bytes()).collect::<String>()
        );
        let referencing = app.get(&path, &app.ro).await.1["total_count"]
            .as_u64()
            .unwrap();
        assert!(
            author_live || referencing == 0,
            "round {round}: {referencing} posts reference a deleted author"
        );
    }
}

/// Unfiltered totals come from counts that the database keeps in every write's
/// transaction; they must equal the live rows through batches (many writes in one
/// transaction), upserts, deletions and a definition change that rewrites every object.
#[tokio::test]
async fn live_counts_stay_exact_through_batches_and_deletions() {
    let app = TestApp::with_demo().await;
    let check = |step: &'static str| {
        let app = &app;
        async move {
            let (status, list) = app.get("/api/v1/content/category?limit=1", &app.ro).await;
            assert_eq!(status, 200, "{step}");
            let stored = app.stored_ids("category").await.len();
            assert_eq!(list["total_count"], stored, "{step}");
            stored
        }
    };
    let start = check("demo").await;
    let many: Vec<Value> = (0..50)
        .map(|i| json!({"id": format!("bulk-{i}"), "name": format!("Bulk {i}"), "slug": format!("bulk-{i}")}))
        .collect();
    assert_eq!(
        app.post("/api/v1/content/category/batch", &app.rw, &json!(many))
            .await
            .0,
        200
    );
    assert_eq!(check("batch").await, start + 50);
    let mixed: Vec<Value> = (40..60)
        .map(|i| json!({"id": format!("bulk-{i}"), "name": format!("Again {i}"), "slug": format!("again-{i}")}))
        .collect();
    let (status, _) = app
        .post(
            "/api/v1/content/category/batch?updateExisting=true",
            &app.rw,
            &json!(mixed),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(check("upsert").await, start + 60);
    let doomed: Vec<String> = (0..15).map(|i| format!("bulk-{i}")).collect();
    let (status, _) = app
        .post(
            "/api/v1/content/category/batch-delete",
            &app.rw,
            &json!(doomed),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(check("batch-delete").await, start + 45);
    assert_eq!(
        app.delete("/api/v1/content/category/bulk-20", &app.rw)
            .await
            .0,
        200
    );
    assert_eq!(check("delete").await, start + 44);
    let (_, mut definition) = app
        .get("/api/v1/internal/contenttype/category", &app.rw)
        .await;
    definition["label"] = json!("Topic");
    assert_eq!(
        app.put(
            "/api/v1/internal/contenttype/category",
            &app.rw,
            &definition
        )
        .await
        .0,
        200
    );
    assert_eq!(check("definition change").await, start + 44);
}

/// A type with a unique text and a unique number, for the index of unique values.
fn unique_type() -> Value {
    common::definition(
        "sku",
        &[
            (
                "code",
                json!({"type": "string"}),
                json!({"label": "Code", "inputType": "text", "unique": true}),
            ),
            (
                "number",
                json!({"type": "number"}),
                json!({"label": "Number", "inputType": "number", "unique": true}),
            ),
            (
                "note",
                json!({"type": "string"}),
                json!({"label": "Note", "inputType": "text", "unique": false}),
            ),
        ],
        &[],
    )
}

#[tokio::test]
async fn unique_values_are_freed_by_deletes_and_follow_definition_changes() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .post("/api/v1/internal/contenttype", &app.rw, &unique_type())
        .await;
    assert_eq!(status, 200, "{body}");
    let app = &app;
    let create = |id: &str, body: Value| {
        let mut body = body;
        body["id"] = json!(id);
        async move { app.post("/api/v1/content/sku", &app.rw, &body).await }
    };
    assert_eq!(
        create("a", json!({"code": "X", "number": 1, "note": "same"}))
            .await
            .0,
        200
    );
    // 1.0 is the number 1; "1" is text, and the number field must be a number anyway.
    let (status, body) = create("b", json!({"code": "Y", "number": 1.0})).await;
    assert_eq!(
        (status, body),
        (400, json!({"number": ["This value is already used"]}))
    );
    let (status, body) = create("b", json!({"code": "X", "number": 2})).await;
    assert_eq!(
        (status, body),
        (400, json!({"code": ["This value is already used"]}))
    );
    // Values are compared exactly: another case is another value; empty is no value.
    assert_eq!(
        create("b", json!({"code": "x", "number": 2, "note": "same"}))
            .await
            .0,
        200
    );
    assert_eq!(create("c", json!({"code": "", "number": 3})).await.0, 200);
    assert_eq!(create("d", json!({"code": "", "number": 4})).await.0, 200);
    // A batch sees its own earlier items.
    let (status, report) = app
        .post(
            "/api/v1/content/sku/batch",
            &app.rw,
            &json!([{"id": "e", "code": "Z", "number": 5}, {"id": "f", "code": "Z", "number": 6}]),
        )
        .await;
    assert_eq!(status, 400, "{report}");
    assert_eq!(report["batch_success_count"], 1);
    assert_eq!(
        report["errors"][0]["errors"],
        json!({"code": ["This value is already used"]})
    );
    // A deleted object's values are free again; a changed value frees the old one.
    assert_eq!(app.delete("/api/v1/content/sku/a", &app.rw).await.0, 200);
    assert_eq!(create("g", json!({"code": "X", "number": 1})).await.0, 200);
    let (status, _) = app
        .patch("/api/v1/content/sku/g", &app.rw, &json!({"code": "W"}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        create("h", json!({"code": "X", "number": 7, "note": "same"}))
            .await
            .0,
        200
    );

    // `note` becomes unique: two objects (b, h) hold "same" already. The change is taken, the
    // first holder keeps the value, and nobody can take it again.
    let mut definition = unique_type();
    definition["metaDefinition"]["propertiesConfig"]["note"]["unique"] = json!(true);
    let (status, body) = app
        .put("/api/v1/internal/contenttype/sku", &app.rw, &definition)
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = create("i", json!({"code": "V", "number": 8, "note": "same"})).await;
    assert_eq!(
        (status, body),
        (400, json!({"note": ["This value is already used"]}))
    );
    // Each holder blocks the value: with the older one gone, the other still does.
    assert_eq!(app.delete("/api/v1/content/sku/b", &app.rw).await.0, 200);
    let (status, body) = create("i", json!({"code": "V", "number": 8, "note": "same"})).await;
    assert_eq!(
        (status, body),
        (400, json!({"note": ["This value is already used"]}))
    );
    // Numbers: large integers stay distinct, 0 and -0 are one value.
    assert_eq!(
        create("k", json!({"code": "K", "number": 9007199254740993_u64}))
            .await
            .0,
        200
    );
    assert_eq!(
        create("l", json!({"code": "L", "number": 9007199254740992_u64}))
            .await
            .0,
        200
    );
    assert_eq!(create("m", json!({"code": "M", "number": 0})).await.0, 200);
    let (status, body) = create("n", json!({"code": "N", "number": -0.0})).await;
    assert_eq!(
        (status, body),
        (400, json!({"number": ["This value is already used"]}))
    );
    // Long values are kept by digest and still compared whole.
    let long = "v".repeat(5000);
    assert_eq!(
        create("o", json!({"code": long, "number": 10})).await.0,
        200
    );
    let (status, body) = create("p", json!({"code": long, "number": 11})).await;
    assert_eq!(
        (status, body),
        (400, json!({"code": ["This value is already used"]}))
    );
    assert_eq!(
        create("p", json!({"code": format!("{long}w"), "number": 11}))
            .await
            .0,
        200
    );
    // `code` stops being unique: its values may repeat.
    definition["metaDefinition"]["propertiesConfig"]["code"]["unique"] = json!(false);
    let (status, body) = app
        .put("/api/v1/internal/contenttype/sku", &app.rw, &definition)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(create("j", json!({"code": "X", "number": 9})).await.0, 200);
}
