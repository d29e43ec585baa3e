//! Who is calling: users (argon2 passwords), tickets (`7T:...`, sliding expiry, in the database
//! so that any node accepts them) and application tokens.

mod initial_password;
mod password;
mod secret;
mod throttle;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::domain::{Associate, Millis, now_millis};
use crate::store::{AppRecord, Store, StoreError, UserRecord};

pub use initial_password::InitialPassword;
pub use password::{hash_password, verify_password};
pub use secret::{random_secret, random_token, sha256_hex};

/// The longest user name a login accepts, so that the work and the log of a login stay small
/// whatever is sent.
pub const MAX_USER_NAME_CHARS: usize = 256;

/// How much of a refused user name is logged.
const LOGGED_USER_NAME_CHARS: usize = 64;

/// Why a caller was refused. Each maps to a precise client-facing message.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(
        "No ticket was given: call SoPrincipal.svc AuthenticateUsernamePassword and pass its Ticket in Credentials"
    )]
    MissingTicket,
    #[error("The ticket is not valid: it is unknown or was issued by another server")]
    UnknownTicket,
    #[error("The ticket has expired: authenticate again")]
    ExpiredTicket,
    #[error("The user name or password is wrong")]
    WrongPassword,
    #[error("The user name is longer than {} characters", MAX_USER_NAME_CHARS)]
    UserNameTooLong,
    /// Too many failed logins of this name or from this address (docs/SOAP.md, "Failed logins").
    #[error(
        "Too many failed logins for this user name or from this address: retry in {retry_after_secs} s"
    )]
    Throttled { retry_after_secs: u64 },
    #[error("The application token is not registered on this server")]
    UnknownAppToken,
    #[error("An application token is required on this server (online mode)")]
    MissingAppToken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An authenticated caller: the user behind the ticket and, if given, the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user: Associate,
    pub app: Option<AppRecord>,
}

/// A resolved ticket: its user, its expiry, and until when the entry is trusted.
type CachedTicket = (Associate, Millis, Millis);

/// A verified Basic pair: the user id, its password hash when verified, until when remembered.
type VerifiedPair = (i64, String, Millis);

/// Ticket and token checks over the store.
#[derive(Clone)]
pub struct Auth {
    store: Arc<dyn Store>,
    /// Recently verified Basic credentials (hash of user and password → user id, its password
    /// hash then, until), so a REST client sending Basic on every call does not pay an argon2
    /// hash each time; a changed password (`hookwire user passwd`) no longer matches.
    verified: Arc<std::sync::Mutex<std::collections::HashMap<String, VerifiedPair>>>,
    /// Recently resolved tickets (hash → user, ticket expiry, trusted until): most calls then
    /// need no database read. Entries are trusted for a few seconds only, since tickets and
    /// users live in the database that other nodes share.
    tickets: Arc<std::sync::Mutex<std::collections::HashMap<String, CachedTicket>>>,
    /// Failed logins by user name and client address, which slow down the next ones.
    throttle: Arc<throttle::Throttle>,
    /// How long a ticket lives after its last use (sliding expiry).
    ticket_ttl: Duration,
    /// Online mode: every call must carry a registered application token.
    require_app_token: bool,
}

/// The prefix of tickets hookwire issues, as NetServer's (`7T:`).
const TICKET_PREFIX: &str = "7T:";

fn associate_of(user: &UserRecord) -> Associate {
    Associate {
        id: i32::try_from(user.id).unwrap_or(i32::MAX),
        name: user.name.clone(),
        full_name: user.full_name.clone(),
    }
}

impl Auth {
    pub fn new(store: Arc<dyn Store>, ticket_ttl: Duration, require_app_token: bool) -> Auth {
        Auth {
            store,
            verified: Arc::default(),
            tickets: Arc::default(),
            throttle: Arc::default(),
            ticket_ttl,
            require_app_token,
        }
    }

    fn ttl_millis(&self) -> Millis {
        i64::try_from(self.ticket_ttl.as_millis()).unwrap_or(i64::MAX)
    }

    /// The user with this name and password, from `client`: refused if the name is too long,
    /// the password wrong, or after too many failures of the name or the address (then maybe
    /// only after a wait: see `throttle`). Every refusal is logged, the name cut short.
    async fn check_password(
        &self,
        user_name: &str,
        password: &str,
        client: Option<IpAddr>,
    ) -> Result<UserRecord, AuthError> {
        let user_name = user_name.trim();
        let refused = |e: AuthError| {
            let mut shown: String = user_name.chars().take(LOGGED_USER_NAME_CHARS).collect();
            if shown.len() < user_name.len() {
                shown.push_str(&format!("... ({} bytes)", user_name.len()));
            }
            let client = client.map_or_else(|| "unknown".to_string(), |ip| ip.to_string());
            tracing::info!(user = ?shown, %client, reason = %e, "login refused");
            e
        };
        if user_name.chars().nth(MAX_USER_NAME_CHARS).is_some() {
            return Err(refused(AuthError::UserNameTooLong));
        }
        let wait = self
            .throttle
            .admit(user_name, client, Instant::now())
            .map_err(|too_many| {
                refused(AuthError::Throttled {
                    retry_after_secs: too_many.retry_after.as_secs_f64().ceil() as u64,
                })
            })?;
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        let user = self.store.user_by_name(user_name).await?;
        // Without the user, verify against a fixed hash anyway so timing does not reveal names.
        let hash = user
            .as_ref()
            .map(|u| u.password_hash.clone())
            .unwrap_or_else(|| password::DUMMY_HASH.to_string());
        let ok = verify_password(password.to_string(), hash).await;
        match user {
            Some(u) if ok => {
                self.throttle.succeeded(user_name, client);
                Ok(u)
            }
            _ => Err(refused(AuthError::WrongPassword)),
        }
    }

