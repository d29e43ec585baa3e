//! The notifier (docs/DELIVERY.md, Notifications): sends the alert e-mails that group commit
//! queued as rows (`store/alerts.rs`). It leases one pending mail at a time, so several nodes
//! on one PostgreSQL database do not send one mail twice; sends it with a timeout; marks it
//! sent, or retries it later with a growing delay, and gives up after [`MAX_TRIES`] with a
//! log line. It is woken after a commit that recorded a failed attempt and polls as a
//! backstop (other nodes' alerts, retries coming due). Delivery never waits for it.
//!
//! - `mailer`: the SMTP transport (`--smtp-url`, `--smtp-from`), `message`: the mail's text.

mod mailer;
mod message;

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::domain::{Millis, now_millis};
use crate::store::{PendingMail, Store};

pub use mailer::{MailSettings, Mailer};
pub use message::compose;

/// Tries of one mail before it is marked failed.
pub const MAX_TRIES: i32 = 5;

/// The wait before the next try, after `tries` failed ones: 10 s, 1 min, 5 min, 30 min.
fn retry_delay(tries: i32) -> Duration {
    const DELAYS: [u64; 4] = [10, 60, 300, 1800];
    let i = usize::try_from(tries.max(1) - 1).unwrap_or(0);
    Duration::from_secs(DELAYS[i.min(DELAYS.len() - 1)])
}

/// How often the notifier looks for mails without being woken.
const POLL: Duration = Duration::from_secs(2);

/// Sends pending alert e-mails until shut down.
pub struct Notifier {
    store: Arc<dyn Store>,
    mailer: Mailer,
    timeout: Duration,
    shutdown: CancellationToken,
}

impl Notifier {
    pub fn new(
        store: Arc<dyn Store>,
        mailer: Mailer,
        timeout: Duration,
        shutdown: CancellationToken,
    ) -> Notifier {
        Notifier {
            store,
            mailer,
            timeout,
            shutdown,
        }
    }

    pub async fn run(self) {
        let woken = self.store.mail_queued();
        while !self.shutdown.is_cancelled() {
            self.send_due().await;
            tokio::select! {
                _ = self.shutdown.cancelled() => break,
                _ = woken.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
            }
        }
    }

    /// Sends every mail due now, one lease at a time.
    async fn send_due(&self) {
        loop {
            let now = now_millis();
            // Long enough for one send and its bookkeeping; a lease left by a crash expires.
            let lease_until = now + millis(self.timeout * 2 + Duration::from_secs(30));
            let mails = match self.store.claim_mails(now, lease_until, 1).await {
                Ok(mails) => mails,
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the alert mail queue");
                    return;
                }
            };
            let Some(mail) = mails.into_iter().next() else {
                return;
            };
            let sent = tokio::select! {
                sent = self.send(&mail) => sent,
                _ = self.shutdown.cancelled() => Err("shutting down".to_string()),
            };
            if let Err(e) = self.settle(&mail, sent).await {
                tracing::error!(error = %e, alert_id = mail.alert.id, "cannot record an alert mail's outcome");
                return;
            }
            if self.shutdown.is_cancelled() {
                return;
            }
        }
    }

    async fn send(&self, mail: &PendingMail) -> Result<(), String> {
        let (subject, body) = compose(&mail.alert);
        self.mailer.send(&mail.recipients, &subject, body).await
    }

    async fn settle(
        &self,
        mail: &PendingMail,
        sent: Result<(), String>,
    ) -> Result<(), crate::store::StoreError> {
        let alert = &mail.alert;
        match sent {
            Ok(()) => {
                tracing::info!(alert_id = alert.id, webhook_id = alert.webhook_id, kind = %alert.kind,
                    recipients = mail.recipients.len(), "alert e-mail sent");
                self.store.mail_sent(alert.id).await
            }
            Err(error) if mail.tries < MAX_TRIES => {
                let next = now_millis() + millis(retry_delay(mail.tries));
                tracing::warn!(alert_id = alert.id, webhook_id = alert.webhook_id, tries = mail.tries,
                    error = %error, "alert e-mail not sent; will retry");
                self.store.mail_not_sent(alert.id, Some(next), &error).await
            }
            Err(error) => {
                tracing::error!(alert_id = alert.id, webhook_id = alert.webhook_id, tries = mail.tries,
                    error = %error, "alert e-mail failed; giving up");
                self.store.mail_not_sent(alert.id, None, &error).await
            }
        }
    }
}

fn millis(d: Duration) -> Millis {
    Millis::try_from(d.as_millis()).unwrap_or(Millis::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_longer_each_time_up_to_a_bound() {
        let waits: Vec<u64> = (1..=6).map(|t| retry_delay(t).as_secs()).collect();
        assert!(waits.windows(2).all(|w| w[0] <= w[1]), "{waits:?}");
        assert_eq!(waits.last(), Some(&1800));
    }
}
