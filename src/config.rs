//! Typed configuration of `hookwire serve`, with every default in one place.
//!
//! Each option is a CLI flag with an `HOOKWIRE_*` environment twin (clap's `env`), and a key of
//! the configuration file `--config` names (`config/file.rs`; `config/example.rs` prints one).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::body_deadline::BodyRules;
use crate::delivery::DeliverySettings;
use crate::delivery::retry::RetryPolicy;
use crate::notify::MailSettings;
use ipnet::IpNet;

mod example;
mod file;
mod option;

pub use example::example;
pub use file::parse_command_line;

/// The id of `--config`, which the file itself cannot set.
const CONFIG_KEY: &str = "config";

/// Default request body limit: SOAP envelopes of this API are a few KiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// Default grace of a replaced webhook Secret: a day for receivers to switch.
pub const DEFAULT_SECRET_GRACE_SECS: u64 = 24 * 3600;

/// Options of `hookwire serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// TOML file with any of the options below (`hookwire config example` prints one); a flag
    /// or an environment variable wins over the file.
    #[arg(long, env = "HOOKWIRE_CONFIG")]
    pub config: Option<PathBuf>,

    /// Address to listen on (port 0 picks a free port; the chosen address is printed).
    #[arg(long, env = "HOOKWIRE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    #[command(flatten)]
    pub database: DatabaseConfig,

    /// File with the key that encrypts webhook Secrets in the database (32 bytes, base64).
    /// Default with SQLite: `<database file>.key`, created on first start. Required with
    /// PostgreSQL: the same file on every node.
    #[arg(long, env = "HOOKWIRE_SECRET_KEY_FILE")]
    pub secret_key_file: Option<PathBuf>,

    /// Target ranges let past the SSRF guard (comma-separated CIDRs, e.g. 127.0.0.0/8).
    #[arg(long, env = "HOOKWIRE_ALLOW_TARGETS", value_delimiter = ',')]
    pub allow_targets: Vec<IpNet>,

    /// Accept http:// TargetUrls (default: https only).
    #[arg(long, env = "HOOKWIRE_ALLOW_HTTP_TARGETS")]
    pub allow_http_targets: bool,

    /// Largest request body accepted, in bytes.
    #[arg(long, env = "HOOKWIRE_MAX_BODY_BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,

    /// How long a request body may take to arrive after the request head, in seconds (then 408).
    #[arg(
        long,
        env = "HOOKWIRE_REQUEST_BODY_TIMEOUT_SECS",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub request_body_timeout_secs: u64,

    /// Ticket lifetime after its last use, in seconds (sliding expiry; NetServer uses 6 h).
    #[arg(long, env = "HOOKWIRE_TICKET_TTL_SECS", default_value_t = 6 * 3600)]
    pub ticket_ttl_secs: u64,

    /// Online mode: every call must carry a registered application token.
    #[arg(long, env = "HOOKWIRE_ONLINE")]
    pub online: bool,

    /// Skip the test ping SaveWebhook sends before saving (to register before the receiver is up).
    #[arg(long, env = "HOOKWIRE_NO_SAVE_PING")]
    pub no_save_ping: bool,

    /// Serve the API only: this node accepts events but delivers none (another node on the
    /// same PostgreSQL database does).
    #[arg(long, env = "HOOKWIRE_NO_DISPATCHER", conflicts_with = "no_api")]
    pub no_dispatcher: bool,

    /// Deliver only: no SOAP or REST API, just `/health` and `/metrics` on the listener.
    #[arg(long, env = "HOOKWIRE_NO_API")]
    pub no_api: bool,

    /// Do not send the Standard Webhooks headers (webhook-id, -timestamp, -signature).
    #[arg(long, env = "HOOKWIRE_NO_STANDARD_WEBHOOKS")]
    pub no_standard_webhooks: bool,

    /// After a webhook's Secret changes, how long the replaced one still signs deliveries
    /// (a second signature in webhook-signature), in seconds; 0: not at all.
    #[arg(long, env = "HOOKWIRE_SECRET_GRACE_SECS", default_value_t = DEFAULT_SECRET_GRACE_SECS)]
    pub secret_grace_secs: u64,

    /// Timeout of one delivery attempt, in seconds.
    #[arg(long, env = "HOOKWIRE_DELIVERY_TIMEOUT_SECS", default_value_t = 15)]
    pub delivery_timeout_secs: u64,

    /// Delays between the attempts of one retry cycle, in ms (SuperOffice: 1 s, then 4 s).
    #[arg(
        long,
        env = "HOOKWIRE_RETRY_DELAYS_MS",
        value_delimiter = ',',
        default_value = "1000,4000"
    )]
    pub retry_delays_ms: Vec<u64>,

    /// Wait after each failed cycle, in seconds; the last value repeats.
    #[arg(
        long,
        env = "HOOKWIRE_CYCLE_BACKOFF_SECS",
        value_delimiter = ',',
        default_value = "60,300,1800,7200,21600,43200"
    )]
    pub cycle_backoff_secs: Vec<u64>,

    /// Consecutive failed attempts that set a webhook to TooManyErrors.
    #[arg(long, env = "HOOKWIRE_FAILURES_TO_DISABLE", default_value_t = 9)]
    pub failures_to_disable: i32,

    /// Delivery attempts sent and not yet recorded, over all webhooks (what a crash may make
    /// this node repeat); the node holds up to 4 times that many deliveries leased.
    #[arg(long, env = "HOOKWIRE_MAX_IN_FLIGHT", default_value_t = 256)]
    pub max_in_flight: usize,

    /// Delivery attempts in flight at once to one webhook.
    #[arg(long, env = "HOOKWIRE_PER_WEBHOOK_IN_FLIGHT", default_value_t = 8)]
    pub per_webhook_in_flight: usize,

    /// Deliveries not done after this many seconds go to the dead-letter list (7 days).
    #[arg(long, env = "HOOKWIRE_RETENTION_SECS", default_value_t = 7 * 24 * 3600)]
    pub retention_secs: u64,

    /// Backstop poll of the outbox, in ms (new events wake the dispatcher at once).
    #[arg(long, env = "HOOKWIRE_POLL_INTERVAL_MS", default_value_t = 1000)]
    pub poll_interval_ms: u64,

    /// `ContextIdentifier` of payloads (the tenant; on-site NetServer sends `Default`).
    #[arg(long, env = "HOOKWIRE_CONTEXT_IDENTIFIER", default_value = "Default")]
    pub context_identifier: String,

    /// On SIGTERM, how long attempts in flight may take to finish, in seconds.
    #[arg(long, env = "HOOKWIRE_SHUTDOWN_GRACE_SECS", default_value_t = 20)]
    pub shutdown_grace_secs: u64,

    /// SMTP server for alert e-mails (docs/DELIVERY.md, Notifications): smtp://HOST:PORT
    /// (plain), smtp://HOST:PORT?tls=required (STARTTLS), smtps://HOST:PORT (TLS); a user and
    /// password may be in the URL (user:password@HOST). Unset: no e-mail is sent.
    #[arg(long, env = "HOOKWIRE_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// SMTP password, used with the user name in --smtp-url (keeps it out of the URL).
    #[arg(long, env = "HOOKWIRE_SMTP_PASSWORD", hide_env_values = true)]
    pub smtp_password: Option<String>,

    /// Sender address of alert e-mails; required with --smtp-url.
    #[arg(long, env = "HOOKWIRE_SMTP_FROM")]
    pub smtp_from: Option<String>,

    /// Password of the `admin` user created on first start; random (and printed once) if unset.
    #[arg(long, env = "HOOKWIRE_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
}

