//! What one attempt of a delivery sends and what the attempt log keeps of it, the same for the
//! dispatcher's cycles and an operator's Retry.

use super::payload::{self, PayloadContext};
use super::sender::{AttemptResult, Outgoing};
use crate::domain::{Event, Millis, WebhookRecord, now_millis};
use crate::store::{LoggedAttempt, Trigger};

/// The JSON body of `event` for `webhook`; the same bytes on every attempt.
pub fn body(webhook: &WebhookRecord, event: &Event, context_identifier: &str) -> Vec<u8> {
    payload::build(
        event,
        &PayloadContext {
            webhook_name: &webhook.name,
            properties: &webhook.properties,
            context_identifier,
            include_field_values: true,
        },
    )
}

/// The request of one attempt; `retry` is `X-SuperOffice-Retry` (earlier attempts). The
/// webhook's previous Secret signs too while its grace lasts at the time of the attempt.
pub fn request<'a>(
    webhook: &'a WebhookRecord,
    event: &'a Event,
    retry: u32,
    body: Vec<u8>,
) -> Outgoing<'a> {
    Outgoing {
        url: &webhook.target_url,
        event_name: &event.name,
        event_id: &event.event_id,
        retry,
        secret: webhook.secret.as_deref(),
        previous_secret: webhook.previous_secret_at(now_millis()),
        custom_headers: &webhook.headers,
        body,
        test: false,
    }
}

/// The attempt log's row for `result`.
pub fn log_entry(
    event: &Event,
    trigger: Trigger,
    started_at: Millis,
    result: &AttemptResult,
    next_attempt_at: Option<Millis>,
) -> LoggedAttempt {
    LoggedAttempt {
        event_id: event.event_id.clone(),
        event_name: event.name.clone(),
        trigger,
        started_at,
        duration_ms: i64::try_from(result.duration.as_millis()).unwrap_or(i64::MAX),
        status: result.status.map(i32::from),
        error: result.error.map(|class| class.as_str()),
        response: result.response.clone(),
        next_attempt_at,
    }
}
