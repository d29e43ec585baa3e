//! Delivery: the outbox dispatcher, the signed HTTP request, the retry policy and the SSRF guard.
//!
//! - `dispatcher`: claims due deliveries with a lease, runs retry cycles, records outcomes;
//! - `capacity`: what a node holds and sends per webhook (prefetch, send slots);
//! - `attempt`: what one attempt sends and logs; `manual`: an operator's Retry;
//! - `sender`: one HTTP attempt (pooled rustls client, no redirects, timeout);
//! - `payload` / `signature`: the exact bytes sent and their HMACs;
//! - `retry`: when to try again (a pure function);
//! - `probing`: per-receiver health, so a blip cannot disable a webhook;
//! - `ssrf`: which addresses may be reached, enforced after DNS.

mod attempt;
mod capacity;
mod dispatcher;
pub mod manual;
pub mod payload;
mod probing;
pub mod retry;
pub mod sender;
pub mod signature;
pub mod ssrf;

pub use dispatcher::{DeliverySettings, Dispatcher, Wakeup};

use crate::domain::{Event, TypedValue, now_millis};
use sender::{AttemptResult, Outgoing, Sender};

/// A webhook definition to ping, saved or not.
pub struct PingTarget<'a> {
    pub name: &'a str,
    pub url: &'a str,
    pub secret: Option<&'a str>,
    /// The Secret a save replaces, while it still signs (docs/DELIVERY.md, Rotating a Secret).
    pub previous_secret: Option<&'a str>,
    pub headers: &'a [(String, String)],
    pub properties: &'a [(String, TypedValue)],
}

/// Sends the `test` event (`X-Hook-Test: true`) as SaveWebhook and TestWebhook do.
pub async fn test_ping(
    sender: &Sender,
    target: &PingTarget<'_>,
    associate_id: i32,
    context_identifier: &str,
) -> AttemptResult {
    let event = Event::test(associate_id, now_millis());
    let body = payload::build(
        &event,
        &payload::PayloadContext {
            webhook_name: target.name,
            properties: target.properties,
            context_identifier,
            include_field_values: false,
        },
    );
    sender
        .send(Outgoing {
            url: target.url,
            event_name: &event.name,
            event_id: &event.event_id,
            retry: 0,
            secret: target.secret,
            previous_secret: target.previous_secret,
            custom_headers: target.headers,
            body,
            test: true,
        })
        .await
}
