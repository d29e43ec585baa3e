//! What every request handler shares. A leaf of the crate's layers: the adapters (`soap`,
//! `rest`) depend on it, and `startup` builds it, so no adapter imports `startup`.

use std::sync::Arc;

use crate::agent::WebhookAgent;
use crate::store::Store;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub agent: WebhookAgent,
    pub store: Arc<dyn Store>,
    /// Request body limit, applied by each adapter so it can answer in its own error form.
    pub max_body_bytes: usize,
    /// `--failures-to-disable`, the LIMIT of the admin page's `Disabled n/LIMIT` badge.
    pub failures_to_disable: i32,
}
