//! The server secret: a keyed digest of each key for lookup (HMAC-SHA256), and sealing
//! of each key (XChaCha20-Poly1305) so that the operator can show it again.

use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use super::ApiToken;

type HmacSha256 = Hmac<Sha256>;

#[derive(Clone)]
pub struct ServerSecret {
    digest_key: [u8; 32],
    seal_key: [u8; 32],
    tag_key: [u8; 32],
}

impl std::fmt::Debug for ServerSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerSecret([redacted])")
    }
}

impl ServerSecret {
    /// Derives independent sub-keys so that the digest key never doubles as a cipher key.
    pub fn from_material(material: &[u8]) -> Self {
        let derive = |label: &[u8]| -> [u8; 32] {
            let mut mac =
                <HmacSha256 as Mac>::new_from_slice(material).expect("hmac takes any key length");
            mac.update(label);
            mac.finalize().into_bytes().into()
        };
        ServerSecret {
            digest_key: derive(b"contentgate key digest"),
            seal_key: derive(b"contentgate key seal"),
            tag_key: derive(b"contentgate entity tag"),
        }
    }

    /// `CONTENTGATE_SECRET` when given, else `secret.key` in the data folder, created on
    /// first use with mode 0600.
    pub fn load(override_value: Option<&str>, data_dir: &Path) -> std::io::Result<Self> {
        if let Some(value) = override_value.filter(|v| !v.is_empty()) {
            return Ok(Self::from_material(value.as_bytes()));
        }
        let path = data_dir.join("secret.key");
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Self::from_material(text.trim().as_bytes())),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(data_dir)?;
                let mut bytes = [0u8; 32];
                rand::rng().fill_bytes(&mut bytes);
                let text = STANDARD.encode(bytes);
                let mut file = create_private(&path)?;
                file.write_all(text.as_bytes())?;
                file.sync_all()?;
                Ok(Self::from_material(text.as_bytes()))
            }
            Err(err) => Err(err),
        }
    }

    /// The lookup digest of a key, hex-encoded.
    pub fn digest(&self, token: &ApiToken) -> String {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.digest_key)
            .expect("hmac takes any key length");
        mac.update(token.expose().as_bytes());
        hex(&mac.finalize().into_bytes())
    }

    /// A keyed digest of `parts` (each length-prefixed): the same on every instance
    /// sharing the secret, and not computable by anyone without it (entity tags).
    pub fn tag(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac =
            <HmacSha256 as Mac>::new_from_slice(&self.tag_key).expect("hmac takes any key length");
        for part in parts {
            mac.update(&(part.len() as u64).to_le_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    pub fn seal(&self, token: &ApiToken) -> String {
        let cipher = XChaCha20Poly1305::new((&self.seal_key).into());
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = cipher
            .encrypt(XNonce::from_slice(&nonce), token.expose().as_bytes())
            .expect("encryption of a short buffer cannot fail");
        STANDARD.encode([nonce.as_slice(), &sealed].concat())
    }

    /// `None` when the sealed copy was made under another secret or was tampered with.
    pub fn open(&self, sealed: &str) -> Option<ApiToken> {
        let bytes = STANDARD.decode(sealed).ok()?;
        if bytes.len() < 24 {
            return None;
        }
        let cipher = XChaCha20Poly1305::new((&self.seal_key).into());
        let plain = cipher
            .decrypt(XNonce::from_slice(&bytes[..24]), &bytes[24..])
            .ok()?;
        ApiToken::parse(std::str::from_utf8(&plain).ok()?)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(unix)]
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}
