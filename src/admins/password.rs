//! Admin passwords: argon2id with the crate's default (OWASP) parameters, hashed and
//! checked off the async runtime (each takes tens of milliseconds on purpose).

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::RngCore;

use crate::error::{AppError, AppResult};

pub const MIN_LENGTH: usize = 10;

/// Refuses passwords too short to resist guessing, with the reason.
pub fn check_strength(password: &str) -> AppResult<()> {
    if password.chars().count() < MIN_LENGTH {
        return Err(AppError::field(
            "password",
            format!("The password must have at least {MIN_LENGTH} characters"),
        ));
    }
    Ok(())
}

fn hash_now(password: &str) -> String {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).expect("16 bytes make a valid salt");
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashes any password with default parameters")
        .to_string()
}

pub async fn hash(password: String) -> AppResult<String> {
    tokio::task::spawn_blocking(move || hash_now(&password))
        .await
        .map_err(|err| AppError::Internal(format!("password hashing stopped: {err}")))
}

/// Whether `password` matches `stored`; with no stored hash (no such admin) a hash of a
/// random password is checked instead, so that the answer takes as long either way.
pub async fn verify(password: String, stored: Option<String>) -> bool {
    static DECOY: OnceLock<String> = OnceLock::new();
    let result = tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| {
            DECOY
                .get_or_init(|| hash_now(&uuid::Uuid::new_v4().to_string()))
                .clone()
        });
        let matches = PasswordHash::new(&stored).is_ok_and(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        });
        known && matches
    })
    .await;
    result.unwrap_or(false)
}
