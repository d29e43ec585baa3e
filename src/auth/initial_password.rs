//! The password a new user starts with: the one the operator gave, or a random one that is
//! shown once (the database keeps only its hash). Used by `hookwire user add` and by the
//! `admin` user a server creates on an empty database.

use super::{hash_password, random_token};

/// A new user's password.
pub enum InitialPassword {
    /// From a flag or an environment variable.
    Given(String),
    /// Random: the caller prints it, once.
    Generated(String),
}

impl InitialPassword {
    /// `given` when it is set and not empty (an empty environment variable means "not given"),
    /// otherwise a random token.
    pub fn choose(given: Option<String>) -> InitialPassword {
        match given.filter(|p| !p.is_empty()) {
            Some(p) => InitialPassword::Given(p),
            None => InitialPassword::Generated(random_token()),
        }
    }

    /// The argon2 hash to store.
    pub async fn hash(&self) -> String {
        let (InitialPassword::Given(p) | InitialPassword::Generated(p)) = self;
        hash_password(p.clone()).await
    }

    /// The generated password, to show the operator; `None` when they gave it.
    pub fn generated(&self) -> Option<&str> {
        match self {
            InitialPassword::Given(_) => None,
            InitialPassword::Generated(p) => Some(p),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_password_counts_as_not_given() {
        assert!(
            InitialPassword::choose(Some(String::new()))
                .generated()
                .is_some()
        );
        assert!(InitialPassword::choose(None).generated().is_some());
        assert!(
            InitialPassword::choose(Some("s3cret".into()))
                .generated()
                .is_none()
        );
    }
}
