//! The media library over the real server: uploads (the type decided from the bytes,
//! Flotiq's errors, scopes), `_media` objects like any others, and delivery by id with
//! resized copies (proportional, crop to fill, never larger), cache headers and SVG
//! kept from running script.
mod common;

use common::TestApp;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

fn png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

async fn upload(app: &TestApp, key: &str, name: &str, bytes: Vec<u8>, kind: &str) -> (u16, Value) {
    let form = Form::new()
        .part("file", Part::bytes(bytes).file_name(name.to_owned()))
        .text("type", kind.to_owned())
        .text("save", "1");
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

async fn fetch(app: &TestApp, path: &str) -> reqwest::Response {
    app.client.get(app.url(path)).send().await.unwrap()
}

async fn dimensions(app: &TestApp, path: &str) -> (u32, u32) {
    let answer = fetch(app, path).await;
    assert_eq!(answer.status(), 200, "{path}");
    let bytes = answer.bytes().await.unwrap();
    let image = image::load_from_memory(&bytes).expect("an image");
    (image.width(), image.height())
}

#[tokio::test]
async fn an_uploaded_image_is_a_media_object_and_is_delivered_resized() {
    let app = TestApp::spawn().await;
    let bytes = png(400, 200);
    let (status, media) = upload(&app, &app.rw, "Sunset.PNG", bytes.clone(), "image").await;
    assert_eq!(status, 200, "{media}");
    let id = media["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("_media-"));
    for (field, value) in [
        ("fileName", json!("Sunset.PNG")),
        ("mimeType", json!("image/png")),
        ("extension", json!("png")),
        ("size", json!(bytes.len())),
        ("width", json!(400)),
        ("height", json!(200)),
        ("type", json!("image")),
        ("source", json!("disk")),
        ("externalId", json!("")),
        ("url", json!(format!("/image/0x0/{id}.png"))),
    ] {
        assert_eq!(media[field], value, "{field}");
    }
    assert_eq!(media["internal"]["contentType"], "_media");
    // An ordinary object: read back through the content API.
    let (status, again) = app
        .get(&format!("/api/v1/content/_media/{id}"), &app.ro)
        .await;
    assert_eq!(
        (status, again["fileName"].clone()),
        (200, json!("Sunset.PNG"))
    );

    // The original, without a key, with headers for an immutable file.
    let original = fetch(&app, &format!("/image/0x0/{id}.png")).await;
    assert_eq!(original.status(), 200);
    assert_eq!(original.headers()["content-type"], "image/png");
    assert_eq!(
        original.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let etag = original.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(original.bytes().await.unwrap().to_vec(), bytes);
    let unchanged = app
        .client
        .get(app.url(&format!("/image/0x0/{id}.png")))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(unchanged.status(), 304);

    // Proportional, crop to fill, never larger; the SEO form and the SDK's URL alike.
    for (size, expected) in [
        ("100x0", (100, 50)),
        ("0x50", (100, 50)),
        ("100x100", (100, 100)),
        ("800x0", (400, 200)),
        ("800x800", (200, 200)),
        ("1000x100", (400, 40)),
    ] {
        assert_eq!(
            dimensions(&app, &format!("/image/{size}/{id}.png")).await,
            expected,
            "{size}"
        );
    }
    assert_eq!(
        dimensions(&app, &format!("/image/100x0/{id}/any-name.png")).await,
        (100, 50)
    );
    assert_eq!(
        dimensions(&app, &format!("/image/100x0/{id}/Sunset.PNG")).await,
        (100, 50)
    );
    // Made once: the second answer is the kept copy, byte for byte.
    let first = fetch(&app, &format!("/image/100x0/{id}.png"))
        .await
        .bytes()
        .await
        .unwrap();
    let second = fetch(&app, &format!("/image/100x0/{id}.png"))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(first, second);

    // The extension must match; unknown ids and sizes are not found.
    for path in [
        format!("/image/0x0/{id}.jpg"),
        "/image/0x0/_media-nope.png".to_owned(),
        format!("/image/axb/{id}.png"),
        format!("/image/0x0/{id}"),
    ] {
        assert_eq!(fetch(&app, &path).await.status(), 404, "{path}");
    }
    assert_eq!(
        fetch(&app, &format!("/image/20000x0/{id}.png"))
            .await
            .status(),
        400
    );
}

#[tokio::test]
async fn uploads_get_flotiqs_errors_and_the_content_decides_the_type() {
    let app = TestApp::spawn().await;
    let gzip = vec![0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3];
    let (status, body) = upload(&app, &app.rw, "photo.jpg", gzip, "image").await;
    assert_eq!(status, 400);
    let message = body["file"][0].as_str().unwrap();
    assert!(
        message.starts_with("The mime type of the file is invalid (\"application/gzip\"). Allowed mime types are image/gif, image/png,"),
        "{message}"
    );
    let big = vec![b'a'; 11 * 1024 * 1024];
    let (status, body) = upload(&app, &app.rw, "notes.txt", big, "file").await;
    assert_eq!(status, 400);
    assert_eq!(
        body["file"],
        json!(["The file is too large (11.00 MB). Allowed maximum size is 10 MB."])
    );

    let mut broken = png(50, 50);
    broken.truncate(60);
    let (status, body) = upload(&app, &app.rw, "broken.png", broken, "image").await;
    assert_eq!(
        (status, body["file"].clone()),
        (400, json!(["The file is not a valid image"]))
    );

    // A small file that claims 30,000 x 30,000 pixels is refused, not unpacked.
    let mut bomb = png(1, 1);
    bomb[16..20].copy_from_slice(&30_000u32.to_be_bytes());
    bomb[20..24].copy_from_slice(&30_000u32.to_be_bytes());
    let (status, body) = upload(&app, &app.rw, "bomb.png", bomb, "image").await;
    assert_eq!(status, 400, "{body}");

    // Binary with a stray byte is not text; an empty file and an endless name are refused.
    let (status, _) = upload(
        &app,
        &app.rw,
        "tool.exe",
        b"\xffMZ\x90\0\x03".to_vec(),
        "file",
    )
    .await;
    assert_eq!(status, 400);
    let (status, body) = upload(&app, &app.rw, "empty.txt", Vec::new(), "file").await;
    assert_eq!(
        (status, body["file"].clone()),
        (400, json!(["An empty file is not allowed."]))
    );
    let long = format!("{}.png", "n".repeat(300));
    let (status, _) = upload(&app, &app.rw, &long, png(2, 2), "image").await;
    assert_eq!(status, 400);
    assert_eq!(
        app.stored_files("originals").await,
        Vec::<String>::new(),
        "no file kept for a refused upload"
    );

    let (status, body) = upload(&app, &app.rw, "a.png", png(2, 2), "video").await;
    assert_eq!(
        (status, body["type"].clone()),
        (
            400,
            json!(["The value you selected is not a valid choice."])
        )
    );
    let not_multipart = app.post("/api/media", &app.rw, &json!({"file": "x"})).await;
    assert_eq!(not_multipart.0, 415);

    // A PDF is a file: no dimensions, served only at 0x0.
    let (status, pdf) = upload(
        &app,
        &app.rw,
        "doc.pdf",
        b"%PDF-1.7\n%\xe2\xe3\n".to_vec(),
        "file",
    )
    .await;
    assert_eq!(status, 200, "{pdf}");
    assert_eq!(
        (pdf["type"].clone(), pdf["width"].clone()),
        (json!("file"), json!(0))
    );
    let id = pdf["id"].as_str().unwrap();
    assert_eq!(
        fetch(&app, &format!("/image/0x0/{id}.pdf")).await.status(),
        200
    );
    assert_eq!(
        fetch(&app, &format!("/image/100x0/{id}.pdf"))
            .await
            .status(),
        400
    );

    // SVG is served as it is, sandboxed so its scripts cannot run on our origin.
    let svg = b"<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>";
    let (status, svg_media) = upload(&app, &app.rw, "logo.svg", svg.to_vec(), "image").await;
    assert_eq!(status, 200, "{svg_media}");
    assert_eq!(svg_media["mimeType"], "image/svg+xml");
    let id = svg_media["id"].as_str().unwrap();
    let answer = fetch(&app, &format!("/image/200x0/{id}.svg")).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["content-security-policy"], "sandbox");
    assert_eq!(answer.headers()["content-type"], "image/svg+xml");
}

#[tokio::test]
async fn media_keys_follow_their_rules() {
    let app = TestApp::with_demo().await;
    let (status, _) = upload(&app, &app.ro, "a.png", png(4, 4), "image").await;
    assert_eq!(status, 403, "the read-only key cannot upload");
    let (status, _) = upload(&app, "cg_not_a_key", "a.png", png(4, 4), "image").await;
    assert_eq!(status, 401);
    let readers = app.user_key(&[("_media", "r")]).await;
    let (status, _) = upload(&app, &readers, "a.png", png(4, 4), "image").await;
    assert_eq!(status, 403);
    let uploader = app.user_key(&[("_media", "c")]).await;
    let (status, media) = upload(&app, &uploader, "a.png", png(4, 4), "image").await;
    assert_eq!(status, 200, "{media}");
    // `_media=r` reads media and nothing else.
    let (status, list) = app.get("/api/v1/content/_media", &readers).await;
    assert_eq!((status, list["total_count"].as_u64()), (200, Some(1)));
    assert_eq!(app.get("/api/v1/content/post", &readers).await.0, 403);
    assert_eq!(
        app.get("/api/v1/content/_media", &uploader).await.0,
        403,
        "create only"
    );
    let (status, graphql) = app
        .post(
            "/api/v2/graphql",
            &readers,
            &json!({"query": "{ _media(first: 5) { edges { node { id fileName width } } } }"}),
        )
        .await;
    assert_eq!(status, 200, "{graphql}");
    assert_eq!(graphql["data"]["_media"]["edges"][0]["node"]["width"], 4);
}

#[tokio::test]
async fn deleted_media_is_gone_and_its_files_are_removed() {
    let app = TestApp::spawn().await;
    // An instance that looks for deleted media often (the default is every 30 s).
    let graphql = contentgate::app::GraphqlOptions {
        introspection: true,
    };
    let _sweeper = app
        .spawn_peer_configured(graphql, |state| {
            state.with_media_removal_interval(std::time::Duration::from_millis(100))
        })
        .await;
    let (_, media) = upload(&app, &app.rw, "a.png", png(40, 20), "image").await;
    let id = media["id"].as_str().unwrap().to_owned();
    assert_eq!(
        fetch(&app, &format!("/image/10x0/{id}.png")).await.status(),
        200
    );
    let original = format!("originals/{id}.png");
    let stored = |files: Vec<String>| files.iter().any(|key| key.contains(&id));
    assert_eq!(app.stored_files("originals").await, vec![original.clone()]);
    assert!(stored(app.stored_files("resized").await));
    if let Some(path) = app.media().local_path(&original) {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    assert_eq!(
        app.delete(&format!("/api/v1/content/_media/{id}"), &app.rw)
            .await
            .0,
        200
    );
    // Never delivered again, at once; its files go after the delete has committed.
    assert_eq!(
        fetch(&app, &format!("/image/0x0/{id}.png")).await.status(),
        404
    );
    let mut left = Vec::new();
    for _ in 0..50 {
        left = app.stored_files("originals").await;
        left.extend(app.stored_files("resized").await);
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(left, Vec::<String>::new(), "files removed");
}

#[tokio::test]
async fn the_type_sent_comes_from_the_stored_bytes_not_the_object() {
    let app = TestApp::spawn().await;
    let (_, media) = upload(&app, &app.rw, "a.png", png(8, 8), "image").await;
    let id = media["id"].as_str().unwrap().to_owned();
    // A key that may update media sets a hostile type on the object.
    let (status, _) = app
        .patch(
            &format!("/api/v1/content/_media/{id}"),
            &app.rw,
            &json!({"mimeType": "text/html"}),
        )
        .await;
    assert_eq!(status, 200);
    let answer = fetch(&app, &format!("/image/0x0/{id}.png")).await;
    assert_eq!(answer.headers()["content-type"], "image/png");
    // The fields that describe the file are the upload's, whatever a write sends.
    let (_, object) = app
        .get(&format!("/api/v1/content/_media/{id}"), &app.ro)
        .await;
    assert_eq!(object["mimeType"], "image/png");
    // Media objects are made by uploads only, so no client picks an id or a file.
    let forged = json!({"id": "_media-forged", "fileName": "x.html", "mimeType": "text/html",
        "size": 1, "url": "/image/0x0/_media-forged.html", "source": "disk", "extension": "html", "type": "file"});
    assert_eq!(
        app.post("/api/v1/content/_media", &app.rw, &forged).await.0,
        400
    );
    assert_ne!(
        app.post("/api/v1/content/_media/batch", &app.rw, &json!([forged]))
            .await
            .0,
        200
    );
    let (_, list) = app.get("/api/v1/content/_media", &app.ro).await;
    assert_eq!(list["total_count"], 1);
    // Pointing the object at another extension finds no file: 404, not an error.
    app.patch(
        &format!("/api/v1/content/_media/{id}"),
        &app.rw,
        &json!({"extension": "gif"}),
    )
    .await;
    assert_eq!(
        fetch(&app, &format!("/image/0x0/{id}.gif")).await.status(),
        404
    );
}

#[tokio::test]
async fn files_answer_range_requests_and_sizes_kept_are_bounded() {
    let app = TestApp::spawn().await;
    let text = b"0123456789abcdefghij".to_vec();
    let (_, media) = upload(&app, &app.rw, "notes.txt", text, "file").await;
    let id = media["id"].as_str().unwrap().to_owned();
    let part = app
        .client
        .get(app.url(&format!("/image/0x0/{id}.txt")))
        .header("range", "bytes=5-9")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(part.headers()["content-type"], "text/plain");
    assert_eq!(part.headers()["content-security-policy"], "sandbox");
    assert_eq!(part.text().await.unwrap(), "56789");
    // A range past the end is a 416 that says the size, and is not cached as the file.
    let past = app
        .client
        .get(app.url(&format!("/image/0x0/{id}.txt")))
        .header("range", "bytes=100-200")
        .send()
        .await
        .unwrap();
    assert_eq!(past.status(), 416);
    assert_eq!(past.headers()["content-range"], "bytes */20");
    assert_ne!(
        past.headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap()),
        Some("public, max-age=31536000, immutable")
    );

    let (_, image) = upload(&app, &app.rw, "a.png", png(100, 100), "image").await;
    let id = image["id"].as_str().unwrap().to_owned();
    let limit = contentgate::media::MAX_KEPT_SIZES as u32;
    for width in 1..=limit + 6 {
        let path = format!("/image/{width}x0/{id}.png");
        assert_eq!(fetch(&app, &path).await.status(), 200, "{path}");
    }
    let kept = app.media().copy_count(&id).await.unwrap();
    assert_eq!(
        kept, limit as usize,
        "sizes past the limit are made, not kept"
    );

    // Requests that come out at one size share one copy; at the original's, none is made.
    let (_, small) = upload(&app, &app.rw, "s.png", png(64, 48), "image").await;
    let id = small["id"].as_str().unwrap().to_owned();
    for side in 1000..1010 {
        assert_eq!(
            dimensions(&app, &format!("/image/{side}x{side}/{id}.png")).await,
            (48, 48)
        );
        assert_eq!(
            dimensions(&app, &format!("/image/{side}x0/{id}.png")).await,
            (64, 48)
        );
    }
    let kept = app.media().copy_count(&id).await.unwrap();
    assert_eq!(
        kept, 1,
        "one 48x48 copy; the proportional ones are the original"
    );
    // Weak and wildcard validators match too.
    let weak = app
        .client
        .get(app.url(&format!("/image/0x0/{id}.png")))
        .header("if-none-match", "*")
        .send()
        .await
        .unwrap();
    assert_eq!(weak.status(), 304);
}

#[tokio::test]
async fn media_gc_removes_files_no_object_points_at() {
    let app = TestApp::spawn().await;
    let (_, media) = upload(&app, &app.rw, "a.png", png(8, 8), "image").await;
    let id = media["id"].as_str().unwrap().to_owned();
    // What a crash between storing a file and writing its object leaves.
    let store = app.media();
    let orphans = [
        "originals/_media-orphan.png",
        "resized/_media-orphan/10x0.png",
    ];
    for orphan in orphans {
        store.keep_bytes(orphan, b"x".to_vec()).await.unwrap();
    }
    let mut gc = std::process::Command::new(env!("CARGO_BIN_EXE_contentgate"));
    if let Some(url) = common::media_url(app.data_dir()) {
        gc.env("CONTENTGATE_MEDIA_URL", url);
    }
    let output = gc
        .arg("--data-dir")
        .arg(app.data_dir())
        .args(["media", "gc", "--json"])
        .env("DATABASE_URL", &app.database_url)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        (
            report["removed_files"].clone(),
            report["kept_files"].clone()
        ),
        (json!(2), json!(1))
    );
    assert_eq!(
        app.stored_files("originals").await,
        vec![format!("originals/{id}.png")]
    );
    assert_eq!(app.stored_files("resized").await, Vec::<String>::new());
    if let Some(path) = store.local_path("resized/_media-orphan") {
        assert!(!path.exists(), "the copies' folder goes with them");
    }
    assert_eq!(
        fetch(&app, &format!("/image/0x0/{id}.png")).await.status(),
        200
    );
}

async fn pixels(app: &TestApp, path: &str) -> (reqwest::header::HeaderMap, image::RgbImage) {
    let answer = fetch(app, path).await;
    assert_eq!(answer.status(), 200, "{path}");
    let headers = answer.headers().clone();
    let bytes = answer.bytes().await.unwrap();
    (headers, image::load_from_memory(&bytes).unwrap().to_rgb8())
}

#[tokio::test]
async fn trims_and_variants_cut_before_the_resize() {
    let app = TestApp::spawn().await;
    let (_, media) = upload(&app, &app.rw, "a.png", png(400, 200), "image").await;
    let id = media["id"].as_str().unwrap().to_owned();
    // The test image's pixel (x, y) is (x, y, 128): a cut shows where it starts.
    let corner = |image: &image::RgbImage| image.get_pixel(0, 0).0;

    // In the path: top, right, bottom, left cut from each side.
    let (headers, cut) = pixels(
        &app,
        &format!("/image/0x0/{id}/a.png/transform/trim/10,20,30,40"),
    )
    .await;
    assert_eq!(
        (cut.width(), cut.height(), corner(&cut)),
        (340, 160, [40, 10, 128])
    );
    assert_eq!(
        headers["cache-control"],
        "public, max-age=31536000, immutable"
    );
    // In the query: a box, on either URL form, then resized.
    let boxed = r#"{"trim":{"top":10,"left":20,"width":100,"height":50}}"#;
    let query = format!("transform={}", urlencode(boxed));
    let (headers, cut) = pixels(&app, &format!("/image/0x0/{id}.png?{query}")).await;
    // Not immutable: a cache that ignores queries must not take it for the original.
    assert_eq!(headers["cache-control"], "public, no-cache");
    assert_eq!(
        (cut.width(), cut.height(), corner(&cut)),
        (100, 50, [20, 10, 128])
    );
    let (_, small) = pixels(&app, &format!("/image/50x0/{id}/a.png?{query}")).await;
    assert_eq!((small.width(), small.height()), (50, 25));
    // A trim past the edge is clamped; one that leaves nothing, or nonsense, is a 400.
    let (_, clamped) = pixels(
        &app,
        &format!("/image/0x0/{id}/a.png/transform/trim/0,0,0,350"),
    )
    .await;
    assert_eq!((clamped.width(), clamped.height()), (50, 200));
    for bad in [
        format!("/image/0x0/{id}/a.png/transform/trim/0,200,0,200"),
        format!("/image/0x0/{id}/a.png/transform/trim/1,2,3"),
        format!(
            "/image/0x0/{id}.png?transform={}",
            urlencode(r#"{"blur":3}"#)
        ),
        format!(
            "/image/0x0/{id}.png?transform={}",
            urlencode(r#"{"trim":{"top":-5}}"#)
        ),
        format!("/image/0x0/{id}.png?transform=nope"),
    ] {
        let answer = fetch(&app, &bad).await;
        assert_eq!(answer.status(), 400, "{bad}");
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["code"], 400, "{bad}: {body}");
    }

    // A named variant lives in the object, set by a key that may update media.
    let variants = json!({"variants": [{"name": "square", "trim": {"top": 0, "left": 100, "width": 200, "height": 200}}]});
    let (status, body) = app
        .patch(&format!("/api/v1/content/_media/{id}"), &app.rw, &variants)
        .await;
    assert_eq!(status, 200, "{body}");
    let path = format!("/image/100x0/{id}/a.png/variant/square");
    let (headers, square) = pixels(&app, &path).await;
    assert_eq!((square.width(), square.height()), (100, 100));
    // The variant may change, so its URL is checked again each time (cheaply: 304).
    assert_eq!(headers["cache-control"], "public, no-cache");
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let again = app
        .client
        .get(app.url(&path))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    let wider = json!({"variants": [{"name": "square", "trim": {"top": 0, "left": 0, "width": 400, "height": 100}}]});
    app.patch(&format!("/api/v1/content/_media/{id}"), &app.rw, &wider)
        .await;
    let (headers, changed) = pixels(&app, &path).await;
    assert_eq!((changed.width(), changed.height()), (100, 25));
    assert_ne!(headers["etag"].to_str().unwrap(), etag);
    assert_eq!(
        fetch(&app, &format!("/image/100x0/{id}/a.png/variant/missing"))
            .await
            .status(),
        404
    );
    // A variant's name follows Flotiq's pattern.
    let bad_name = json!({"variants": [{"name": "no spaces", "trim": {"top": 1}}]});
    assert_eq!(
        app.patch(&format!("/api/v1/content/_media/{id}"), &app.rw, &bad_name)
            .await
            .0,
        400
    );
    // Files other than raster images are not trimmed.
    let (_, text) = upload(&app, &app.rw, "a.txt", b"hello".to_vec(), "file").await;
    let text_id = text["id"].as_str().unwrap();
    assert_eq!(
        fetch(
            &app,
            &format!("/image/0x0/{text_id}/a.txt/transform/trim/1,1,1,1")
        )
        .await
        .status(),
        400
    );
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
