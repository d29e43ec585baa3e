//! E-mail addresses as hookwire takes them from operators (`hookwire user add --email`).

/// The longest address SMTP carries (RFC 5321: a 254-character path).
pub const MAX_EMAIL_CHARS: usize = 254;

/// Checks that `text` looks like one mailbox address (`local@domain`, no spaces or control
/// characters): a typo is refused when it is typed, not when the first alert is mailed.
pub fn check_email_address(text: &str) -> Result<(), String> {
    let t = text.trim();
    let bad = |why: &str| Err(format!("'{t}' is not an e-mail address: {why}"));
    if t.chars().count() > MAX_EMAIL_CHARS {
        return bad("longer than 254 characters");
    }
    if t.chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
    {
        return bad("it holds a space, a control character or angle brackets");
    }
    match t.rsplit_once('@') {
        Some((local, domain))
            if !local.is_empty() && !domain.is_empty() && !domain.starts_with('.') =>
        {
            Ok(())
        }
        _ => bad("expected local@domain"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked() {
        assert!(check_email_address("ops@example.com").is_ok());
        assert!(check_email_address(" ops@example.com ").is_ok());
        assert!(check_email_address("ops").is_err());
        assert!(check_email_address("@example.com").is_err());
        assert!(check_email_address("a b@example.com").is_err());
        assert!(check_email_address(&format!("{}@x.io", "a".repeat(260))).is_err());
    }
}
