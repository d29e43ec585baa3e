//! `hookwire deliveries list|retry|discard|recover|dead-letters|replay`: the delivery log and
//! the operator's actions on it, on the database of a running server, through [`WebhookAgent`]
//! (the same rules as REST: docs/REST.md, Deliveries; Retry, Discard and Recover).

use std::path::Path;

use super::webhook::{agent, operator};
use crate::agent::{DeliveryFilter, RecoverWindow, deliveries_csv};
use crate::config::DatabaseConfig;
use crate::delivery::payload::timestamp;

/// `hookwire deliveries list --webhook ID`: one page, newest first, as a tab-separated table
/// or CSV; the next page's cursor goes to standard error.
pub async fn list_deliveries(
    webhook_id: i32,
    filter: DeliveryFilter,
    csv: bool,
    database: &DatabaseConfig,
    key_file: Option<&Path>,
) -> Result<(), String> {
    let agent = agent(database, key_file).await?;
    let page = agent
        .deliveries(&operator(), webhook_id, &filter)
        .await
        .map_err(|e| e.to_string())?;
    if csv {
        print!("{}", deliveries_csv(&page.deliveries));
    } else {
        let date = |ms: Option<i64>| ms.map(timestamp).unwrap_or_default();
        println!(
            "delivery\tevent_id\tevent\tprimary_key\tstatus\tattempts\tlast_status\tlast_attempt\tnext_attempt\tcreated"
        );
        for d in &page.deliveries {
            println!(
                "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                d.delivery_id,
                d.event_id,
                d.event,
                d.primary_key,
                d.state.as_str(),
                d.attempts,
                d.last_status.map(|s| s.to_string()).unwrap_or_default(),
                date(d.last_attempt),
                date(d.next_attempt),
                timestamp(d.created)
            );
        }
    }
    if let Some(cursor) = page.next_cursor {
        eprintln!("more: --cursor {cursor}");
    }
    Ok(())
}

/// `hookwire deliveries retry ID`: queued for one manual attempt by the running server.
pub async fn retry_delivery(
    delivery_id: i64,
    database: &DatabaseConfig,
    key_file: Option<&Path>,
) -> Result<(), String> {
    let agent = agent(database, key_file).await?;
    agent
        .queue_retry(&operator(), delivery_id)
        .await
        .map_err(|e| e.to_string())?;
    println!("delivery {delivery_id} queued for a manual attempt now");
    Ok(())
}

/// `hookwire deliveries discard --webhook ID DELIVERY`: a queued delivery set aside on the
/// dead-letter list, unsent, so the next delivery of its record may go (the running server
/// sends that one).
pub async fn discard_delivery(
    webhook_id: i32,
    delivery_id: i64,
    database: &DatabaseConfig,
    key_file: Option<&Path>,
) -> Result<(), String> {
    let agent = agent(database, key_file).await?;
    agent
        .discard_delivery(&operator(), webhook_id, delivery_id)
        .await
        .map_err(|e| e.to_string())?;
    println!("delivery {delivery_id} discarded: a dead letter now, unsent");
    Ok(())
}

/// `hookwire deliveries recover --webhook ID --since T [--until T]`.
pub async fn recover_deliveries(
    webhook_id: i32,
    window: RecoverWindow,
    database: &DatabaseConfig,
    key_file: Option<&Path>,
) -> Result<(), String> {
    let agent = agent(database, key_file).await?;
    let n = agent
        .recover(&operator(), webhook_id, &window)
        .await
        .map_err(|e| e.to_string())?;
    println!("{n} deliveries of webhook {webhook_id} queued again");
    Ok(())
}
