//! Password hashing with argon2id (the `argon2` crate's defaults), off the async runtime, a few
//! hashes at a time.
//!
//! Each hash fills 19 MiB (m = 19456 KiB). Two things keep that memory bounded:
//! - at most [`HASHES_AT_ONCE`] hashes run at once; the others wait their turn, so a burst of
//!   logins costs time, not memory (64 concurrent wrong logins used to take 1.6 GiB);
//! - the blocks go back to the operating system after each hash. glibc's malloc serves such
//!   large blocks by `mmap` at first, but raises its mmap threshold to the size of a freed one
//!   ("dynamic threshold"), so every later hash came from the heap, which fragmented and never
//!   shrank: 500 wrong logins left 5.6 GiB resident. A fixed threshold keeps every hash's
//!   memory in its own mapping, unmapped when the hash is done (docs/PERFORMANCE.md, "Logins").

use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use tokio::sync::Semaphore;

/// A valid hash of a random password, verified against when the user does not exist so that
/// a login for an unknown name costs as much as one for a known name.
pub(super) const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3kPBSMHhBUFmNQp+5cgnLXQ9gXzbdx+i1gkgFVmAx6E";

/// How many hashes may run at once: one per core, at most 4 (4 x 19 MiB). More would not finish
/// sooner, only use more memory.
static HASHES_AT_ONCE: LazyLock<Semaphore> = LazyLock::new(|| {
    return_large_blocks_to_the_os();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    Semaphore::new(cores.clamp(1, 4))
});

/// Blocks of this size and larger are always `mmap`ed by glibc's malloc, hence unmapped when
/// freed. Above any buffer a request needs (bodies are at most a few MiB), below argon2's 19 MiB.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD_BYTES: libc::c_int = 4 << 20;

/// Fixes glibc's mmap threshold (see the module comment).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(
    unsafe_code,
    reason = "mallopt is a C function; no crate wraps it, and without it every login's 19 MiB stays resident"
)]
fn return_large_blocks_to_the_os() {
    // SAFETY: mallopt only sets a parameter of the allocator, under the allocator's own lock;
    // it may be called at any time from any thread.
    let set = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) };
    if set != 1 {
        tracing::warn!("could not fix malloc's mmap threshold: password hashing may keep memory");
    }
}

/// Other allocators return large blocks to the operating system by themselves.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn return_large_blocks_to_the_os() {}

/// Runs `hash` on a blocking thread once one of the [`HASHES_AT_ONCE`] turns is free.
async fn in_turn<T: Send + 'static>(hash: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    // The semaphore is never closed, so acquiring only fails if it were: treat as no result.
    let _turn = HASHES_AT_ONCE.acquire().await.ok()?;
    tokio::task::spawn_blocking(hash).await.ok()
}

/// Hashes `password` into a PHC string. Runs on a blocking thread: argon2 takes tens of ms.
pub async fn hash_password(password: String) -> String {
    in_turn(move || {
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
    in_turn(move || {
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
