//! Webhook states and the 12.0 notification settings, with their wire names and numbers.

use std::fmt;

/// Whether events are posted to the webhook. Numbers match NetServer's database and payloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WebhookState {
    Unknown = 0,
    Active = 1,
    Stopped = 2,
    TooManyErrors = 3,
}

impl WebhookState {
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookState::Unknown => "Unknown",
            WebhookState::Active => "Active",
            WebhookState::Stopped => "Stopped",
            WebhookState::TooManyErrors => "TooManyErrors",
        }
    }

    /// Parses the wire name (case-insensitive) or the number, as WCF and REST clients send either.
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim();
        [
            WebhookState::Unknown,
            WebhookState::Active,
            WebhookState::Stopped,
            WebhookState::TooManyErrors,
        ]
        .into_iter()
        .find(|s| s.as_str().eq_ignore_ascii_case(t) || (*s as i64).to_string() == t)
    }

    pub fn from_number(n: i64) -> Self {
        match n {
            1 => WebhookState::Active,
            2 => WebhookState::Stopped,
            3 => WebhookState::TooManyErrors,
            _ => WebhookState::Unknown,
        }
    }
}

impl fmt::Display for WebhookState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// 12.0 `WebhookNotifyVia`: the channel used when a webhook fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NotifyVia {
    #[default]
    None = 0,
    Email = 1,
    InApp = 2,
}

impl NotifyVia {
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyVia::None => "None",
            NotifyVia::Email => "Email",
            NotifyVia::InApp => "InApp",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim();
        [NotifyVia::None, NotifyVia::Email, NotifyVia::InApp]
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(t) || (*v as i64).to_string() == t)
    }

    pub fn from_number(n: i64) -> Self {
        match n {
            1 => NotifyVia::Email,
            2 => NotifyVia::InApp,
            _ => NotifyVia::None,
        }
    }
}

/// 12.0 `WebhookNotifyWhen` flags: `FirstFailure` = 1, `Disabling` = 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NotifyWhen(pub u8);

impl NotifyWhen {
    pub const FIRST_FAILURE: u8 = 1;
    pub const DISABLING: u8 = 2;

    /// Parses the WCF flags form (`FirstFailure Disabling`, also comma-separated) or a number.
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim();
        if let Ok(n) = t.parse::<u8>() {
            return (n <= 3).then_some(NotifyWhen(n));
        }
        let mut bits = 0;
        for word in t.split([' ', ',']).filter(|w| !w.is_empty()) {
            bits |= match word.to_ascii_lowercase().as_str() {
                "none" => 0,
                "firstfailure" => Self::FIRST_FAILURE,
                "disabling" => Self::DISABLING,
                _ => return None,
            };
        }
        Some(NotifyWhen(bits))
    }

    /// The WCF flags form: space-separated names, `None` when empty.
    pub fn to_wire(self) -> String {
        let mut names = Vec::new();
        if self.0 & Self::FIRST_FAILURE != 0 {
            names.push("FirstFailure");
        }
        if self.0 & Self::DISABLING != 0 {
            names.push("Disabling");
        }
        if names.is_empty() {
            "None".to_string()
        } else {
            names.join(" ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_parse_by_name_and_number() {
        assert_eq!(WebhookState::parse("active"), Some(WebhookState::Active));
        assert_eq!(WebhookState::parse("3"), Some(WebhookState::TooManyErrors));
        assert_eq!(WebhookState::parse("Paused"), None);
    }

    #[test]
    fn notify_when_round_trips_flags() {
        let both = NotifyWhen::parse("FirstFailure Disabling").unwrap();
        assert_eq!(both, NotifyWhen(3));
        assert_eq!(both.to_wire(), "FirstFailure Disabling");
        assert_eq!(NotifyWhen::parse("None").unwrap().to_wire(), "None");
        assert_eq!(NotifyWhen::parse("Sometimes"), None);
    }
}
