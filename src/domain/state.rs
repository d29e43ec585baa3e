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

/// 12.0 `WebhookNotifyVia` flags: `Email` = 1, `InApp` = 2, both = 3 (the channels used when
/// a webhook fails; docs/DELIVERY.md, Notifications).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NotifyVia(pub u8);

impl NotifyVia {
    pub const EMAIL: u8 = 1;
    pub const IN_APP: u8 = 2;
    const NAMES: [(&'static str, u8); 2] = [("Email", Self::EMAIL), ("InApp", Self::IN_APP)];

    /// Parses the WCF flags form (`Email InApp`, also comma-separated) or a number.
    pub fn parse(text: &str) -> Option<Self> {
        parse_flags(text, &Self::NAMES).map(NotifyVia)
    }

    /// The stored number; bits this server does not know are dropped.
    pub fn from_number(n: i64) -> Self {
        NotifyVia((n & 3) as u8)
    }

    pub fn email(self) -> bool {
        self.0 & Self::EMAIL != 0
    }

    pub fn in_app(self) -> bool {
        self.0 & Self::IN_APP != 0
    }

    /// The WCF flags form: space-separated names, `None` when empty.
    pub fn to_wire(self) -> String {
        flags_to_wire(self.0, &Self::NAMES)
    }
}

/// 12.0 `WebhookNotifyWhen` flags: `FirstFailure` = 1, `Disabling` = 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NotifyWhen(pub u8);

impl NotifyWhen {
    pub const FIRST_FAILURE: u8 = 1;
    pub const DISABLING: u8 = 2;
    const NAMES: [(&'static str, u8); 2] = [
        ("FirstFailure", Self::FIRST_FAILURE),
        ("Disabling", Self::DISABLING),
    ];

    /// Parses the WCF flags form (`FirstFailure Disabling`, also comma-separated) or a number.
    pub fn parse(text: &str) -> Option<Self> {
        parse_flags(text, &Self::NAMES).map(NotifyWhen)
    }

    /// The WCF flags form: space-separated names, `None` when empty.
    pub fn to_wire(self) -> String {
        flags_to_wire(self.0, &Self::NAMES)
    }
}

/// A two-flag set as WCF sends it: a number from 0 to 3, or names (any case) separated by
/// spaces or commas, `None` adding nothing.
fn parse_flags(text: &str, names: &[(&str, u8)]) -> Option<u8> {
    let t = text.trim();
    if let Ok(n) = t.parse::<u8>() {
        return (n <= 3).then_some(n);
    }
    let mut bits = 0;
    for word in t.split([' ', ',']).filter(|w| !w.is_empty()) {
        bits |= if word.eq_ignore_ascii_case("none") {
            0
        } else {
            names
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(word))?
                .1
        };
    }
    Some(bits)
}

fn flags_to_wire(bits: u8, names: &[(&str, u8)]) -> String {
    let set: Vec<&str> = names
        .iter()
        .filter(|(_, bit)| bits & bit != 0)
        .map(|(name, _)| *name)
        .collect();
    if set.is_empty() {
        "None".to_string()
    } else {
        set.join(" ")
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

    #[test]
    fn notify_via_is_flags_too() {
        assert_eq!(NotifyVia::parse("Email InApp"), Some(NotifyVia(3)));
        assert_eq!(NotifyVia::parse("inapp,email"), Some(NotifyVia(3)));
        assert_eq!(
            NotifyVia::parse("3").map(NotifyVia::to_wire).as_deref(),
            Some("Email InApp")
        );
        assert_eq!(NotifyVia::parse("Email"), Some(NotifyVia(1)));
        assert_eq!(NotifyVia(0).to_wire(), "None");
        assert_eq!(NotifyVia::parse("4"), None);
        assert_eq!(NotifyVia::parse("Pigeon"), None);
        assert!(NotifyVia(3).email() && NotifyVia(3).in_app() && !NotifyVia(2).email());
    }
}
