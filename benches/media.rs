//! Media benchmark: uploading a 2 MB JPEG, the first delivery of `/image/400x0/...` (a
//! resize, made and kept) and a repeated one (the kept copy), on SQLite in a temporary
//! data folder. `cargo bench --bench media`.

use std::time::{Duration, Instant};

use contentgate::accounts;
use contentgate::app::{AppState, GraphqlOptions, serve};
use contentgate::auth::ServerSecret;
use contentgate::auth::keys::KeyStore;
use contentgate::media::MediaStore;
use contentgate::quota::QuotaOptions;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const UPLOADS: usize = 24;

/// A photo-like JPEG (gradients with noise, 2000 x 1333; about 2 MB at quality 90).
fn jpeg() -> Vec<u8> {
    let mut seed = 0x2545_f491_u32;
    let image = image::RgbImage::from_fn(2000, 1333, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let noise = (seed % 96) as u8;
        image::Rgb([
            ((x / 10) as u8).wrapping_add(noise),
            ((y / 7) as u8).wrapping_add(noise / 2),
            (((x + y) / 13) as u8).wrapping_add(noise / 3),
        ])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(&image)
        .expect("jpeg");
    out.into_inner()
}

fn p50(mut times: Vec<Duration>) -> f64 {
    times.sort();
    times[times.len() / 2].as_secs_f64() * 1000.0
}

fn line(name: &str, count: usize, total: Duration, times: Vec<Duration>) {
    println!(
        "| {name:<40} | {:>8.1} | {:>8.2} |",
        count as f64 / total.as_secs_f64(),
        p50(times)
    );
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = contentgate::db::sqlite_url(dir.path());
    let db = contentgate::db::connect(&url).await.expect("database");
    let keys = KeyStore {
        db: db.clone(),
        secret: ServerSecret::from_material(b"bench"),
        show_once: false,
    };
    let (account, _) = accounts::ensure_default(&keys, "unlimited")
        .await
        .expect("account");
    let rw = keys.list(&account.id).await.expect("keys")[1]
        .key
        .clone()
        .expect("read-write key");
    let quota = QuotaOptions {
        enabled: false,
        ..QuotaOptions::default()
    };
    let state = AppState::new(
        db,
        keys,
        GraphqlOptions {
            introspection: true,
        },
        quota,
    )
    .with_media(MediaStore::new(dir.path().join("media")));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(
        listener,
        state,
        async move {
            let _ = stopped.await;
        },
        Duration::from_secs(5),
    ));
    let client = reqwest::Client::new();
    let photo = jpeg();
    println!(
        "Media on SQLite, one client at a time; the photo is a {:.2} MB JPEG of 2000 x 1333.",
        photo.len() as f64 / (1024.0 * 1024.0)
    );
    println!("| scenario                                 |    req/s |   p50 ms |");
    println!("|------------------------------------------|----------|----------|");

    let (mut ids, mut times) = (Vec::new(), Vec::new());
    let started = Instant::now();
    for _ in 0..UPLOADS {
        let form = reqwest::multipart::Form::new()
            .part(
                "file",
                reqwest::multipart::Part::bytes(photo.clone()).file_name("photo.jpg"),
            )
            .text("type", "image");
        let sent = Instant::now();
        let answer = client
            .post(format!("{base}/api/media"))
            .header("x-auth-token", &rw)
            .multipart(form)
            .send()
            .await
            .expect("upload");
        assert_eq!(answer.status(), 200);
        let body: serde_json::Value = answer.json().await.expect("media");
        times.push(sent.elapsed());
        ids.push(body["id"].as_str().expect("id").to_owned());
    }
    line("upload of the JPEG", UPLOADS, started.elapsed(), times);

    let fetch = |id: &str| {
        let request = client.get(format!("{base}/image/400x0/{id}.jpg"));
        async move {
            let sent = Instant::now();
            let answer = request.send().await.expect("image");
            assert_eq!(answer.status(), 200);
            answer.bytes().await.expect("body");
            sent.elapsed()
        }
    };
    let started = Instant::now();
    let mut times = Vec::new();
    for id in &ids {
        times.push(fetch(id).await);
    }
    line(
        "first /image/400x0 (resize, kept)",
        ids.len(),
        started.elapsed(),
        times,
    );

    let started = Instant::now();
    let mut times = Vec::new();
    let mut count = 0;
    while started.elapsed() < Duration::from_secs(2) {
        times.push(fetch(&ids[count % ids.len()]).await);
        count += 1;
    }
    line(
        "repeated /image/400x0 (the kept copy)",
        count,
        started.elapsed(),
        times,
    );

    let _ = stop.send(());
    server.await.expect("server").expect("serve");
}
