//! `contentgate import` / `export` of Flotiq's `.flotiq` folders, with the fixture in
//! `tests/fixtures/flotiq` (media with their files and a tag, a category with an icon,
//! articles with blocks, media relations and relations to each other), read back over
//! the real server: hydrated, through GraphQL and through `/image/...`.
mod common;

use common::TestApp;
use serde_json::{Value, json};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/flotiq");
const IMAGE: &str = "_media-1f0c6d7e-3b5a-4c1e-9d2f-8a7b6c5d4e3f";
const DOC: &str = "_media-7d2e9c4b-8a1f-4e6d-b3c5-2f9a8e7d6c1b";

fn contentgate(app: &TestApp, args: &[&str]) -> (bool, Value, String) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_contentgate"));
    if let Some(url) = common::media_url(app.data_dir()) {
        command.env("CONTENTGATE_MEDIA_URL", url);
    }
    let output = command
        .arg("--data-dir")
        .arg(app.data_dir())
        .arg("--json")
        .args(args)
        .env("DATABASE_URL", &app.database_url)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let report = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    (output.status.success(), report, stderr)
}

/// An answer without what only says when it was written.
fn timeless(mut value: Value) -> Value {
    match &mut value {
        Value::Object(map) => {
            map.remove("internal");
            for item in map.values_mut() {
                *item = timeless(item.take());
            }
        }
        Value::Array(items) => {
            for item in items {
                *item = timeless(item.take());
            }
        }
        _ => {}
    }
    value
}

