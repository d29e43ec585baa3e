//! `hookwire webhook list|show|stop|restart|order|delete`: the operator's view of the
//! webhooks, on the database of a running server (or none). Every command goes through
//! [`WebhookAgent`], so a restart follows the same rule as a SaveWebhook setting State Active
//! (counters reset, parked deliveries due now, `webhook{id}.started` fired), and `order` the
//! same as a REST PATCH of `DeliveryOrder` alone (docs/DELIVERY.md, "Ordered delivery"),
//! each written once in the agent.

use std::path::Path;
use std::time::Duration;

use crate::agent::{AgentError, AgentSettings, WebhookAgent, WebhookCarrier, WebhookFilter};
use crate::auth::{Auth, Caller};
use crate::config::DatabaseConfig;
use crate::delivery::Wakeup;
use crate::delivery::payload::timestamp;
use crate::delivery::sender::{Sender, SenderSettings};
use crate::domain::{Associate, DeliveryOrder, WebhookInput, WebhookState};
use crate::store;

/// What an operator command does to one webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookChange {
    Stop,
    Restart,
    /// Sets `DeliveryOrder`, nothing else.
    Order(DeliveryOrder),
    Delete,
}

/// `webhook order`'s values as typed; clap names them in its help and in the error of any
/// other value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OrderChoice {
    /// Any order, several deliveries at once whatever their records (the default).
    Any,
    /// One record at a time: a record's events in the order they were accepted.
    PerRecord,
}

impl From<OrderChoice> for DeliveryOrder {
    fn from(choice: OrderChoice) -> DeliveryOrder {
        match choice {
            OrderChoice::Any => DeliveryOrder::Any,
            OrderChoice::PerRecord => DeliveryOrder::PerRecord,
        }
    }
}

/// `hookwire webhook list`: a tab-separated table, by id.
pub async fn list_webhooks(
    database: &DatabaseConfig,
    key_file: Option<&Path>,
) -> Result<(), String> {
    let agent = agent(database, key_file).await?;
    let webhooks = agent
        .get_all_webhooks(&operator(), &WebhookFilter::default())
        .await
        .map_err(|e| e.to_string())?;
    println!("id\tname\tstate\ttarget\tevents\tcalls\terrors\tconsecutive_errors");
    for w in webhooks {
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            w.id,
            w.name.as_deref().unwrap_or(""),
            w.state,
            w.target_url.as_deref().unwrap_or(""),
            w.events.join(","),
            w.usage.total_calls,
            w.usage.total_errors,
            w.usage.consecutive_errors
        );
    }
    Ok(())
}

/// `hookwire webhook show ID`: every field, one `Name: value` line each (the Secret is not
/// shown, only whether there is one).
pub async fn show_webhook(
    id: i32,
    database: &DatabaseConfig,
    key_file: Option<&Path>,
) -> Result<(), String> {
    let agent = agent(database, key_file).await?;
    let webhook = agent
        .get_webhook(&operator(), id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| not_found(id))?;
    print!("{}", describe(&webhook));
    Ok(())
}

/// `hookwire webhook stop|restart|delete ID`, `hookwire webhook order ID any|per-record`.
pub async fn change_webhook(
    id: i32,
    change: WebhookChange,
    database: &DatabaseConfig,
    key_file: Option<&Path>,
) -> Result<(), String> {
    let agent = agent(database, key_file).await?;
    let caller = operator();
    let outcome = match change {
        WebhookChange::Stop => agent
            .set_webhook_state(&caller, id, WebhookState::Stopped)
            .await
            .map(|w| format!("webhook {id} is {}", w.state)),
        WebhookChange::Restart => agent
            .set_webhook_state(&caller, id, WebhookState::Active)
            .await
            .map(|w| format!("webhook {id} is {}", w.state)),
        WebhookChange::Order(order) => agent
            .update_webhook(&caller, id, None, |_| {
                Ok::<_, AgentError>(WebhookInput {
                    webhook_id: id,
                    delivery_order: Some(order),
                    ..WebhookInput::default()
                })
            })
            .await
            .map(|w| {
                format!(
                    "webhook {id} DeliveryOrder is {}",
                    w.delivery_order.to_wire()
                )
            }),
        WebhookChange::Delete => agent
            .delete_webhook(&caller, id)
            .await
            .map(|()| format!("webhook {id} deleted")),
    };
    match outcome {
        Ok(message) => {
            println!("{message}");
            Ok(())
        }
        // The agent's NotFound is NetServer's wording; the CLI says the same in its own.
        Err(AgentError::NotFound(_)) => Err(not_found(id)),
        Err(e) => Err(e.to_string()),
    }
}

