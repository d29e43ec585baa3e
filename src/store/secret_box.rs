//! Webhook Secrets encrypted at rest (docs/DELIVERY.md, "Secrets at rest"): XChaCha20-Poly1305
//! under the key of the secret key file, a random 24-byte nonce per value. The stored form is
//! `enc:v1:` + base64(nonce || ciphertext || tag), so a value written before encryption existed
//! (no prefix) is recognisable and sealed at the next start.
//!
//! Only the store seals and opens: everything above it sees plaintext Secrets.

use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};

use super::{StoreError, StoreResult};

/// The prefix of a sealed value (the version says which cipher and layout follow).
pub(crate) const SEALED_PREFIX: &str = "enc:v1:";
/// Length of a secret key in bytes.
pub const KEY_BYTES: usize = 32;

const NONCE_BYTES: usize = 24;
/// Associated data binding each sealed value to what it is, so a sealed value copied from one
/// use to the other does not open.
const SECRET_AAD: &[u8] = b"hookwire webhooks.secret";
const KEY_CHECK_AAD: &[u8] = b"hookwire secret_key_check";
/// What the key-check row holds, sealed.
const KEY_CHECK_TEXT: &str = "hookwire secret key check";

/// The cipher of webhook Secrets, under one key.
#[derive(Clone)]
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)") // never the key
    }
}

impl SecretBox {
    pub fn new(key: &[u8; KEY_BYTES]) -> SecretBox {
        SecretBox {
            cipher: XChaCha20Poly1305::new(&(*key).into()),
        }
    }

    /// A Secret as stored: sealed, or NULL when there is none.
    pub(crate) fn seal_secret(&self, secret: Option<&str>) -> StoreResult<Option<String>> {
        secret.map(|s| self.seal(s, SECRET_AAD)).transpose()
    }

    /// The Secret of a stored value. A value without the prefix was written before Secrets were
    /// encrypted and is returned as it is (the next start seals it).
    pub(crate) fn open_secret(&self, stored: Option<String>) -> StoreResult<Option<String>> {
        match stored {
            Some(value) if is_sealed(&value) => self.open(&value, SECRET_AAD).map(Some),
            other => Ok(other),
        }
    }

    /// A fresh key-check value: a known text sealed under this key.
    pub(crate) fn key_check(&self) -> StoreResult<String> {
        self.seal(KEY_CHECK_TEXT, KEY_CHECK_AAD)
    }

    /// Whether `stored` (a key-check value) was sealed under this key.
    pub(crate) fn matches_key_check(&self, stored: &str) -> bool {
        matches!(self.open(stored, KEY_CHECK_AAD), Ok(text) if text == KEY_CHECK_TEXT)
    }

    fn seal(&self, plaintext: &str, aad: &[u8]) -> StoreResult<String> {
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce)
            .map_err(|e| StoreError::Seal(format!("the operating system's random source: {e}")))?;
        let payload = Payload {
            msg: plaintext.as_bytes(),
            aad,
        };
        // Encryption fails only for messages of gigabytes; a Secret is bounded by the body limit.
        let sealed = self
            .cipher
            .encrypt(&XNonce::from(nonce), payload)
            .map_err(|_| StoreError::Seal("too long".into()))?;
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        Ok(format!("{SEALED_PREFIX}{}", BASE64.encode(bytes)))
    }

    fn open(&self, stored: &str, aad: &[u8]) -> StoreResult<String> {
        let unreadable =
            || StoreError::Corrupt("a sealed Secret does not open with the secret key".into());
        let encoded = stored.strip_prefix(SEALED_PREFIX).ok_or_else(unreadable)?;
        let bytes = BASE64.decode(encoded).map_err(|_| unreadable())?;
        let (nonce, sealed) = bytes.split_at_checked(NONCE_BYTES).ok_or_else(unreadable)?;
        let nonce = XNonce::try_from(nonce).map_err(|_| unreadable())?;
        let plain = self
            .cipher
            .decrypt(&nonce, Payload { msg: sealed, aad })
            .map_err(|_| unreadable())?;
        String::from_utf8(plain).map_err(|_| unreadable())
    }
}

/// Whether a stored Secret is sealed (rather than plaintext from before encryption).
pub(crate) fn is_sealed(stored: &str) -> bool {
    stored.starts_with(SEALED_PREFIX)
}

/// A store's [`SecretBox`], set once the key is verified against the database
/// (`Store::unlock_secrets`). CLI commands that never touch Secrets leave it empty.
#[derive(Default)]
pub(crate) struct SecretSlot(OnceLock<SecretBox>);

impl SecretSlot {
    pub(crate) fn get(&self) -> StoreResult<&SecretBox> {
        self.0.get().ok_or(StoreError::SecretsLocked)
    }

    pub(crate) fn set(&self, secrets: SecretBox) {
        // A second unlock (same process, same database) keeps the first, verified key.
        let _ = self.0.set(secrets);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_under_their_key_and_purpose() {
        let one = SecretBox::new(&[1; KEY_BYTES]);
        let other = SecretBox::new(&[2; KEY_BYTES]);
        let sealed = one.seal_secret(Some("s3cr3t ✓")).unwrap().unwrap();
        assert!(sealed.starts_with(SEALED_PREFIX) && !sealed.contains("s3cr3t"));
        assert_ne!(one.seal_secret(Some("s3cr3t ✓")).unwrap().unwrap(), sealed);
        assert_eq!(
            one.open_secret(Some(sealed.clone())).unwrap().as_deref(),
            Some("s3cr3t ✓")
        );
        assert!(other.open_secret(Some(sealed.clone())).is_err());
        assert!(
            !one.matches_key_check(&sealed),
            "a Secret is not a key check"
        );
        assert!(one.matches_key_check(&one.key_check().unwrap()));
        assert!(!other.matches_key_check(&one.key_check().unwrap()));
        assert_eq!(one.seal_secret(None).unwrap(), None);
        assert_eq!(
            one.open_secret(Some("plain".into())).unwrap().as_deref(),
            Some("plain")
        );
        for broken in ["enc:v1:", "enc:v1:!!", "enc:v1:AAAA"] {
            assert!(one.open_secret(Some(broken.into())).is_err(), "{broken}");
        }
    }
}
