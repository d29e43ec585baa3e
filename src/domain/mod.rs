//! The webhook domain: types that are valid once built (parse, don't validate).
//!
//! Wire adapters (SOAP, REST) produce the loose [`WebhookInput`]; the agent turns it into a
//! [`WebhookSpec`] whose newtypes guarantee every rule of `SaveWebhook`.

pub mod alerts;
mod delivery_order;
mod email;
mod event;
mod event_name;
pub mod outbox;
mod secret_rotation;
mod state;
mod value;
mod webhook;

pub use delivery_order::DeliveryOrder;
pub use email::check_email_address;
pub use event::Event;
pub use event_name::{EventName, check_signal_name, subscription_matches};
pub use secret_rotation::PreviousSecret;
pub use state::{NotifyVia, NotifyWhen, WebhookState};
pub use value::{TypedValue, check_dictionary, out_of_range};
pub use webhook::{Associate, MAX_NAME, WebhookInput, WebhookRecord, WebhookSpec, WebhookUsage};

/// Milliseconds since the Unix epoch, UTC: the one time representation in the store.
pub type Millis = i64;

/// The current time as [`Millis`].
pub fn now_millis() -> Millis {
    chrono::Utc::now().timestamp_millis()
}

/// A date as NetServer writes it: UTC with milliseconds, or `0001-01-01T00:00:00` (.NET's
/// `DateTime.MinValue`) when unset.
pub fn wire_date(millis: Option<Millis>) -> String {
    match millis.and_then(chrono::DateTime::<chrono::Utc>::from_timestamp_millis) {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        None => "0001-01-01T00:00:00".to_string(),
    }
}