fn not_found(id: i32) -> String {
    format!("no webhook with id {id}")
}

fn describe(w: &WebhookCarrier) -> String {
    let date = |ms: Option<i64>| ms.map(timestamp).unwrap_or_default();
    let pairs = |items: Vec<String>| items.join(", ");
    let lines = [
        ("WebhookId", w.id.to_string()),
        ("Name", w.name.clone().unwrap_or_default()),
        ("State", w.state.to_string()),
        ("TargetUrl", w.target_url.clone().unwrap_or_default()),
        ("Events", w.events.join(", ")),
        ("DeliveryOrder", w.delivery_order.to_wire().to_string()),
        ("Type", w.kind.clone().unwrap_or_default()),
        (
            "Secret",
            if w.secret.is_some() {
                "(set)"
            } else {
                "(none)"
            }
            .to_string(),
        ),
        (
            "Headers",
            pairs(w.headers.iter().map(|(k, v)| format!("{k}: {v}")).collect()),
        ),
        (
            "Properties",
            pairs(
                w.properties
                    .iter()
                    .map(|(k, v)| format!("{k}={v:?}"))
                    .collect(),
            ),
        ),
        ("Description", w.description.clone().unwrap_or_default()),
        ("Registered", date(w.registered)),
        ("Updated", date(w.updated)),
        ("ErrorsEmail", w.errors_email.clone().unwrap_or_default()),
        ("ErrorEmails", w.error_emails.join(", ")),
        ("TotalCalls", w.usage.total_calls.to_string()),
        ("TotalErrors", w.usage.total_errors.to_string()),
        ("ConsecutiveErrors", w.usage.consecutive_errors.to_string()),
        ("LastError", w.usage.last_error.clone().unwrap_or_default()),
    ];
    lines
        .iter()
        .map(|(name, value)| format!("{name}: {value}\n"))
        .collect()
}

/// The agent over an existing database, as an on-site caller (no application token: every
/// webhook is visible). It sends nothing: no test pings (a stop or restart changes no target),
/// and a running server's dispatcher picks up what a restart made due (PostgreSQL wakes it; on
/// SQLite its poll interval does).
pub(super) async fn agent(
    database: &DatabaseConfig,
    key_file: Option<&Path>,
) -> Result<WebhookAgent, String> {
    let store = store::open_existing_with_secrets(&database.url, key_file)
        .await
        .map_err(|e| e.to_string())?;
    let sender = Sender::new(SenderSettings {
        timeout: Duration::from_secs(10),
        standard_webhooks: true,
        policy: Default::default(),
    })
    .map_err(|e| e.to_string())?;
    Ok(WebhookAgent::new(
        store.clone(),
        Auth::new(store, Duration::from_secs(60), false),
        AgentSettings {
            // The stored target was accepted when it was saved; a state change keeps it.
            allow_http_targets: true,
            save_ping: false,
            context_identifier: String::new(),
            // No command here changes a Secret; were one to, the server's default applies.
            secret_grace: Duration::from_secs(crate::config::DEFAULT_SECRET_GRACE_SECS),
        },
        sender,
        Wakeup::default(),
    ))
}

/// The CLI's caller: the operator, associate 0 (no user), so `UpdatedAssociate` is empty.
pub(super) fn operator() -> Caller {
    Caller {
        user: Associate {
            id: 0,
            name: "hookwire-cli".into(),
            full_name: "hookwire CLI".into(),
        },
        app: None,
    }
}
