//! Content type definitions over REST: create, read, list parameters, validation
//! messages, update with migration of objects, and guarded deletion.

mod common;

use common::text_property as text;

use common::{TestApp, definition};
use serde_json::{Value, json};

fn simple(name: &str) -> Value {
    let (schema, config) = text("Title");
    definition(name, &[("title", schema, config)], &["title"])
}

#[tokio::test]
async fn create_get_list_and_delete_a_definition() {
    let app = TestApp::spawn().await;
    let (status, created) = app
        .post("/api/v1/internal/contenttype", &app.rw, &simple("article"))
        .await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["name"], "article");
    assert!(created["id"].as_str().is_some_and(|id| id.len() == 36));
    assert!(created["createdAt"].as_str().unwrap().ends_with("+0000"));
    assert_eq!(created["deletedAt"], Value::Null);

    let (status, got) = app
        .get("/api/v1/internal/contenttype/article", &app.ro)
        .await;
    assert_eq!(status, 200);
    assert_eq!(got["schemaDefinition"], created["schemaDefinition"]);

    let (status, again) = app
        .post("/api/v1/internal/contenttype", &app.rw, &simple("article"))
        .await;
    assert_eq!(status, 400);
    assert_eq!(again, json!({"name": ["This value is already used"]}));

    let (status, body) = app
        .delete("/api/v1/internal/contenttype/article", &app.rw)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        app.get("/api/v1/internal/contenttype/article", &app.ro)
            .await
            .0,
        404
    );
    assert_eq!(
        app.delete("/api/v1/internal/contenttype/article", &app.rw)
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn definition_validation_uses_flotiq_messages_and_paths() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .post("/api/v1/internal/contenttype", &app.rw, &json!({}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["name"], json!(["The property name is required"]));
    assert_eq!(body["label"], json!(["The property label is required"]));
    assert_eq!(
        body["schemaDefinition.allOf"],
        json!(["This value is not valid."])
    );

    let mut bad_name = simple("Bad-Name");
    bad_name["label"] = json!("x");
    let (_, body) = app
        .post("/api/v1/internal/contenttype", &app.rw, &bad_name)
        .await;
    assert_eq!(body["name"], json!(["This value is not valid."]));

    let (schema, config) = text("Id");
    let reserved = definition(
        "thing",
        &[
            ("internal", schema.clone(), config.clone()),
            ("bad-prop", schema, config),
        ],
        &[],
    );
    let (_, body) = app
        .post("/api/v1/internal/contenttype", &app.rw, &reserved)
        .await;
    assert_eq!(
        body["schemaDefinition.allOf[1].properties.internal"],
        json!(["Property name internal not allowed"])
    );
    assert_eq!(
        body["schemaDefinition.allOf[1].properties.bad-prop"],
        json!(["Invalid value. Only a-z, A-Z, 0-9 and _ are allowed"])
    );

    let mut out_of_order = simple("thing");
    out_of_order["metaDefinition"]["order"] = json!(["other"]);
    let (_, body) = app
        .post("/api/v1/internal/contenttype", &app.rw, &out_of_order)
        .await;
    assert_eq!(
        body["metaDefinition.order"],
        json!([
            "Property name title not existing in the order",
            "Property name other not existing in schema definition"
        ])
    );

    let mut no_meta = simple("thing");
    no_meta["metaDefinition"]["propertiesConfig"] = json!({});
    let (_, body) = app
        .post("/api/v1/internal/contenttype", &app.rw, &no_meta)
        .await;
    assert_eq!(
        body["metaDefinition.propertiesConfig"],
        json!(["Property name title not existing in meta definition"])
    );

    let wrong_meta = definition(
        "thing",
        &[(
            "count",
            json!({"type": "number"}),
            json!({"label": "C", "inputType": "text", "unique": false}),
        )],
        &[],
    );
    let (_, body) = app
        .post("/api/v1/internal/contenttype", &app.rw, &wrong_meta)
        .await;
    assert_eq!(
        body["metaDefinition.propertiesConfig.count.inputType"],
        json!(["Wrong meta type for type of count"])
    );

    let relation = definition(
        "thing",
        &[(
            "link",
            json!({"type": "array", "items": {"$ref": "#/components/schemas/DataSource"}}),
            json!({"label": "L", "inputType": "datasource", "unique": false}),
        )],
        &[],
    );
    let (_, body) = app
        .post("/api/v1/internal/contenttype", &app.rw, &relation)
        .await;
    assert_eq!(
        body["metaDefinition.propertiesConfig.link.validation.relationContenttype"],
        json!(["You have to specify type of relation for link"])
    );

    let mut empty = simple("thing");
    empty["schemaDefinition"]["allOf"][1]["properties"] = json!({});
    empty["metaDefinition"] = json!({"order": [], "propertiesConfig": {}});
    let (_, body) = app
        .post("/api/v1/internal/contenttype", &app.rw, &empty)
        .await;
    assert_eq!(
        body["schemaDefinition.allOf[1].properties"],
        json!(["You must specify at least one schema property"])
    );

    let mut bad_type = simple("thing");
    bad_type["schemaDefinition"]["allOf"][1]["properties"]["title"]["type"] = json!("text");
    let (_, body) = app
        .post("/api/v1/internal/contenttype", &app.rw, &bad_type)
        .await;
    assert!(
        body["schemaDefinition.allOf[1].properties.title.type"][0]
            .as_str()
            .unwrap()
            .starts_with("Does not have a value in the enumeration")
    );

    let mut slug = simple("thing");
    slug["slugs"] = json!([{"source": "missing", "target": "title", "active": true}, {"source": "", "active": false}]);
    let (_, body) = app
        .post("/api/v1/internal/contenttype", &app.rw, &slug)
        .await;
    assert_eq!(
        body["slugs[0].source"],
        json!(["Field \"missing\" used as slug source does not exist in the type definition."])
    );

    // Nothing of the above was stored (the account holds only its internal types).
    let (_, list) = app
        .get("/api/v1/internal/contenttype?internal=0", &app.rw)
        .await;
    assert_eq!(list["total_count"], 0);
}

#[tokio::test]
async fn list_parameters_page_order_filter_and_clamp() {
    let app = TestApp::spawn().await;
    // Every account has Flotiq's internal types `_media` and `_tag`.
    for (name, label) in [("banana", "Yellow fruit"), ("apple", "Red fruit")] {
        let mut body = simple(name);
        body["label"] = json!(label);
        assert_eq!(
            app.post("/api/v1/internal/contenttype", &app.rw, &body)
                .await
                .0,
            200
        );
    }
    let names = |body: &Value| {
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["name"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let (status, all) = app
        .get("/api/v1/internal/contenttype?limit=10000", &app.ro)
        .await;
    assert_eq!(status, 200, "a large limit is clamped, not refused");
    assert_eq!(names(&all), ["_media", "_tag", "apple", "banana"]);
    assert_eq!(
        (
            all["total_count"].as_u64(),
            all["total_pages"].as_u64(),
            all["count"].as_u64()
        ),
        (Some(4), Some(1), Some(4))
    );

    let (_, user) = app
        .get("/api/v1/internal/contenttype?internal=0", &app.ro)
        .await;
    assert_eq!(names(&user), ["apple", "banana"]);
    let (_, system) = app
        .get("/api/v1/internal/contenttype?internal=1", &app.ro)
        .await;
    assert_eq!(names(&system), ["_media", "_tag"]);
    let (_, by_label) = app
        .get(
            "/api/v1/internal/contenttype?order_by=label&order_direction=desc",
            &app.ro,
        )
        .await;
    assert_eq!(names(&by_label), ["banana", "_tag", "apple", "_media"]);
    let (_, page) = app
        .get("/api/v1/internal/contenttype?limit=1&page=2", &app.ro)
        .await;
    assert_eq!(names(&page), ["_tag"]);
    assert_eq!(
        (page["total_pages"].as_u64(), page["current_page"].as_u64()),
        (Some(4), Some(2))
    );
    let (_, search) = app
        .get("/api/v1/internal/contenttype?label=FRUIT&name=an", &app.ro)
        .await;
    assert_eq!(names(&search), ["banana"]);
    let (_, exact) = app
        .get(
            "/api/v1/internal/contenttype?names[]=apple&names[]=_media",
            &app.ro,
        )
        .await;
    assert_eq!(names(&exact), ["_media", "apple"]);

    assert_eq!(
        app.get("/api/v1/internal/contenttype?order_by=color", &app.ro)
            .await,
        (
            400,
            json!({"order_by": ["Must be one of name, id, createdAt, updatedAt, label"]})
        )
    );
    assert_eq!(
        app.get("/api/v1/internal/contenttype?limit=abc", &app.ro)
            .await
            .0,
        400
    );
    assert_eq!(
        app.get("/api/v1/internal/contenttype?order_direction=up", &app.ro)
            .await
            .0,
        400
    );
}

#[tokio::test]
async fn update_strips_removed_properties_and_rejects_what_objects_cannot_satisfy() {
    let app = TestApp::spawn().await;
    let (schema, config) = text("Title");
    let (extra_schema, extra_config) = text("Extra");
    let two = definition(
        "note",
        &[
            ("title", schema.clone(), config.clone()),
            ("extra", extra_schema.clone(), extra_config.clone()),
        ],
        &["title"],
    );
    assert_eq!(
        app.post("/api/v1/internal/contenttype", &app.rw, &two)
            .await
            .0,
        200
    );
    let (status, _) = app
        .post(
            "/api/v1/content/note",
            &app.rw,
            &json!({"id": "n1", "title": "Hello", "extra": "gone soon"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        app.post(
            "/api/v1/content/note",
            &app.rw,
            &json!({"id": "n2", "extra": "only extra", "title": "x"})
        )
        .await
        .0,
        200
    );

    // A new required property that existing objects lack is refused, and nothing changes.
    let (count_schema, _) = text("Count");
    let stricter = definition(
        "note",
        &[
            ("title", schema.clone(), config.clone()),
            ("extra", extra_schema, extra_config),
            (
                "count",
                count_schema,
                json!({"label": "Count", "inputType": "text", "unique": false}),
            ),
        ],
        &["title", "count"],
    );
    let before = app.snapshot().await;
    let (status, body) = app
        .put("/api/v1/internal/contenttype/note", &app.rw, &stricter)
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["ctd"][0]
            .as_str()
            .unwrap()
            .starts_with("Existing objects do not conform")
    );
    assert_eq!(
        body["co"]["n1"]["count"],
        json!(["The property count is required"])
    );
    assert_eq!(app.snapshot().await, before);

    // Removing a property strips it from the stored objects.
    let one = definition("note", &[("title", schema, config)], &["title"]);
    let (status, body) = app
        .put("/api/v1/internal/contenttype/note", &app.rw, &one)
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, n1) = app.get("/api/v1/content/note/n1", &app.ro).await;
    assert_eq!(n1["title"], "Hello");
    assert!(n1.get("extra").is_none(), "{n1}");

    let mut renamed = one.clone();
    renamed["name"] = json!("other");
    assert_eq!(
        app.put("/api/v1/internal/contenttype/note", &app.rw, &renamed)
            .await
            .0,
        400
    );
    assert_eq!(
        app.put(
            "/api/v1/internal/contenttype/missing",
            &app.rw,
            &simple("missing")
        )
        .await
        .0,
        404
    );
}

#[tokio::test]
async fn delete_is_refused_while_objects_keys_or_relations_use_the_type() {
    let app = TestApp::with_demo().await;
    let (status, body) = app
        .delete("/api/v1/internal/contenttype/post", &app.rw)
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["errors"],
        json!(["Content Type has objects, you can't remove it!"])
    );

    let (status, body) = app
        .delete("/api/v1/internal/contenttype/author", &app.rw)
        .await;
    assert_eq!(status, 400);
    let errors = body["errors"].as_array().unwrap();
    assert!(errors.contains(&json!("Content Type has objects, you can't remove it!")));
    assert!(errors.contains(&json!(
        "This content type definition is used by a relation in: post"
    )));

    assert_eq!(
        app.post("/api/v1/internal/contenttype", &app.rw, &simple("lonely"))
            .await
            .0,
        200
    );
    app.user_key(&[("lonely", "r")]).await;
    let (status, body) = app
        .delete("/api/v1/internal/contenttype/lonely", &app.rw)
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["errors"],
        json!(["This content type definition is used by Api Key: test key"])
    );
}

#[tokio::test]
async fn internal_types_exist_in_every_account_and_clients_cannot_change_them() {
    let app = TestApp::spawn().await;
    let (status, media) = app
        .get("/api/v1/internal/contenttype/_media", &app.ro)
        .await;
    assert_eq!(status, 200);
    assert_eq!(media["internal"], true);
    assert_eq!(media["label"], "Media");
    let properties = &media["schemaDefinition"]["allOf"][1]["properties"];
    for name in [
        "fileName",
        "mimeType",
        "size",
        "width",
        "height",
        "url",
        "externalId",
        "source",
        "extension",
        "type",
        "tags",
        "alt",
        "title",
        "variants",
    ] {
        assert!(properties.get(name).is_some(), "{name}");
    }
    assert_eq!(
        media["metaDefinition"]["propertiesConfig"]["tags"]["validation"]["relationContenttype"],
        "_tag"
    );
    let (status, tag) = app.get("/api/v1/internal/contenttype/_tag", &app.ro).await;
    assert_eq!((status, tag["internal"].clone()), (200, json!(true)));
    // Not redefined, not deleted, not made again; no client type is internal.
    let mut body = simple("_media");
    assert_eq!(
        app.put("/api/v1/internal/contenttype/_media", &app.rw, &body)
            .await
            .0,
        400
    );
    assert_eq!(
        app.delete("/api/v1/internal/contenttype/_tag", &app.rw)
            .await
            .0,
        400
    );
    assert_eq!(
        app.post("/api/v1/internal/contenttype", &app.rw, &body)
            .await
            .0,
        400
    );
    body = simple("mine");
    body["internal"] = json!(true);
    let (status, answer) = app
        .post("/api/v1/internal/contenttype", &app.rw, &body)
        .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(
        answer["internal"],
        json!(["Internal content types are made by the server"])
    );
    // Their objects are ordinary objects.
    let (status, made) = app
        .post("/api/v1/content/_tag", &app.rw, &json!({"name": "guides"}))
        .await;
    assert_eq!(status, 200, "{made}");
    let (status, list) = app.get("/api/v1/content/_tag", &app.ro).await;
    assert_eq!((status, list["total_count"].as_u64()), (200, Some(1)));
}
