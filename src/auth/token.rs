//! Key format: `cg_` + 32 random bytes (base64url) + a CRC-32 of those characters
//! (base64url). The fixed prefix makes leaked keys greppable; the checksum lets the
//! server turn away typos and garbage without touching the database.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;

pub const PREFIX: &str = "cg_";
const BODY_LEN: usize = 43; // 32 bytes
const CHECK_LEN: usize = 6; // 4 bytes
pub const TOKEN_LEN: usize = PREFIX.len() + BODY_LEN + CHECK_LEN;

/// A key secret. `Debug` never prints it, so it cannot slip into a log or a panic.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken(String);

impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiToken([redacted])")
    }
}

impl ApiToken {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let body = URL_SAFE_NO_PAD.encode(bytes);
        let check = URL_SAFE_NO_PAD.encode(crc32fast::hash(body.as_bytes()).to_be_bytes());
        ApiToken(format!("{PREFIX}{body}{check}"))
    }

    /// Accepts only well-formed keys with a matching checksum.
    pub fn parse(raw: &str) -> Option<Self> {
        if raw.len() != TOKEN_LEN || !raw.starts_with(PREFIX) || !raw.is_ascii() {
            return None;
        }
        let body = &raw[PREFIX.len()..PREFIX.len() + BODY_LEN];
        let check = URL_SAFE_NO_PAD
            .decode(&raw[PREFIX.len() + BODY_LEN..])
            .ok()?;
        let expected = crc32fast::hash(body.as_bytes()).to_be_bytes();
        (URL_SAFE_NO_PAD.decode(body).ok()?.len() == 32 && check == expected)
            .then(|| ApiToken(raw.to_owned()))
    }

    /// The secret itself, for the digest, sealing, and showing it to its owner.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_parse_and_typos_do_not() {
        let token = ApiToken::generate();
        assert_eq!(token.expose().len(), TOKEN_LEN);
        assert!(ApiToken::parse(token.expose()).is_some());
        let mut typo = token.expose().to_owned().into_bytes();
        typo[10] = if typo[10] == b'A' { b'B' } else { b'A' };
        assert!(ApiToken::parse(std::str::from_utf8(&typo).unwrap()).is_none());
        assert!(ApiToken::parse("cg_short").is_none());
        assert!(format!("{token:?}").contains("redacted"));
    }
}
