//! Password hashing with argon2id (the `argon2` crate's defaults), off the async runtime.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// A valid hash of a random password, verified against when the user does not exist so that
/// a login for an unknown name costs as much as one for a known name.
pub(super) const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3kPBSMHhBUFmNQp+5cgnLXQ9gXzbdx+i1gkgFVmAx6E";

/// Hashes `password` into a PHC string. Runs on a blocking thread: argon2 takes tens of ms.
pub async fn hash_password(password: String) -> String {
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).expect("the operating system's random source failed");
        let salt = SaltString::encode_b64(&salt).expect("16 bytes is a valid salt length");
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .expect("argon2 with default parameters accepts any password")
            .to_string()
    })
    .await
    .expect("the hashing task does not panic")
}

/// Whether `password` matches the PHC string `hash`. A malformed hash never matches.
pub async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_then_verify() {
        let hash = hash_password("s3cret".into()).await;
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("s3cret".into(), hash.clone()).await);
        assert!(!verify_password("wrong".into(), hash).await);
        assert!(!verify_password("x".into(), "not a hash".into()).await);
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }
}
