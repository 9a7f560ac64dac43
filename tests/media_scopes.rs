//! `_media` under every key kind: upload, list, get, search, GraphQL, hydration of a
//! relation to media (REST and GraphQL), patch and delete, each allowed exactly when the
//! key's rule on `_media` says so. A refusal changes nothing and no answer to a key that
//! cannot read media holds a media object's text.
mod common;

use common::TestApp;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

const SECRET: &str = "zqmediasecret";

enum Key {
    ReadOnly,
    ReadWrite,
    /// Rules on `_media` (letters of `crud`); every user key also reads `gallery`.
    User(&'static str),
}

#[rustfmt::skip]
const KINDS: &[(&str, Key, &str)] = &[
    ("app.ro", Key::ReadOnly, "r"),
    ("app.rw", Key::ReadWrite, "crud"),
    ("user{gallery=r}", Key::User(""), ""),
    ("user{_media=c}", Key::User("c"), "c"),
    ("user{_media=r}", Key::User("r"), "r"),
    ("user{_media=u}", Key::User("u"), "u"),
    ("user{_media=d}", Key::User("d"), "d"),
    ("user{_media=crud}", Key::User("crud"), "crud"),
];

fn gallery_type() -> Value {
    json!({
        "name": "gallery", "label": "Gallery",
        "schemaDefinition": {"type": "object", "allOf": [
            {"$ref": "#/components/schemas/AbstractContentTypeSchemaDefinition"},
            {"type": "object", "properties": {
                "title": {"type": "string"},
                "image": {"type": "array", "items": {"$ref": "#/components/schemas/DataSource"}}
            }}
        ], "required": [], "additionalProperties": false},
        "metaDefinition": {"order": ["title", "image"], "propertiesConfig": {
            "title": {"label": "Title", "inputType": "text", "unique": false},
            "image": {"label": "Image", "inputType": "datasource", "unique": false,
                      "validation": {"relationContenttype": "_media"}}
        }}
    })
}

fn png() -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image::RgbImage::from_pixel(6, 4, image::Rgb([9, 9, 9]))
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

async fn upload(app: &TestApp, key: &str) -> (u16, Value) {
    let form = Form::new()
        .part("file", Part::bytes(png()).file_name("photo.png"))
        .text("type", "image");
    let answer = app
        .client
        .post(app.url("/api/media"))
        .header("x-auth-token", key)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap_or(Value::Null))
}