    /// Checks a user name and password from `client` and issues a new ticket.
    pub async fn login(
        &self,
        user_name: &str,
        password: &str,
        client: Option<IpAddr>,
    ) -> Result<(String, Associate), AuthError> {
        let user = self.check_password(user_name, password, client).await?;
        let ticket = format!("{TICKET_PREFIX}{}", random_token());
        let expires = now_millis().saturating_add(self.ttl_millis());
        self.store
            .insert_ticket(&sha256_hex(&ticket), user.id, expires)
            .await?;
        Ok((ticket, associate_of(&user)))
    }

    /// Resolves the ticket and application token of a request to a [`Caller`].
    pub async fn caller(
        &self,
        ticket: Option<&str>,
        app_token: Option<&str>,
    ) -> Result<Caller, AuthError> {
        let ticket = ticket
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(AuthError::MissingTicket)?;
        let hash = sha256_hex(ticket);
        let now = now_millis();
        const TRUST_MS: Millis = 5_000;
        let cached = self
            .tickets
            .lock()
            .ok()
            .and_then(|m| m.get(&hash).cloned())
            .filter(|(_, _, until)| *until > now);
        // A cached entry keeps the trust it was given when read from the database: renewing it
        // on every use would let a ticket in steady use outlive its removal (a new password,
        // a removed user) forever.
        let (user, expires, trusted_until) = match cached {
            Some(entry) => entry,
            None => {
                let (user_id, expires) = self
                    .store
                    .ticket(&hash)
                    .await?
                    .ok_or(AuthError::UnknownTicket)?;
                let user = self
                    .store
                    .user_by_id(user_id)
                    .await?
                    .ok_or(AuthError::UnknownTicket)?;
                (associate_of(&user), expires, now + TRUST_MS)
            }
        };
        if expires < now {
            return Err(AuthError::ExpiredTicket);
        }
        // Slide the expiry, but write at most about once a minute per ticket, not on every call.
        let renewed = now.saturating_add(self.ttl_millis());
        let expires = if renewed - expires > 60_000.min(self.ttl_millis() / 2) {
            self.store.extend_ticket(&hash, renewed).await?;
            renewed
        } else {
            expires
        };
        if let Ok(mut m) = self.tickets.lock() {
            if m.len() > 10_000 {
                m.retain(|_, (_, _, until)| *until > now);
            }
            m.insert(hash, (user.clone(), expires, trusted_until));
        }
        let app = self.app(app_token).await?;
        Ok(Caller { user, app })
    }

    /// Ends a ticket (the admin page's sign-out): removed from the database and from this
    /// node's cache; another node may still trust its cached entry for a few seconds.
    pub async fn logout(&self, ticket: &str) -> Result<(), AuthError> {
        let hash = sha256_hex(ticket.trim());
        if let Ok(mut m) = self.tickets.lock() {
            m.remove(&hash);
        }
        self.store.delete_ticket(&hash).await?;
        Ok(())
    }

    /// A caller by user name and password from `client` (REST `Authorization: Basic`); no
    /// ticket is issued.
    pub async fn caller_with_password(
        &self,
        user_name: &str,
        password: &str,
        app_token: Option<&str>,
        client: Option<IpAddr>,
    ) -> Result<Caller, AuthError> {
        const REMEMBER_MS: Millis = 60_000;
        let key = sha256_hex(&format!("{}\0{password}", user_name.trim()));
        let now = now_millis();
        let remembered = self
            .verified
            .lock()
            .ok()
            .and_then(|m| m.get(&key).cloned())
            .filter(|(_, _, until)| *until > now);
        let remembered = match remembered {
            Some((id, hash, _)) => self
                .store
                .user_by_id(id)
                .await?
                .filter(|user| user.password_hash == hash),
            None => None,
        };
        let user = match remembered {
            Some(user) => user,
            None => {
                let user = self.check_password(user_name, password, client).await?;
                if let Ok(mut m) = self.verified.lock() {
                    m.retain(|_, (_, _, until)| *until > now);
                    m.insert(
                        key,
                        (user.id, user.password_hash.clone(), now + REMEMBER_MS),
                    );
                }
                user
            }
        };
        let app = self.app(app_token).await?;
        Ok(Caller {
            user: associate_of(&user),
            app,
        })
    }

    /// Resolves an application token (docs/SOAP.md, "Application tokens"). Empty means none.
    /// On-site (the default) no token is checked: a registered one scopes what it owns, an
    /// unregistered one is treated as none, as NetServer's on-site installations ignore tokens.
    /// Online mode requires a registered one.
    pub async fn app(&self, token: Option<&str>) -> Result<Option<AppRecord>, AuthError> {
        let app = match token.map(str::trim).filter(|t| !t.is_empty()) {
            Some(t) => self.store.app_by_token_hash(&sha256_hex(t)).await?,
            None if self.require_app_token => return Err(AuthError::MissingAppToken),
            None => None,
        };
        match app {
            None if self.require_app_token => Err(AuthError::UnknownAppToken),
            app => Ok(app),
        }
    }

    /// Looks up an associate by id (for RegisteredAssociate / UpdatedAssociate).
    pub async fn associate(&self, id: i32) -> Result<Option<Associate>, StoreError> {
        Ok(self
            .store
            .user_by_id(i64::from(id))
            .await?
            .as_ref()
            .map(associate_of))
    }
}
