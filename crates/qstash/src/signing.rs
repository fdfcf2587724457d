//! `Upstash-Signature`: a plain HS256 JWT over each delivery, keyed by the current signing key's
//! string bytes (§7 of the reference): `iss` Upstash, `sub` the URL called, `iat`/`nbf` now,
//! `exp` five minutes later, a string `jti`, and `body` = base64url(SHA-256(raw body)). No `aud`.

use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rand::distributions::{Alphanumeric, DistString};
use serde::{Deserialize, Serialize};
use sha2::Digest;

/// The pair of signing keys: deliveries are signed with `current`; receivers also accept `next`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningKeys {
    /// Signs every delivery.
    pub current: String,
    /// Becomes `current` at the next rotation.
    pub next: String,
}

impl SigningKeys {
    /// Fresh random keys (`sig_` + 28 alphanumerics, the hosted service's shape).
    pub fn generate() -> Self {
        SigningKeys { current: new_key(), next: new_key() }
    }

    /// After a rotation: `next` becomes `current`, and a fresh `next`.
    pub fn rotated(&self) -> Self {
        SigningKeys { current: self.next.clone(), next: new_key() }
    }
}

/// A random signing key.
pub fn new_key() -> String {
    format!("sig_{}", Alphanumeric.sample_string(&mut rand::thread_rng(), 28))
}

/// The claims QStash puts in a delivery's JWT.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// Always `Upstash`.
    pub iss: String,
    /// The URL called (destination or callback, with its query).
    pub sub: String,
    /// Issued at (s).
    pub iat: u64,
    /// Not before (s) = iat.
    pub nbf: u64,
    /// Expires (s) = iat + 300.
    pub exp: u64,
    /// `jwt_...`.
    pub jti: String,
    /// base64url(SHA-256(body)).
    pub body: String,
}

/// Signs a delivery of `body` to `url` at `now_ms` with `key`.
pub fn sign(key: &str, url: &str, body: &[u8], now_ms: u64) -> Result<String, jsonwebtoken::errors::Error> {
    let now = now_ms / 1000;
    let claims = Claims {
        iss: "Upstash".into(),
        sub: url.into(),
        iat: now,
        nbf: now,
        exp: now + 300,
        jti: format!("jwt_{}", Alphanumeric.sample_string(&mut rand::thread_rng(), 24)),
        body: body_hash(body),
    };
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(key.as_bytes()))
}

/// base64url(SHA-256(body)) with padding (the SDKs strip padding before comparing).
pub fn body_hash(body: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE.encode(sha2::Sha256::digest(body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation};

    #[test]
    fn tokens_verify_with_an_ordinary_jwt_library() {
        let keys = SigningKeys::generate();
        let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
        let token = sign(&keys.current, "https://example.com/a?x=1", b"hello", now_ms).unwrap();
        let mut v = Validation::new(Algorithm::HS256);
        v.set_issuer(&["Upstash"]);
        v.set_required_spec_claims(&["iss", "sub", "exp", "nbf"]);
        let data = jsonwebtoken::decode::<Claims>(&token, &DecodingKey::from_secret(keys.current.as_bytes()), &v).unwrap();
        assert_eq!(data.claims.sub, "https://example.com/a?x=1");
        assert_eq!(data.claims.exp, data.claims.iat + 300);
        assert_eq!(data.claims.nbf, data.claims.iat);
        assert!(data.claims.jti.starts_with("jwt_"));
        assert_eq!(data.claims.body.trim_end_matches('='), "LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ");
        assert!(jsonwebtoken::decode::<Claims>(&token, &DecodingKey::from_secret(keys.next.as_bytes()), &v).is_err());
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.alg, Algorithm::HS256);
        assert_eq!(header.typ.as_deref(), Some("JWT"));
    }

    #[test]
    fn rotation_promotes_next() {
        let k = SigningKeys::generate();
        let r = k.rotated();
        assert_eq!(r.current, k.next);
        assert_ne!(r.next, k.next);
        assert!(r.next.starts_with("sig_") && r.next.len() == 32);
    }
}
