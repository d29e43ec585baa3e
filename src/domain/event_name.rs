//! Event names (`entity.verb`) and how subscriptions match them.

use std::fmt;

/// Longest event name accepted: NetServer stores a webhook's events comma-separated in 4000 chars.
const MAX_EVENT_NAME: usize = 255;

/// A subscription entry of a webhook: `entity.verb` (`contact.created`, `list.category.changed`,
/// `webhook12.errors`), or hookwire's prefix extension `*` / `contact.*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventName(String);

impl EventName {
    /// Parses one subscription entry; the error says what is wrong with it.
    pub fn parse_subscription(raw: &str) -> Result<EventName, String> {
        let name = raw.trim();
        if name.is_empty() {
            return Err("an event name is empty".to_string());
        }
        if name.len() > MAX_EVENT_NAME {
            return Err(format!(
                "event name '{name}' is longer than {MAX_EVENT_NAME} characters"
            ));
        }
        if name == "*" {
            return Ok(EventName(name.to_string()));
        }
        let body = name.strip_suffix(".*").unwrap_or(name);
        let segments_ok = body.split('.').all(|s| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
        });
        let shaped = name.ends_with(".*") || body.contains('.');
        if !segments_ok || !shaped {
            return Err(format!(
                "event name '{name}' is not of the form 'entity.verb' (e.g. 'contact.created')"
            ));
        }
        Ok(EventName(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EventName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks an event name given to SignalEvent. NetServer accepts any name (an empty one reaches
/// nobody); hookwire only refuses what could never be subscribed to.
pub fn check_signal_name(name: &str) -> Result<(), String> {
    if name.len() > MAX_EVENT_NAME {
        return Err(format!(
            "EventName is longer than {MAX_EVENT_NAME} characters"
        ));
    }
    if name
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '*')
    {
        return Err(format!(
            "EventName '{name}' contains whitespace, control characters or '*'"
        ));
    }
    Ok(())
}

/// Whether a webhook subscribed to `subscriptions` receives event `event`: exact,
/// case-insensitive equality, or a `*` / `prefix.*` entry covering it.
pub fn subscription_matches<'a>(
    subscriptions: impl IntoIterator<Item = &'a str>,
    event: &str,
) -> bool {
    if event.is_empty() {
        return false;
    }
    subscriptions.into_iter().any(|sub| {
        if sub == "*" {
            return true;
        }
        match sub.strip_suffix('*') {
            Some(prefix) => {
                event.len() > prefix.len()
                    && event.is_char_boundary(prefix.len())
                    && event[..prefix.len()].eq_ignore_ascii_case(prefix)
            }
            None => sub.eq_ignore_ascii_case(event),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscriptions_parse() {
        assert!(EventName::parse_subscription("contact.created").is_ok());
        assert!(EventName::parse_subscription("webhook12.errors").is_ok());
        assert!(EventName::parse_subscription("list.category.changed").is_ok());
        assert!(EventName::parse_subscription("contact.*").is_ok());
        assert!(EventName::parse_subscription("*").is_ok());
        assert!(EventName::parse_subscription("").is_err());
        assert!(EventName::parse_subscription("contact").is_err());
        assert!(EventName::parse_subscription("contact..created").is_err());
        assert!(EventName::parse_subscription("contact created").is_err());
    }

    #[test]
    fn matching_is_exact_case_insensitive_or_prefix() {
        assert!(subscription_matches(["Contact.Created"], "contact.created"));
        assert!(!subscription_matches(
            ["contact.created"],
            "contact.createdx"
        ));
        assert!(subscription_matches(["contact.*"], "contact.changed"));
        assert!(!subscription_matches(["contact.*"], "contactx.changed"));
        assert!(!subscription_matches(["contact.*"], "contact."));
        assert!(subscription_matches(["*"], "anything.at_all"));
        assert!(!subscription_matches(["*"], ""));
    }
}