impl ServeConfig {
    /// What `serve` prints once it listens on `addr`: the address line (`hookwire listening on
    /// URL`, which scripts and tests wait for), then the database, the target policy, whether
    /// this node delivers, where alert e-mails go, and (last) whether it serves the API.
    pub fn summary(&self, addr: SocketAddr) -> String {
        let schemes = if self.allow_http_targets {
            "https and http"
        } else {
            "https only (--allow-http-targets accepts http://)"
        };
        let addresses = if self.allow_targets.is_empty() {
            "public addresses only (--allow-targets lets ranges past the SSRF guard)".to_string()
        } else {
            let ranges: Vec<String> = self.allow_targets.iter().map(|n| n.to_string()).collect();
            format!("public addresses and {}", ranges.join(", "))
        };
        let on_off = |on: bool, off: &str| {
            if on {
                "on".to_string()
            } else {
                format!("off ({off})")
            }
        };
        format!(
            "hookwire listening on http://{addr}\n  \
             database:   {}\n  \
             targets:    {schemes}; {addresses}\n  \
             dispatcher: {}\n  \
             e-mail:     {}\n  \
             api:        {}",
            crate::store::describe(&self.database.url),
            on_off(
                !self.no_dispatcher,
                "--no-dispatcher: another node delivers"
            ),
            self.smtp_url.as_deref().map_or_else(
                || "off (--smtp-url sends alert e-mails)".to_string(),
                crate::store::redact_password
            ),
            on_off(!self.no_api, "--no-api: /health and /metrics only"),
        )
    }

