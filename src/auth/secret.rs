//! Random tokens and their hashes. Tickets and application tokens are stored only as SHA-256,
//! so a copy of the database does not let anyone call the API.

use base64::Engine;
use sha2::{Digest, Sha256};

/// 32 random bytes from the OS, URL-safe base64 without padding (43 characters).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    // The OS random source failing is not recoverable; no token is better than a weak one.
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Characters of a generated webhook Secret: letters and digits, so it survives any wire,
/// config file or copy-paste unescaped.
const SECRET_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// Length of a generated webhook Secret: 40 of 62 symbols, about 238 bits.
pub const GENERATED_SECRET_CHARS: usize = 40;

/// A new webhook Secret: [`GENERATED_SECRET_CHARS`] letters and digits from the OS random
/// source, uniformly (bytes that would bias the choice are drawn again).
pub fn random_secret() -> String {
    // The largest multiple of the alphabet's size that fits a byte: bytes from it up are skipped.
    let unbiased = (256 / SECRET_ALPHABET.len() * SECRET_ALPHABET.len()) as u8;
    let mut out = String::with_capacity(GENERATED_SECRET_CHARS);
    let mut bytes = [0u8; 64];
    while out.len() < GENERATED_SECRET_CHARS {
        // As for tokens: without the OS random source there is no safe Secret to give.
        getrandom::fill(&mut bytes).expect("the operating system's random source failed");
        for b in bytes.iter().filter(|b| **b < unbiased) {
            if out.len() == GENERATED_SECRET_CHARS {
                break;
            }
            out.push(SECRET_ALPHABET[usize::from(*b) % SECRET_ALPHABET.len()] as char);
        }
    }
    out
}

/// Lower-case hex SHA-256 of `text`.
pub fn sha256_hex(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_forty_letters_and_digits() {
        let secret = random_secret();
        assert_eq!(secret.len(), GENERATED_SECRET_CHARS);
        assert!(
            secret.bytes().all(|b| b.is_ascii_alphanumeric()),
            "{secret}"
        );
        assert_ne!(secret, random_secret());
    }

    #[test]
    fn tokens_are_random_and_hashes_stable() {
        assert_ne!(random_token(), random_token());
        assert_eq!(random_token().len(), 43);
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
