//! Keys for what the idempotency records keep, derived from the service's
//! pepper (kept outside the database when `TIMEBANK_PEPPER` is set). A request
//! fingerprint is an HMAC, so a dump alone cannot test guesses of a request
//! (a phone number, say) against it; a stored answer is sealed (XChaCha20-
//! Poly1305, bound to its scope and key), so a dump alone does not read the
//! names and numbers in it, while a replay stays byte for byte the first answer.

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::AppError;

const SEALED: &str = "s1.";
const NONCE_BYTES: usize = 24;

pub struct RecordKeys {
    fingerprint: [u8; 32],
    seal: XChaCha20Poly1305,
}

impl std::fmt::Debug for RecordKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecordKeys(..)")
    }
}

fn derive(pepper: &[u8], purpose: &str) -> Result<[u8; 32], AppError> {
    let mut mac = Hmac::<Sha256>::new_from_slice(pepper).map_err(AppError::internal)?;
    mac.update(purpose.as_bytes());
    Ok(mac.finalize().into_bytes().into())
}

impl RecordKeys {
    pub fn derive(pepper: &[u8]) -> Result<Self, AppError> {
        let seal = derive(pepper, "timebank idempotency answer seal v1")?;
        Ok(Self {
            fingerprint: derive(pepper, "timebank idempotency fingerprint v1")?,
            seal: XChaCha20Poly1305::new_from_slice(&seal).map_err(AppError::internal)?,
        })
    }

    /// The keyed fingerprint of `parts`, each length-prefixed so that no two
    /// different requests run together into the same input.
    pub fn fingerprint(&self, parts: &[&[u8]]) -> Result<String, AppError> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.fingerprint).map_err(AppError::internal)?;
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        Ok(hex::encode(mac.finalize().into_bytes()))
    }

    /// Seals an answer's body for the record of (scope, key).
    pub fn seal(&self, scope: &str, key: &str, body: &str) -> Result<String, AppError> {
        if body.is_empty() {
            return Ok(String::new());
        }
        let mut nonce = [0u8; NONCE_BYTES];
        rand::fill(&mut nonce);
        let aad = associated(scope, key);
        let sealed = self
            .seal
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: body.as_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|_| AppError::internal("sealing an idempotency answer failed"))?;
        let mut out = nonce.to_vec();
        out.extend(sealed);
        Ok(format!(
            "{SEALED}{}",
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(out)
        ))
    }

    /// Opens a sealed body (one kept before bodies were sealed is returned
    /// as it is).
    pub fn open(&self, scope: &str, key: &str, stored: &str) -> Result<String, AppError> {
        let Some(text) = stored.strip_prefix(SEALED) else {
            return Ok(stored.to_string());
        };
        let raw = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(text)
            .map_err(|e| AppError::internal(format!("corrupt sealed answer: {e}")))?;
        if raw.len() < NONCE_BYTES {
            return Err(AppError::internal("corrupt sealed answer: too short"));
        }
        let (nonce, sealed) = raw.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce
            .try_into()
            .map_err(|_| AppError::internal("corrupt sealed answer: nonce"))?;
        let aad = associated(scope, key);
        let body = self
            .seal
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: sealed,
                    aad: &aad,
                },
            )
            .map_err(|_| {
                AppError::internal(
                    "a stored answer does not open: the pepper changed or the row was edited",
                )
            })?;
        String::from_utf8(body).map_err(AppError::internal)
    }
}

fn associated(scope: &str, key: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(scope.len() + key.len() + 1);
    aad.extend_from_slice(scope.as_bytes());
    aad.push(0);
    aad.extend_from_slice(key.as_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_answers_open_only_under_their_own_key() {
        let keys = RecordKeys::derive(b"a pepper of at least thirty-two bytes!!").unwrap();
        let body = r#"{"name":"Li Wei","phone_last4":"8000"}"#;
        let sealed = keys.seal("user-1", "key-1", body).unwrap();
        assert!(!sealed.contains("Li Wei"));
        assert_eq!(keys.open("user-1", "key-1", &sealed).unwrap(), body);
        assert!(keys.open("user-2", "key-1", &sealed).is_err());
        let other = RecordKeys::derive(b"another pepper of thirty-two bytes!!!").unwrap();
        assert!(other.open("user-1", "key-1", &sealed).is_err());
        assert_eq!(keys.open("u", "k", "plain").unwrap(), "plain");
    }

    #[test]
    fn fingerprints_are_keyed_and_unambiguous() {
        let keys = RecordKeys::derive(b"a pepper of at least thirty-two bytes!!").unwrap();
        let other = RecordKeys::derive(b"another pepper of thirty-two bytes!!!").unwrap();
        let a = keys.fingerprint(&[b"POST /v1/x", b"{}"]).unwrap();
        assert_ne!(a, other.fingerprint(&[b"POST /v1/x", b"{}"]).unwrap());
        assert_ne!(a, keys.fingerprint(&[b"POST /v1/x{", b"}"]).unwrap());
    }
}