    /// How alert e-mails are sent; None without `--smtp-url`. Err names the missing option.
    pub fn mail_settings(&self) -> Result<Option<MailSettings>, String> {
        let Some(url) = self.smtp_url.clone() else {
            return Ok(None);
        };
        let from = self.smtp_from.clone().ok_or_else(|| {
            "--smtp-url needs --smtp-from (HOOKWIRE_SMTP_FROM): the sender address of alert e-mails"
                .to_string()
        })?;
        Ok(Some(MailSettings {
            url,
            password: self.smtp_password.clone(),
            from,
            timeout: Duration::from_secs(30),
        }))
    }

    /// The limits every request body is read under.
    pub fn body_rules(&self) -> BodyRules {
        BodyRules {
            max_bytes: self.max_body_bytes,
            deadline: Duration::from_secs(self.request_body_timeout_secs),
        }
    }

    /// How long a replaced webhook Secret still signs.
    pub fn secret_grace(&self) -> Duration {
        Duration::from_secs(self.secret_grace_secs)
    }

    pub fn ticket_ttl(&self) -> Duration {
        Duration::from_secs(self.ticket_ttl_secs.max(1))
    }

    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            in_cycle: self
                .retry_delays_ms
                .iter()
                .map(|ms| Duration::from_millis(*ms))
                .collect(),
            cycle_backoff: self
                .cycle_backoff_secs
                .iter()
                .map(|s| Duration::from_secs(*s))
                .collect(),
        }
    }

    pub fn delivery_settings(&self) -> DeliverySettings {
        DeliverySettings {
            policy: self.retry_policy(),
            attempt_timeout: Duration::from_secs(self.delivery_timeout_secs.max(1)),
            max_in_flight: self.max_in_flight.max(1),
            per_webhook_in_flight: self.per_webhook_in_flight.max(1),
            failures_to_disable: self.failures_to_disable.max(1),
            retention: Duration::from_secs(self.retention_secs),
            poll_interval: Duration::from_millis(self.poll_interval_ms.max(10)),
            context_identifier: self.context_identifier.clone(),
            shutdown_grace: Duration::from_secs(self.shutdown_grace_secs),
        }
    }
}

/// The database every command works on.
#[derive(Debug, Clone, Args)]
pub struct DatabaseConfig {
    /// Database URL: sqlite://PATH, or postgres://USER[:PASSWORD]@HOST:PORT/DB for several
    /// nodes on one database (either is created and migrated on first start).
    #[arg(
        long = "database",
        env = "HOOKWIRE_DATABASE",
        default_value = "sqlite://hookwire.db"
    )]
    pub url: String,
}
