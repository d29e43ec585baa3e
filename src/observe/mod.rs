//! What an operator sees of a running server: `/metrics` (Prometheus text, every name prefixed
//! `hookwire_`) and the logs (text or JSON lines, one per delivery attempt).
//!
//! - `recorder`: the process's one metrics recorder, its histogram buckets, build info;
//! - `http`: the middleware counting requests by route family and status;
//! - `attempts`: what one delivery attempt records (counters, histograms, its log line), and
//!   SignalEvent's counters;
//! - `scrape`: the `/metrics` handler, which reads the queue and the webhooks at scrape time;
//! - `logging`: the tracing subscriber (`HOOKWIRE_LOG`, `--log-format`).
//!
//! The metrics and log fields are listed in docs/OPERATIONS.md. Other modules call one function
//! of this one per place they record from, so recording stays out of their logic.

mod attempts;
mod http;
mod logging;
mod recorder;
mod scrape;

pub use attempts::{attempt, signal_accepted};
pub use http::count_request;
pub use logging::{LogFormat, init_logging};
pub use recorder::install;
pub use scrape::metrics;