async fn article(app: &TestApp) -> Value {
    let (status, body) = app
        .get("/api/v1/content/article/article-1?hydrate=1", &app.ro)
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn a_flotiq_folder_imports_idempotently_and_exports_back() {
    let app = TestApp::spawn().await;
    let (ok, report, stderr) = contentgate(&app, &["import", FIXTURE]);
    assert!(ok, "{stderr}");
    assert_eq!(report["types_created"], 2, "{report}");
    assert_eq!(report["media_created"], 2, "{report}");
    assert_eq!(
        report["objects_written"], 5,
        "a tag, 2 categories, 2 articles: {report}"
    );
    assert_eq!(report["failures"], json!([]));

    // Relations to media and between articles, hydrated; blocks as they were.
    let first = article(&app).await;
    assert_eq!(first["headerImage"][0]["fileName"], "harbour.png");
    assert_eq!(first["headerImage"][0]["alt"], "The harbour at dawn");
    assert_eq!(first["categories"][0]["name"], "Harbours");
    assert_eq!(first["related"][0]["title"], "What to pack");
    assert_eq!(
        first["content"]["blocks"][1]["data"]["url"],
        format!("/image/0x0/{IMAGE}.png")
    );
    let (_, media) = app
        .get(
            &format!("/api/v1/content/_media/{IMAGE}?hydrate=1"),
            &app.ro,
        )
        .await;
    assert_eq!(media["tags"][0]["name"], "travel");
    assert_eq!(
        (media["width"].clone(), media["height"].clone()),
        (json!(40), json!(20))
    );
    // The files, by the ids they had, and the exported variant.
    let fixture_image =
        std::fs::read(format!("{FIXTURE}/InternalContentTypeMedia/{IMAGE}.png")).unwrap();
    let original = app
        .client
        .get(app.url(&format!("/image/0x0/{IMAGE}.png")))
        .send()
        .await
        .unwrap();
    assert_eq!(original.bytes().await.unwrap().to_vec(), fixture_image);
    let variant = app
        .client
        .get(app.url(&format!("/image/0x0/{IMAGE}/harbour.png/variant/left_half")))
        .send()
        .await
        .unwrap();
    assert_eq!(variant.status(), 200);
    let cut = image::load_from_memory(&variant.bytes().await.unwrap()).unwrap();
    assert_eq!((cut.width(), cut.height()), (20, 20));
    let doc = app
        .client
        .get(app.url(&format!("/image/0x0/{DOC}/packing.txt")))
        .send()
        .await
        .unwrap();
    assert!(doc.text().await.unwrap().starts_with("Packing list"));
    let (_, graphql) = app
        .post(
            "/api/v2/graphql",
            &app.ro,
            &json!({"query": r#"{ article(id: "article-2") { edges { node { title attachments { fileName } related { slug } } } } }"#}),
        )
        .await;
    let node = &graphql["data"]["article"]["edges"][0]["node"];
    assert_eq!(
        node["attachments"][0]["fileName"], "packing.txt",
        "{graphql}"
    );
    assert_eq!(node["related"][0]["slug"], "morning-harbour", "{graphql}");

    // Again: everything is updated in place, nothing doubles.
    let (ok, again, stderr) = contentgate(&app, &["import", FIXTURE]);
    assert!(ok, "{stderr}");
    assert_eq!(
        (
            again["types_created"].clone(),
            again["types_unchanged"].clone()
        ),
        (json!(0), json!(2)),
        "{again}"
    );
    assert_eq!(
        (
            again["media_created"].clone(),
            again["media_updated"].clone()
        ),
        (json!(0), json!(2))
    );
    for (path, count) in [("article", 2), ("category", 2), ("_media", 2), ("_tag", 1)] {
        let (_, list) = app.get(&format!("/api/v1/content/{path}"), &app.ro).await;
        assert_eq!(list["total_count"], count, "{path}");
    }
    assert_eq!(timeless(article(&app).await), timeless(first.clone()));

    // Export, and the export imports into an empty account with the same answers.
    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("export");
    let (ok, exported, stderr) = contentgate(&app, &["export", target.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    assert_eq!(exported["media_files"], 2, "{exported}");
    for file in [
        "ContentTypeArticle/ContentTypeDefinition.json".to_owned(),
        "ContentTypeArticle/contentObjectArticle.json".to_owned(),
        "InternalContentTypeMedia/contentObjectMedia.json".to_owned(),
        format!("InternalContentTypeMedia/{IMAGE}.png"),
        "InternalContentTypeTag/contentObjectTag.json".to_owned(),
    ] {
        assert!(target.join(&file).is_file(), "{file}");
    }
    let lines =
        std::fs::read_to_string(target.join("ContentTypeArticle/contentObjectArticle.json"))
            .unwrap();
    let ids: Vec<String> = lines
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        ids,
        ["article-1", "article-2"],
        "one object per line, by id"
    );
    let (ok, _, _) = contentgate(&app, &["export", target.to_str().unwrap()]);
    assert!(!ok, "an export never writes into a folder that holds files");

    let fresh = TestApp::spawn().await;
    let (ok, report, stderr) = contentgate(&fresh, &["import", target.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    assert_eq!(report["failures"], json!([]), "{report}");
    assert_eq!(timeless(article(&fresh).await), timeless(first));
    let copied = fresh
        .client
        .get(fresh.url(&format!("/image/0x0/{IMAGE}.png")))
        .send()
        .await
        .unwrap();
    assert_eq!(copied.bytes().await.unwrap().to_vec(), fixture_image);
}

#[tokio::test]
async fn a_folder_that_is_not_an_export_is_refused_with_a_reason() {
    let app = TestApp::spawn().await;
    let empty = tempfile::tempdir().unwrap();
    let (ok, _, stderr) = contentgate(&app, &["import", empty.path().to_str().unwrap()]);
    assert!(!ok);
    assert!(stderr.contains("ContentTypeDefinition.json"), "{stderr}");
    // An object the type refuses is reported by id; the others are written.
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("ContentTypeCategory");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::copy(
        format!("{FIXTURE}/ContentTypeCategory/ContentTypeDefinition.json"),
        folder.join("ContentTypeDefinition.json"),
    )
    .unwrap();
    std::fs::write(
        folder.join("contentObjectCategory.json"),
        "{\"id\":\"category-ok\",\"name\":\"Fine\"}\n{\"id\":\"category-bad\",\"name\":\"\"}\n",
    )
    .unwrap();
    let (ok, report, _) = contentgate(&app, &["import", dir.path().to_str().unwrap()]);
    assert!(!ok, "a refused object fails the command");
    let failures = report["failures"].to_string();
    assert!(failures.contains("category/category-bad"), "{report}");
    let (_, list) = app.get("/api/v1/content/category", &app.ro).await;
    assert_eq!(list["total_count"], 1);
}

/// Copies the fixture's media folder into a fresh export folder, with `objects` as its
/// objects file.
fn media_export(objects: &[Value]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("InternalContentTypeMedia");
    std::fs::create_dir_all(&folder).unwrap();
    for entry in std::fs::read_dir(format!("{FIXTURE}/InternalContentTypeMedia")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), folder.join(entry.file_name())).unwrap();
    }
    let lines: Vec<String> = objects.iter().map(Value::to_string).collect();
    std::fs::write(folder.join("contentObjectMedia.json"), lines.join("\n")).unwrap();
    dir
}

#[tokio::test]
async fn imported_media_never_reads_outside_its_folder_nor_changes_a_stored_file() {
    let app = TestApp::spawn().await;
    let secret = tempfile::tempdir().unwrap();
    std::fs::write(secret.path().join("credentials"), "aws_secret=hunter2\n").unwrap();
    let doc = json!({"id": DOC, "fileName": "packing.txt", "extension": "txt"});
    // A link to a file elsewhere, and an extension that climbs out of the folder.
    let linked = media_export(&[
        json!({"id": "_media-linked", "fileName": "a.txt", "extension": "txt"}),
        json!({"id": "_media-climb", "fileName": "a.txt", "extension": "x/../../credentials"}),
    ]);
    let folder = linked.path().join("InternalContentTypeMedia");
    std::os::unix::fs::symlink(
        secret.path().join("credentials"),
        folder.join("_media-linked.txt"),
    )
    .unwrap();
    let (ok, report, _) = contentgate(&app, &["import", linked.path().to_str().unwrap()]);
    assert!(!ok);
    let failures = report["failures"].to_string();
    assert!(
        failures.contains("_media-linked") && failures.contains("_media-climb"),
        "{report}"
    );
    let (_, list) = app.get("/api/v1/content/_media", &app.ro).await;
    assert_eq!(list["total_count"], 0);
    assert!(app.stored_files("originals").await.is_empty());

    // Imported once; the same id with other bytes is refused, and the file stays.
    let first = media_export(std::slice::from_ref(&doc));
    let (ok, report, stderr) = contentgate(&app, &["import", first.path().to_str().unwrap()]);
    assert!(ok, "{report} {stderr}");
    let changed = media_export(&[doc]);
    let file = changed
        .path()
        .join(format!("InternalContentTypeMedia/{DOC}.txt"));
    std::fs::write(&file, "Other bytes entirely\n").unwrap();
    let (ok, report, _) = contentgate(&app, &["import", changed.path().to_str().unwrap()]);
    assert!(!ok);
    assert!(
        report["failures"].to_string().contains("differs"),
        "{report}"
    );
    let served = app
        .client
        .get(app.url(&format!("/image/0x0/{DOC}.txt")))
        .send()
        .await
        .unwrap();
    assert!(served.text().await.unwrap().starts_with("Packing list"));

    // Another account may not take over an id this one holds.
    let other = contentgate(&app, &["accounts", "create", "other"]);
    assert!(other.0, "{}", other.2);
    let (ok, report, _) = contentgate(
        &app,
        &[
            "--account",
            "other",
            "import",
            first.path().to_str().unwrap(),
        ],
    );
    assert!(!ok);
    assert!(
        report["failures"].to_string().contains("another account"),
        "{report}"
    );
}
