//! The log subscriber: `HOOKWIRE_LOG` filters (tracing's `EnvFilter` syntax), `--log-format`
//! chooses text or one JSON object per line; both go to stderr.

use tracing_subscriber::EnvFilter;

/// Without `HOOKWIRE_LOG`: our `info` lines (one per delivery attempt among them), and only
/// sqlx's warnings, not a line per query.
const DEFAULT_FILTER: &str = "info,sqlx=warn";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line (`timestamp`, `level`, `fields`, `target`).
    Json,
}

/// Installs the process's subscriber. An unparsable `HOOKWIRE_LOG` is reported and the
/// default filter used, so a typo never silences the logs.
pub fn init_logging(format: LogFormat) {
    let (filter, bad) = match std::env::var("HOOKWIRE_LOG") {
        Ok(value) => match EnvFilter::try_new(&value) {
            Ok(filter) => (filter, None),
            Err(e) => (
                EnvFilter::new(DEFAULT_FILTER),
                Some(format!("{value:?}: {e}")),
            ),
        },
        Err(_) => (EnvFilter::new(DEFAULT_FILTER), None),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
    if let Some(bad) = bad {
        tracing::warn!("HOOKWIRE_LOG ignored, using {DEFAULT_FILTER:?}: {bad}");
    }
}
