//! Requests an attacker would send with an ordinary key: nesting that would overflow
//! the stack, fragments and relations that would multiply the work, hydration that
//! grows with the square of the references, writes that would reveal what the key may
//! not read, bodies and inputs past every bound. Each is refused with a clear 4xx (or
//! answered within its bound), and the server keeps serving.

mod common;

use common::{TestApp, definition, reference, relation_property, text_property};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn graphql(app: &TestApp, path: &str, key: &str, body: &Value) -> (u16, Value) {
    app.call(Method::POST, path, key, Some(body)).await
}

/// The message of a GraphQL request refused before execution.
fn refusal(status: u16, body: &Value) -> String {
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_REQUEST",
        "{body}"
    );
    body["errors"][0]["message"].as_str().unwrap().to_owned()
}

/// A GET with these query parameters (encoded by the client) and the read-only key.
async fn get_with(app: &TestApp, path: &str, query: &[(&str, String)]) -> (u16, Value) {
    let response = app
        .client
        .get(app.url(path))
        .query(query)
        .header("x-auth-token", &app.ro)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Creates `items` of `type_name` with the read-write key, 100 per batch.
async fn create_all(app: &TestApp, type_name: &str, items: &[Value]) {
    for chunk in items.chunks(100) {
        let (status, body) = app
            .post(
                &format!("/api/v1/content/{type_name}/batch"),
                &app.rw,
                &json!(chunk),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
}

async fn still_serving(app: &TestApp) {
    let (status, body) = graphql(
        app,
        "/api/v2/graphql",
        &app.ro,
        &json!({"query": "{ post { totalCount } }"}),
    )
    .await;
    assert_eq!(
        (status, &body["data"]["post"]["totalCount"]),
        (200, &json!(4))
    );
}

#[tokio::test]
async fn deep_nesting_is_refused_before_anything_recurses() {
    let app = TestApp::with_demo().await;
    let none = app.user_key(&[]).await;
    for levels in [2_000, 100_000] {
        let open_close = |open: &str, close: &str| (open.repeat(levels), close.repeat(levels));
        let (lists_open, lists_close) = open_close("[", "]");
        let (objects_open, objects_close) = open_close("{a:", "}");
        let (sets_open, sets_close) = open_close("{ a ", "}");
        let documents = [
            (
                "/api/v2/graphql",
                format!("{{ post(id: {lists_open}1{lists_close}) {{ totalCount }} }}"),
            ),
            (
                "/api/graphql",
                format!("{{ postList(filter: {objects_open}1{objects_close}) {{ id }} }}"),
            ),
            (
                "/api/v2/graphql",
                format!("{{ post {sets_open}{sets_close} }}"),
            ),
        ];
        for (path, query) in &documents {
            for key in [&app.ro, &none] {
                let (status, body) = graphql(&app, path, key, &json!({ "query": query })).await;
                let message = refusal(status, &body);
                assert!(
                    message.contains("nests brackets") || message.contains("larger than"),
                    "{message}"
                );
                // The same over GET (a URI of 100,000 levels is past any URI limit).
                if levels > 10_000 {
                    continue;
                }
                let response = app
                    .client
                    .get(app.url(path))
                    .query(&[("query", query.as_str())])
                    .header("x-auth-token", key)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 400);
                let body: Value = response.json().await.unwrap();
                assert!(body.is_object());
            }
        }
        // Variables nested past the bound, whether JSON parses them or not.
        let deep_variable = format!(
            r#"{{"query":"{{ post {{ totalCount }} }}","variables":{{"v":{lists_open}{lists_close}}}}}"#
        );
        let response = app
            .post_raw(
                "/api/v2/graphql",
                &none,
                Some("application/json"),
                &deep_variable,
            )
            .await;
        assert_eq!(response.status(), 400);
        let body: Value = response.json().await.unwrap();
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(
            !message.contains("InvalidRequest"),
            "no Rust debug text: {message}"
        );
    }
    let variables = json!({"query": "{ post { totalCount } }", "variables": {"v": serde_json::from_str::<Value>(&format!("{}{}", "[".repeat(100), "]".repeat(100))).unwrap()}});
    let (status, body) = graphql(&app, "/api/v2/graphql", &app.ro, &variables).await;
    assert!(refusal(status, &body).contains("nests more than 64"));
    // A chain of fragments, and a fragment that spreads itself.
    let chain: String = (0..500)
        .map(|i| format!("fragment f{i} on post {{ ...f{} }} ", i + 1))
        .collect();
    let query = format!(
        "{{ post {{ edges {{ node {{ ...f0 }} }} }} }} {chain} fragment f500 on post {{ id }}"
    );
    let (status, body) =
        graphql(&app, "/api/v2/graphql", &app.ro, &json!({ "query": query })).await;
    assert!(refusal(status, &body).contains("inside one another"));
    let cycle = "{ post { edges { node { ...a } } } } fragment a on post { ...b } fragment b on post { ...a }";
    let (status, body) =
        graphql(&app, "/api/v2/graphql", &app.ro, &json!({ "query": cycle })).await;
    assert!(refusal(status, &body).contains("spreads itself"));
    still_serving(&app).await;
}

/// A type `node` whose relation `children` points at `node`, and an object `self`
/// whose children are `self` `fanout` times.
async fn self_referencing(app: &TestApp, fanout: usize) {
    let (schema, config) = relation_property("node");
    let node = definition("node", &[("children", schema, config)], &[]);
    let (status, body) = app
        .post("/api/v1/internal/contenttype", &app.rw, &node)
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = app
        .post("/api/v1/content/node", &app.rw, &json!({"id": "self"}))
        .await;
    assert_eq!(status, 200);
    let children = vec![reference("node", "self"); fanout];
    let (status, body) = app
        .patch(
            "/api/v1/content/node/self",
            &app.rw,
            &json!({ "children": children }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn fragments_count_as_if_written_inline() {
    let app = TestApp::spawn().await;
    self_referencing(&app, 5).await;
    // The issue's reproduction: accepted at depth 13 before, 43 s of CPU.
    let attack = r#"{ a: node(id:"self"){ edges{ node{ ...K } } }
        b: node(id:"self"){ edges{ node{ children{children{children{children{ ...K }}}} } } } }
        fragment K on node { children{children{children{children{children{id}}}}} }"#;
    let (status, body) = graphql(
        &app,
        "/api/v2/graphql",
        &app.ro,
        &json!({ "query": attack }),
    )
    .await;
    assert!(refusal(status, &body).contains("nested too deep"));
    // The inlined and the fragment forms of one query get the same figures.
    let inline = "{ a: node(first: 50) { edges { node { children { children { id } } x: children { id } } } } b: node(first: 50) { edges { node { children { children { id } } x: children { id } } } } }";
    let spread = "{ a: node(first: 50) { edges { node { ...F } } } b: node(first: 50) { edges { node { ...F } } } } fragment F on node { children { ...G } x: children { id } } fragment G on node { children { id } }";
    let refused = |query: &'static str| {
        let app = &app;
        async move {
            let (status, body) =
                graphql(app, "/api/v2/graphql", &app.ro, &json!({ "query": query })).await;
            (status, body)
        }
    };
    let (inline_status, inline_body) = refused(inline).await;
    let (spread_status, spread_body) = refused(spread).await;
    assert_eq!(inline_status, spread_status);
    assert_eq!(inline_body["errors"], spread_body["errors"]);
    // Aliases inside a fragment count once per spread.
    let aliased: String = (0..8).map(|i| format!("x{i}: id ")).collect();
    let query = format!(
        "{{ node {{ edges {{ node {{ ...A }} }} }} n: node {{ edges {{ node {{ ...A }} }} }} m: node {{ edges {{ node {{ ...A }} }} }} o: node {{ edges {{ node {{ ...A }} }} }} }} fragment A on node {{ {aliased} }}"
    );
    let (status, body) =
        graphql(&app, "/api/v2/graphql", &app.ro, &json!({ "query": query })).await;
    assert!(refusal(status, &body).contains("aliases"), "{body}");
}

#[tokio::test]
async fn one_request_resolves_a_bounded_number_of_objects() {
    let app = TestApp::spawn().await;
    // A hub holding 100 middle nodes, each holding the same 100 small leaves: few bytes,
    // many objects.
    self_referencing(&app, 0).await;
    let leaves: Vec<Value> = (0..100).map(|i| json!({"id": format!("t{i}")})).collect();
    let middles: Vec<Value> = (0..100)
        .map(|i| json!({"id": format!("m{i}"), "children": (0..100).map(|j| reference("node", &format!("t{j}"))).collect::<Vec<_>>()}))
        .collect();
    create_all(&app, "node", &leaves).await;
    create_all(&app, "node", &middles).await;
    let hub: Vec<Value> = (0..100)
        .map(|i| reference("node", &format!("m{i}")))
        .collect();
    let (status, _) = app
        .post(
            "/api/v1/content/node",
            &app.rw,
            &json!({"id": "hub", "children": hub}),
        )
        .await;
    assert_eq!(status, 200);
    // Within the complexity limit (relations assumed small), yet 1 + 100 + 10,000
    // objects: refused at the fields that would pass 10,000, before loading them.
    let query = r#"{ node(id: "hub") { edges { node { children { children { id } } } } } }"#;
    let (status, body) =
        graphql(&app, "/api/v2/graphql", &app.ro, &json!({ "query": query })).await;
    assert_eq!(status, 200);
    let errors = body["errors"].as_array().expect("errors");
    assert!(!errors.is_empty());
    assert!(
        errors.iter().all(|e| e["message"]
            .as_str()
            .unwrap()
            .contains("more than 10000 objects")),
        "{errors:?}"
    );
    assert_eq!(errors[0]["extensions"]["code"], "BAD_REQUEST");
    let middles = body["data"]["node"]["edges"][0]["node"]["children"]
        .as_array()
        .unwrap();
    let resolved: usize = middles
        .iter()
        .filter_map(|m| m["children"].as_array())
        .map(Vec::len)
        .sum();
    assert!(1 + 100 + resolved <= 10_000, "{resolved}");
    // One level less is within the budget, and a batch shares one budget.
    let within = query.replace("children { children { id } }", "children { id }");
    let (_, body) = graphql(
        &app,
        "/api/v2/graphql",
        &app.ro,
        &json!({ "query": within }),
    )
    .await;
    assert!(body.get("errors").is_none(), "{body}");
    let children = &body["data"]["node"]["edges"][0]["node"]["children"];
    assert_eq!(children.as_array().unwrap().len(), 100);
    // 60 middles and their 6,000 leaves fit once; two operations of one batch draw on
    // the same budget (they run together, so either may be the one refused).
    let half = r#"{ node(first: 60, filter: {id: {type: "startsWith", filter: "m"}}) { edges { node { children { id } } } } }"#;
    let (_, body) = graphql(&app, "/api/v2/graphql", &app.ro, &json!({ "query": half })).await;
    assert!(body.get("errors").is_none(), "{body}");
    let batch: Vec<Value> = (0..2).map(|_| json!({ "query": half })).collect();
    let (status, body) = graphql(&app, "/api/v2/graphql", &app.ro, &json!(batch)).await;
    assert_eq!(status, 200);
    assert!(body.to_string().contains("more than 10000 objects"));
    let resolved: usize = (0..2)
        .flat_map(|op| {
            body[op]["data"]["node"]["edges"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|edge| 1 + edge["node"]["children"].as_array().map_or(0, Vec::len))
        .sum();
    assert!(resolved <= 10_000, "{resolved}");
}

/// Types `a → b → c`, where `a-0` holds `n` references to `b` objects and each of them
/// `n` references to `c` objects.
async fn cube(app: &TestApp, n: usize) {
    for (name, target) in [("c", None), ("b", Some("c")), ("a", Some("b"))] {
        let mut properties = vec![("title", text_property("T").0, text_property("T").1)];
        if let Some(target) = target {
            let (schema, config) = relation_property(target);
            properties.push(("next", schema, config));
        }
        let (status, body) = app
            .post(
                "/api/v1/internal/contenttype",
                &app.rw,
                &definition(name, &properties, &[]),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let refs = |target: &str| -> Vec<Value> {
        (0..n)
            .map(|i| reference(target, &format!("{target}-{i}")))
            .collect()
    };
    let cs: Vec<Value> = (0..n)
        .map(|i| json!({"id": format!("c-{i}"), "title": "leaf"}))
        .collect();
    let bs: Vec<Value> = (0..n)
        .map(|i| json!({"id": format!("b-{i}"), "title": "middle", "next": refs("c")}))
        .collect();
    create_all(app, "c", &cs).await;
    create_all(app, "b", &bs).await;
    let (status, body) = app
        .post(
            "/api/v1/content/a",
            &app.rw,
            &json!({"id": "a-0", "title": "top", "next": refs("b")}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn hydration_is_bounded_before_it_renders() {
    let app = TestApp::spawn().await;
    // 99 + 99 × 99 = 9,900 embedded objects: the largest answer of this shape allowed.
    cube(&app, 99).await;
    let (status, body) = app.get("/api/v1/content/a/a-0?hydrate=2", &app.ro).await;
    assert_eq!(status, 200);
    assert_eq!(body["next"].as_array().unwrap().len(), 99);
    assert_eq!(body["next"][98]["next"][98]["title"], "leaf");
    // Two more `b` objects referenced: 101 + 101 × 99 = 10,100 > 10,000.
    let mut next = body["next"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| reference("b", b["id"].as_str().unwrap()))
        .collect::<Vec<_>>();
    next.push(reference("b", "b-0"));
    next.push(reference("b", "b-1"));
    let (status, _) = app
        .patch("/api/v1/content/a/a-0", &app.rw, &json!({ "next": next }))
        .await;
    assert_eq!(status, 200);
    let (status, body) = app.get("/api/v1/content/a/a-0?hydrate=2", &app.ro).await;
    assert_eq!(status, 400, "{body}");
    let message = body["hydrate"][0].as_str().unwrap();
    assert!(
        message.contains("10100") && message.contains("10000"),
        "{message}"
    );
    for path in [
        "/api/v1/content/a?hydrate=2",
        "/api/v1/search?q=top&hydrate=2",
    ] {
        let (status, body) = app.get(path, &app.ro).await;
        assert_eq!(status, 400, "{path}: {body}");
    }
    // One level is within every bound.
    let (status, body) = app.get("/api/v1/content/a/a-0?hydrate=1", &app.ro).await;
    assert_eq!((status, body["next"].as_array().unwrap().len()), (200, 101));
}

#[tokio::test]
async fn hydration_is_bounded_in_bytes() {
    let app = TestApp::spawn().await;
    let (schema, config) = relation_property("big");
    let text = text_property("T");
    for definition in [
        definition("big", &[("text", text.0.clone(), text.1.clone())], &[]),
        definition("holder", &[("items", schema, config)], &[]),
    ] {
        assert_eq!(
            app.post("/api/v1/internal/contenttype", &app.rw, &definition)
                .await
                .0,
            200
        );
    }
    // 36 objects of about 1 MB: 34 MiB embedded, past the 32 MiB bound.
    let filler = "x".repeat(990_000);
    for i in 0..36 {
        let (status, _) = app
            .post(
                "/api/v1/content/big",
                &app.rw,
                &json!({"id": format!("big-{i}"), "text": filler}),
            )
            .await;
        assert_eq!(status, 200);
    }
    let items: Vec<Value> = (0..36)
        .map(|i| reference("big", &format!("big-{i}")))
        .collect();
    let (status, _) = app
        .post(
            "/api/v1/content/holder",
            &app.rw,
            &json!({"id": "h", "items": items}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = app.get("/api/v1/content/holder/h?hydrate=1", &app.ro).await;
    assert_eq!(status, 400);
    assert!(
        body["hydrate"][0].as_str().unwrap().contains("32 MiB"),
        "{body}"
    );
    let (status, body) = app.get("/api/v1/content/holder/h", &app.ro).await;
    assert_eq!((status, body["items"].as_array().unwrap().len()), (200, 36));
}

#[tokio::test]
async fn writes_answer_keys_without_read_with_the_id_alone() {
    let app = TestApp::with_demo().await;
    let update_only = app.user_key(&[("post", "u")]).await;
    let create_only = app.user_key(&[("post", "c")]).await;
    let (status, body) = app
        .patch("/api/v1/content/post/post-keys", &update_only, &json!({}))
        .await;
    assert_eq!((status, body), (200, json!({"id": "post-keys"})));
    let (_, stored) = app.get("/api/v1/content/post/post-keys", &app.ro).await;
    let mut replacement = stored.clone();
    // A key that may read neither the post nor its authors cannot send their references.
    for hidden in ["internal", "author", "categories"] {
        replacement.as_object_mut().unwrap().remove(hidden);
    }
    let (status, body) = app
        .put("/api/v1/content/post/post-keys", &update_only, &replacement)
        .await;
    assert_eq!((status, body), (200, json!({"id": "post-keys"})));
    let (status, body) = app
        .post(
            "/api/v1/content/post",
            &create_only,
            &json!({"id": "blind", "title": "Blind", "slug": "blind"}),
        )
        .await;
    assert_eq!((status, body), (200, json!({"id": "blind"})));
    let (status, body) = app
        .post(
            "/api/v1/content/post/batch",
            &create_only,
            &json!([{"title": "B", "slug": "b-1"}]),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"batch_total_count": 1, "batch_success_count": 1, "batch_error_count": 0, "errors": []})
    );
    // GraphQL: the same services, and a schema that offers the id alone.
    let (_, body) = graphql(
        &app,
        "/api/v2/graphql",
        &update_only,
        &json!({"query": r#"mutation { updatePost(id: "post-keys", data: {}) { id } }"#}),
    )
    .await;
    assert_eq!(
        body["data"]["updatePost"],
        json!({"id": "post-keys"}),
        "{body}"
    );
    let (_, body) = graphql(
        &app,
        "/api/v2/graphql",
        &update_only,
        &json!({"query": r#"mutation { updatePost(id: "post-keys", data: {}) { id title } }"#}),
    )
    .await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("title"),
        "{body}"
    );
    assert!(!body.to_string().contains("Scoped API keys"));
    let (_, body) = graphql(
        &app,
        "/api/v2/graphql",
        &create_only,
        &json!({"query": r#"mutation { createPost(data: {id: "blind-2", title: "x", slug: "blind-2"}) { id } }"#}),
    )
    .await;
    assert_eq!(
        body["data"]["createPost"],
        json!({"id": "blind-2"}),
        "{body}"
    );
    // A key that may read gets the object back.
    let editor = app.user_key(&[("post", "ru")]).await;
    let (_, body) = app
        .patch("/api/v1/content/post/post-keys", &editor, &json!({}))
        .await;
    assert_eq!(body["title"], "Scoped API keys");
}

#[tokio::test]
async fn references_to_unreadable_types_reveal_nothing() {
    let app = TestApp::with_demo().await;
    let creator = app.user_key(&[("post", "c")]).await;
    let post = |author: &str| json!({"title": "Probe", "slug": format!("probe-{author}"), "author": [reference("author", author)]});
    let (existing, missing) = (
        app.post("/api/v1/content/post", &creator, &post("author-ada"))
            .await,
        app.post("/api/v1/content/post", &creator, &post("nobody"))
            .await,
    );
    assert_eq!(existing, missing);
    assert_eq!(
        existing,
        (
            400,
            json!({"author": ["This key may only reference objects of content types it can read"]})
        )
    );
    let (status, body) = app
        .post(
            "/api/v1/content/post/batch",
            &creator,
            &json!([post("author-ada"), post("nobody")]),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["errors"], body["errors"][1]["errors"]);
    // A key that reads posts (not authors) may keep the references a post holds.
    let editor = app.user_key(&[("post", "ru")]).await;
    let (_, stored) = app.get("/api/v1/content/post/post-keys", &editor).await;
    let mut replacement = stored.clone();
    replacement.as_object_mut().unwrap().remove("internal");
    replacement["title"] = json!("Edited");
    let (status, body) = app
        .put("/api/v1/content/post/post-keys", &editor, &replacement)
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = app
        .patch(
            "/api/v1/content/post/post-keys",
            &editor,
            &json!({"rating": 3}),
        )
        .await;
    assert_eq!(status, 200);
    replacement["author"] = json!([reference("author", "author-ada")]);
    let changed = app
        .put("/api/v1/content/post/post-keys", &editor, &replacement)
        .await;
    replacement["author"] = json!([reference("author", "nobody")]);
    let changed_to_missing = app
        .put("/api/v1/content/post/post-keys", &editor, &replacement)
        .await;
    assert_eq!(changed.0, 400);
    assert_eq!(changed, changed_to_missing);
    // An update-only key cannot learn what the post holds by sending it back.
    let blind = app.user_key(&[("post", "u")]).await;
    let (status, _) = app
        .patch(
            "/api/v1/content/post/post-keys",
            &blind,
            &json!({"author": stored["author"]}),
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn graphql_bodies_have_the_rest_limit() {
    let app = TestApp::with_demo().await;
    let none = app.user_key(&[]).await;
    // Declared larger than the limit: refused before a byte of the body is read.
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /api/v2/graphql HTTP/1.1\r\nHost: x\r\nX-AUTH-TOKEN: {none}\r\nContent-Type: application/json\r\nContent-Length: 157286400\r\n\r\n{{\"query\":"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0; 4096];
    let read = stream.read(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer[..read]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("size limit"), "{answer}");
    // Sent without a length: read up to the limit and no further.
    let huge = format!(
        r#"{{"query":"{{ post {{ totalCount }} }}","variables":{{"v":"{}"}}}}"#,
        "x".repeat(102 * 1024 * 1024)
    );
    let response = app
        .post_raw("/api/v2/graphql", &none, Some("application/json"), &huge)
        .await;
    assert_eq!(response.status(), 413);
    let response = app
        .post_raw(
            "/api/v2/graphql",
            &none,
            Some("multipart/form-data; boundary=x"),
            "--x--",
        )
        .await;
    assert_eq!(response.status(), 415);
    still_serving(&app).await;
}

#[tokio::test]
async fn large_inputs_are_refused_or_done_in_chunks_never_a_500() {
    let app = TestApp::with_demo().await;
    // Through GraphQL (the filter travels in the body), and through REST's URI.
    let values: Vec<String> = (0..40_000).map(|i| format!("v{i}")).collect();
    let filters = json!({"title": {"type": "equals", "filter": values}}).to_string();
    let (status, body) = graphql(
        &app,
        "/api/graphql",
        &app.ro,
        &json!({"query": "query($f: String) { postList(filter: $f) { id } }", "variables": {"f": filters}}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "VALIDATION",
        "{body}"
    );
    assert!(body.to_string().contains("at most 1000"), "{body}");
    let filters = json!({"title": {"type": "equals", "filter": vec!["a"; 3_000]}}).to_string();
    let (status, body) = get_with(
        &app,
        "/api/v1/content/post",
        &[("filters", filters.clone())],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["filters"][0]
            .as_str()
            .unwrap()
            .contains("at most 1000"),
        "{body}"
    );
    let words: Vec<String> = (0..3_400).map(|i| format!("w{i}")).collect();
    let mut query: Vec<(&str, String)> = vec![("q", words.join(" "))];
    for i in 0..10 {
        query.push(("fields[]", format!("title{i}")));
    }
    let (status, body) = get_with(&app, "/api/v1/search", &query).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["q"][0].as_str().unwrap().contains("at most 32"),
        "{body}"
    );
    // Text past SQLite's LIKE pattern limit (found by the fuzzer): a 400, not a 500.
    let long = "a".repeat(50_000);
    let filters = json!({"title": {"type": "contains", "filter": long}}).to_string();
    let (status, body) = get_with(
        &app,
        "/api/v1/content/post",
        &[("filters", filters.clone())],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = graphql(
        &app,
        "/api/v2/graphql",
        &app.ro,
        &json!({"query": "query($v: postFilterInput) { post(filter: $v) { totalCount } }", "variables": {"v": {"title": {"type": "startsWith", "filter": long}}}}),
    )
    .await;
    assert_eq!(
        (status, &body["errors"][0]["extensions"]["code"]),
        (200, &json!("VALIDATION")),
        "{body}"
    );
    let (status, body) = get_with(
        &app,
        "/api/v1/search",
        &[("q", long.clone()), ("fields[]", "title".to_owned())],
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let ids: Vec<(&str, String)> = (0..2_000).map(|i| ("ids[]", format!("p{i}"))).collect();
    let (status, body) = get_with(&app, "/api/v1/content/post", &ids).await;
    assert_eq!(status, 400, "{body}");
    // A page whose relations reference more distinct objects than one statement binds.
    let tags: Vec<Value> = (0..1_200)
        .map(|i| json!({"id": format!("t{i}"), "name": format!("T{i}"), "slug": format!("t-{i}")}))
        .collect();
    create_all(&app, "category", &tags).await;
    let categories: Vec<Value> = (0..1_200)
        .map(|i| reference("category", &format!("t{i}")))
        .collect();
    let (status, body) = app
        .patch(
            "/api/v1/content/post/post-keys",
            &app.rw,
            &json!({ "categories": categories }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .get("/api/v1/content/post/post-keys?hydrate=1", &app.ro)
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["categories"].as_array().unwrap().len(), 1_200);
    assert_eq!(body["categories"][1_199]["name"], "T1199");
}

#[tokio::test]
async fn hyper_refusals_are_json_with_the_usual_headers() {
    let app = TestApp::spawn().await;
    let raw = |request: Vec<u8>| async move {
        let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
        // The server may answer (and close) before it has read all of a huge head.
        let _ = stream.write_all(&request).await;
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer).await;
        String::from_utf8_lossy(&answer).to_string()
    };
    let long_uri = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(70_000));
    let big_head = format!(
        "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(500_000)
    );
    for (request, status) in [
        (long_uri.into_bytes(), 414),
        (big_head.into_bytes(), 431),
        (b"NONSENSE\r\n\r\n".to_vec(), 400),
    ] {
        let answer = raw(request).await;
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status} ")),
            "{answer}"
        );
        assert!(
            answer.contains("content-type: application/json"),
            "{answer}"
        );
        assert!(answer.contains("cache-control: no-store"), "{answer}");
        let body: Value = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        assert_eq!(body["code"], status);
    }
    assert_eq!(app.get("/health", "").await.0, 200);
}

#[tokio::test]
async fn introspection_and_variable_defaults_count_against_the_limits() {
    let app = TestApp::with_demo().await;
    let none = app.user_key(&[]).await;
    let refused_for = |query: String| {
        let app = &app;
        let none = none.clone();
        async move {
            let (status, body) =
                graphql(app, "/api/v2/graphql", &none, &json!({ "query": query })).await;
            refusal(status, &body)
        }
    };
    // Aliases of introspection fields count like any other.
    let aliases: String = (0..40)
        .map(|i| format!("a{i}: __schema {{ types {{ name }} }} "))
        .collect();
    assert!(
        refused_for(format!("{{ {aliases} }}"))
            .await
            .contains("aliases")
    );
    // Fragments over introspection multiply: refused by the memoised walk, at once.
    let fragments: String = (0..6)
        .map(|l| {
            let next = if l < 5 {
                format!("...F{}", l + 1)
            } else {
                "name".to_owned()
            };
            let body: String = (0..5)
                .map(|i| format!("x{i}: fields {{ name type {{ {next} ofType {{ {next} }} }} }} "))
                .collect();
            format!("fragment F{l} on __Type {{ name {body} }} ")
        })
        .collect();
    let message = refused_for(format!(
        r#"{{ __type(name: "__Type") {{ ...F0 }} }} {fragments}"#
    ))
    .await;
    assert!(
        message.contains("aliases")
            || message.contains("complex")
            || message.contains("Introspection lists"),
        "{message}"
    );
    // Introspection lists nested four deep multiply the schema by itself.
    let lists = r#"{ __type(name: "__Type") { fields { type { fields { type { fields { type { fields { name } } } } } } } } }"#;
    assert!(
        refused_for(lists.to_owned())
            .await
            .contains("Introspection lists")
    );
    // GraphiQL's own introspection still runs.
    let graphiql = "query IntrospectionQuery { __schema { queryType { name } mutationType { name } types { ...FullType } directives { name locations args { ...InputValue } } } } fragment FullType on __Type { kind name fields(includeDeprecated: true) { name args { ...InputValue } type { ...TypeRef } isDeprecated } inputFields { ...InputValue } interfaces { ...TypeRef } enumValues(includeDeprecated: true) { name } possibleTypes { ...TypeRef } } fragment InputValue on __InputValue { name type { ...TypeRef } defaultValue } fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }";
    let (status, body) = graphql(
        &app,
        "/api/v2/graphql",
        &app.ro,
        &json!({ "query": graphiql }),
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.get("errors").is_none(), "{body}");
    // A page size given as a variable's default counts as if it were sent.
    let fields = "id title slug body rating featured status tags publishedAt author { id name email bio } categories { id name }";
    let defaulted = format!(
        "query($n: Int = 1000) {{ post(first: $n) {{ edges {{ node {{ {fields} }} }} }} }}"
    );
    let (status, body) = graphql(
        &app,
        "/api/v2/graphql",
        &app.ro,
        &json!({ "query": defaulted }),
    )
    .await;
    assert!(refusal(status, &body).contains("too complex"));
    // The executor's own errors carry a code too; an empty batch is refused.
    let (_, body) = graphql(
        &app,
        "/api/v2/graphql",
        &none,
        &json!({"query": "{ nope }"}),
    )
    .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_REQUEST",
        "{body}"
    );
    let (status, body) = graphql(&app, "/api/v2/graphql", &none, &json!([])).await;
    assert!(refusal(status, &body).contains("no GraphQL document"));
    // `[*].key` on a list of strings is a 400 on `filters`, not a database error.
    let filters = json!({"tags[*].x": {"type": "equals", "filter": "a"}}).to_string();
    let (status, body) = get_with(&app, "/api/v1/content/post", &[("filters", filters)]).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["filters"][0]
            .as_str()
            .unwrap()
            .contains("Unknown field"),
        "{body}"
    );
}

/// An author `big` with a 900 KB bio, and `n` posts (slugs `amp-…`) each naming it.
async fn posts_of_a_big_author(app: &TestApp, n: usize) {
    let (status, _) = app
        .post(
            "/api/v1/content/author",
            &app.rw,
            &json!({"id": "big", "name": "Big", "email": "big@x.org", "bio": "x".repeat(900_000)}),
        )
        .await;
    assert_eq!(status, 200);
    let posts: Vec<Value> = (0..n)
        .map(|i| json!({"title": format!("Amp {i}"), "slug": format!("amp-{i}"), "author": [reference("author", "big")]}))
        .collect();
    create_all(app, "post", &posts).await;
}

/// A 200 whose fields past a budget were refused (`what` names it) and whose body stays
/// within the budget.
fn refused_within_budget(status: u16, body: &Value, what: &str) {
    assert_eq!(status, 200);
    let text = body.to_string();
    assert!(text.contains(what), "{}", &text[..text.len().min(500)]);
    assert!(text.len() < 33 * 1024 * 1024, "{}", text.len());
}

#[tokio::test]
async fn graphql_copies_of_large_objects_are_bounded_in_bytes() {
    let app = TestApp::with_demo().await;
    let reader = app.user_key(&[("post", "r"), ("author", "r")]).await;
    posts_of_a_big_author(&app, 50).await;
    // 50 copies of 900 KB: past 32 MiB, refused at the field before any copy is made.
    let query = r#"{ post(first: 50, filter: {slug: {type: "startsWith", filter: "amp-"}}) { edges { node { id author { bio } } } } }"#;
    let (status, body) =
        graphql(&app, "/api/v2/graphql", &reader, &json!({ "query": query })).await;
    refused_within_budget(status, &body, "MiB of objects");
    // 30 copies fit.
    let fewer = query.replace("first: 50", "first: 30");
    let (_, body) = graphql(&app, "/api/v2/graphql", &reader, &json!({ "query": fewer })).await;
    assert!(body.get("errors").is_none());
    assert_eq!(body["data"]["post"]["edges"].as_array().unwrap().len(), 30);
}

/// What an alias repeats counts each time: aliases of `__typename` are aliases, and
/// every alias of a large value takes its size from the answer's own budget, so a small
/// query cannot make a huge answer out of a few objects.
#[tokio::test]
async fn aliases_count_whatever_they_repeat() {
    let app = TestApp::with_demo().await;
    let reader = app.user_key(&[("post", "r"), ("author", "r")]).await;
    let typenames: String = (0..40).map(|i| format!("t{i}: __typename ")).collect();
    let (status, body) = graphql(
        &app,
        "/api/v2/graphql",
        &reader,
        &json!({ "query": format!("{{ post {{ edges {{ node {{ {typenames} }} }} }} }}") }),
    )
    .await;
    assert!(refusal(status, &body).contains("40 aliases"), "{body}");

    posts_of_a_big_author(&app, 2).await;
    // Two copies of the object (1.8 MB loaded), 20 aliases of its 900 KB value each:
    // 36 MB of values, past 32 MiB.
    let bios: String = (0..20).map(|i| format!("b{i}: bio ")).collect();
    let query = format!(
        r#"{{ post(first: 2, filter: {{slug: {{type: "startsWith", filter: "amp-"}}}}) {{ edges {{ node {{ id author {{ {bios} }} }} }} }} }}"#
    );
    let (status, body) =
        graphql(&app, "/api/v2/graphql", &reader, &json!({ "query": query })).await;
    refused_within_budget(status, &body, "MiB of values");
    // One copy's 18 MB fit.
    let one = query.replace("first: 2", "first: 1");
    let (_, body) = graphql(&app, "/api/v2/graphql", &reader, &json!({ "query": one })).await;
    assert!(body.get("errors").is_none());
    let author = &body["data"]["post"]["edges"][0]["node"]["author"][0];
    assert_eq!(author["b19"].as_str().map(str::len), Some(900_000));
    still_counting(&app, "post", 6).await;
}

/// `internal.objectTitle` repeats the title properties and is charged like them; a
/// spent budget reports its refusal a bounded number of times, not once per copy.
#[tokio::test]
async fn titles_and_refusals_are_bounded_too() {
    let app = TestApp::spawn().await;
    let (schema, mut config) = text_property("Title");
    config["isTitlePart"] = json!(true);
    let (to_schema, to_config) = relation_property("titled");
    for body in [
        definition("titled", &[("t", schema, config)], &[]),
        definition("hub", &[("to", to_schema, to_config)], &[]),
    ] {
        let (status, body) = app
            .post("/api/v1/internal/contenttype", &app.rw, &body)
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, _) = app
        .post(
            "/api/v1/content/titled",
            &app.rw,
            &json!({"id": "big", "t": "x".repeat(200_000)}),
        )
        .await;
    assert_eq!(status, 200);
    let hubs: Vec<Value> = (0..100)
        .map(|i| json!({"id": format!("hub-{i}"), "to": [reference("titled", "big")]}))
        .collect();
    create_all(&app, "hub", &hubs).await;
    // 100 copies × 30 aliases × 200 KB = 600 MB asked for.
    let titles: String = (0..30).map(|i| format!("o{i}: objectTitle ")).collect();
    let query = format!(
        "{{ hub(first: 100) {{ edges {{ node {{ to {{ internal {{ {titles} }} }} }} }} }} }}"
    );
    let (status, body) =
        graphql(&app, "/api/v2/graphql", &app.ro, &json!({ "query": query })).await;
    assert_eq!(status, 200);
    let text = body.to_string();
    assert!(text.len() < 34 * 1024 * 1024, "{}", text.len());
    let errors = body["errors"].as_array().unwrap();
    assert!(errors.len() <= 101, "{}", errors.len());
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .contains("MiB of values")
    );
    assert!(
        errors.last().unwrap()["message"]
            .as_str()
            .unwrap()
            .contains("left out"),
        "{}",
        errors.last().unwrap()
    );
    still_counting(&app, "hub", 100).await;
}

async fn still_counting(app: &TestApp, type_name: &str, total: u64) {
    let query = format!("{{ {type_name} {{ totalCount }} }}");
    let (status, body) = graphql(app, "/api/v2/graphql", &app.ro, &json!({ "query": query })).await;
    assert_eq!(
        (status, &body["data"][type_name]["totalCount"]),
        (200, &json!(total))
    );
}
