//! Typed configuration of `hookwire serve`, with every default in one place.
//!
//! Each option is a CLI flag with an `HOOKWIRE_*` environment twin (clap's `env`).

use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;
use ipnet::IpNet;

/// Default request body limit: SOAP envelopes of this API are a few KiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// Options of `hookwire serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Address to listen on (port 0 picks a free port; the chosen address is printed).
    #[arg(long, env = "HOOKWIRE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    #[command(flatten)]
    pub database: DatabaseConfig,

    /// Target ranges let past the SSRF guard (comma-separated CIDRs, e.g. 127.0.0.0/8).
    #[arg(long, env = "HOOKWIRE_ALLOW_TARGETS", value_delimiter = ',')]
    pub allow_targets: Vec<IpNet>,

    /// Accept http:// TargetUrls (default: https only).
    #[arg(long, env = "HOOKWIRE_ALLOW_HTTP_TARGETS")]
    pub allow_http_targets: bool,

    /// Largest request body accepted, in bytes.
    #[arg(long, env = "HOOKWIRE_MAX_BODY_BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,

    /// Ticket lifetime after its last use, in seconds (sliding expiry; NetServer uses 6 h).
    #[arg(long, env = "HOOKWIRE_TICKET_TTL_SECS", default_value_t = 6 * 3600)]
    pub ticket_ttl_secs: u64,

    /// Online mode: every call must carry a registered application token.
    #[arg(long, env = "HOOKWIRE_ONLINE")]
    pub online: bool,

    /// Password of the `admin` user created on first start; random (and printed once) if unset.
    #[arg(long, env = "HOOKWIRE_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
}

impl ServeConfig {
    pub fn ticket_ttl(&self) -> Duration {
        Duration::from_secs(self.ticket_ttl_secs.max(1))
    }
}

/// The database every command works on.
#[derive(Debug, Clone, Args)]
pub struct DatabaseConfig {
    /// Database URL: sqlite://PATH (created on first start).
    #[arg(
        long = "database",
        env = "HOOKWIRE_DATABASE",
        default_value = "sqlite://hookwire.db"
    )]
    pub url: String,
}