async fn check_kind(label: &str, kind: &Key, may: &str) {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .post("/api/v1/internal/contenttype", &app.rw, &gallery_type())
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, media) = upload(&app, &app.rw).await;
    let id = media["id"].as_str().unwrap().to_owned();
    let object = format!("/api/v1/content/_media/{id}");
    app.patch(&object, &app.rw, &json!({"alt": SECRET})).await;
    let reference = json!({"dataUrl": object, "type": "internal"});
    let (status, body) = app
        .post(
            "/api/v1/content/gallery",
            &app.rw,
            &json!({"id": "gallery-1", "title": "Holiday", "image": [reference]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let key = match kind {
        Key::ReadOnly => app.ro.clone(),
        Key::ReadWrite => app.rw.clone(),
        Key::User("") => app.user_key(&[("gallery", "r")]).await,
        Key::User(rules) => app.user_key(&[("gallery", "r"), ("_media", rules)]).await,
    };
    let can = |letter: char| may.contains(letter);
    let expect = |letter: char| if can(letter) { 200 } else { 403 };
    let at = |what: &str| format!("{label}: {what}");

    // Create.
    let (status, body) = upload(&app, &key).await;
    assert_eq!(status, expect('c'), "{}", at(&format!("upload {body}")));
    let uploaded = usize::from(can('c'));
    // Read: list, get, search and GraphQL; counts agree with what the key may read.
    let (status, list) = app.get("/api/v1/content/_media", &key).await;
    assert_eq!(status, expect('r'), "{}", at("list"));
    if can('r') {
        assert_eq!(list["total_count"], json!(1 + uploaded), "{}", at("count"));
    }
    let (status, _) = app.get(&object, &key).await;
    assert_eq!(status, expect('r'), "{}", at("get"));
    let (_, found) = app.get(&format!("/api/v1/search?q={SECRET}"), &key).await;
    let hits = found["data"].as_array().map_or(0, Vec::len);
    assert_eq!(
        hits,
        usize::from(can('r')),
        "{}",
        at(&format!("search {found}"))
    );
    let (_, graphql) = app
        .post(
            "/api/v2/graphql",
            &key,
            &json!({"query": "{ _media(first: 5) { totalCount edges { node { id alt } } } }"}),
        )
        .await;
    if can('r') {
        assert_eq!(
            graphql["data"]["_media"]["edges"][0]["node"]["alt"],
            SECRET,
            "{}",
            at("graphql")
        );
    } else {
        assert!(
            graphql["errors"].is_array(),
            "{}",
            at(&format!("graphql {graphql}"))
        );
    }
    // Hydration of a relation to media: the object when the key reads media, the stored
    // reference as it is when not.
    let (status, gallery) = app
        .get("/api/v1/content/gallery/gallery-1?hydrate=1", &key)
        .await;
    assert_eq!(status, 200, "{}", at("gallery"));
    if can('r') {
        assert_eq!(gallery["image"][0]["alt"], SECRET, "{}", at("hydrated"));
        assert_eq!(gallery["image"][0]["url"], format!("/image/0x0/{id}.png"));
    } else {
        assert_eq!(
            gallery["image"],
            json!([reference]),
            "{}",
            at("not hydrated")
        );
    }
    let (_, graphql) = app
        .post(
            "/api/v2/graphql",
            &key,
            &json!({"query": r#"{ gallery(id: "gallery-1") { edges { node { title image { alt url } } } } }"#}),
        )
        .await;
    if can('r') {
        let image = &graphql["data"]["gallery"]["edges"][0]["node"]["image"][0];
        assert_eq!(
            image["alt"],
            SECRET,
            "{}",
            at(&format!("graphql relation {graphql}"))
        );
    } else {
        assert!(
            graphql["errors"].is_array(),
            "{}",
            at(&format!("graphql relation {graphql}"))
        );
    }
    // Update: the answer is the object only for a key that may also read it.
    let (status, answer) = app.patch(&object, &key, &json!({"title": "changed"})).await;
    assert_eq!(status, expect('u'), "{}", at("patch"));
    if can('u') && !can('r') {
        assert!(
            !answer.to_string().contains(SECRET),
            "{}",
            at(&format!("patch answer {answer}"))
        );
    }
    let (_, stored) = app.get(&object, &app.rw).await;
    let title = if can('u') { "changed" } else { "" };
    assert_eq!(stored["title"], title, "{}", at("patched"));
    // Delete, once the gallery no longer points at it (a referenced object is kept).
    app.patch(
        "/api/v1/content/gallery/gallery-1",
        &app.rw,
        &json!({"image": []}),
    )
    .await;
    let (status, _) = app.delete(&object, &key).await;
    assert_eq!(status, expect('d'), "{}", at("delete"));
    let (status, _) = app.get(&object, &app.rw).await;
    assert_eq!(
        status,
        if can('d') { 404 } else { 200 },
        "{}",
        at("deleted")
    );
    // No answer to a key that cannot read media held its text.
    if !can('r') {
        for body in [list, found, gallery, graphql] {
            assert!(
                !body.to_string().contains(SECRET),
                "{}",
                at(&format!("leak {body}"))
            );
        }
    }
}

#[tokio::test]
async fn media_follows_every_key_kind() {
    for (label, kind, may) in KINDS {
        check_kind(label, kind, may).await;
    }
}
