//! The delivery log: a webhook's deliveries and one delivery's attempts, for operators
//! (docs/REST.md, Deliveries). The rules are here: which filters are valid and what each
//! means, how pages chain, who may look (the webhook's own scoping). Adapters only translate.

use chrono::{DateTime, NaiveDateTime, Utc};

use super::paging::{self, given};
use super::{AgentError, WebhookAgent};
use crate::auth::Caller;
use crate::domain::{Millis, wire_date};
use crate::store::{AttemptEntry, DeliveryQuery, DeliveryState, DeliverySummary};

/// The list's parameters as given (each optional, each checked here).
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    pub status: Option<String>,
    pub event: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

/// One page, newest first; `next_cursor` fetches the rest.
#[derive(Debug, Clone)]
pub struct DeliveryPage {
    pub deliveries: Vec<DeliverySummary>,
    pub next_cursor: Option<String>,
}

/// One delivery with its attempts, oldest first.
#[derive(Debug, Clone)]
pub struct DeliveryDetail {
    pub delivery: DeliverySummary,
    pub attempts: Vec<AttemptEntry>,
}

impl WebhookAgent {
    /// The deliveries of webhook `webhook_id` that pass `filter`, newest first, a page at a
    /// time (`paging`).
    pub async fn deliveries(
        &self,
        caller: &Caller,
        webhook_id: i32,
        filter: &DeliveryFilter,
    ) -> Result<DeliveryPage, AgentError> {
        let mut query = parse_filter(webhook_id, filter)?;
        self.visible_webhook(caller, webhook_id).await?;
        let limit = query.limit;
        query.limit += 1; // one more tells whether another page follows
        let (deliveries, next_cursor) =
            paging::page(self.store.deliveries(&query).await?, limit, |d| {
                d.delivery_id
            });
        Ok(DeliveryPage {
            deliveries,
            next_cursor,
        })
    }

    /// One delivery of webhook `webhook_id`, with its attempt log.
    pub async fn delivery(
        &self,
        caller: &Caller,
        webhook_id: i32,
        delivery_id: i64,
    ) -> Result<DeliveryDetail, AgentError> {
        self.visible_webhook(caller, webhook_id).await?;
        let (delivery, attempts) = self
            .store
            .delivery(webhook_id, delivery_id)
            .await?
            .ok_or_else(|| no_delivery(webhook_id, delivery_id))?;
        Ok(DeliveryDetail { delivery, attempts })
    }
}

/// The CSV export's header line: the REST members, in order.
const CSV_HEADER: &str = "DeliveryId,EventId,Event,PrimaryKey,Status,Attempts,LastStatus,LastAttempt,NextAttempt,Created";

/// Deliveries as CSV (RFC 4180, CRLF, a header line, empty fields for nulls, dates ISO 8601
/// UTC): the export REST (`Accept: text/csv`) and the CLI (`--csv`) give.
pub fn deliveries_csv(deliveries: &[DeliverySummary]) -> String {
    let date = |ms: Option<Millis>| ms.map(|t| wire_date(Some(t))).unwrap_or_default();
    let mut out = String::from(CSV_HEADER);
    out.push_str("\r\n");
    for d in deliveries {
        let row = [
            d.delivery_id.to_string(),
            d.event_id.clone(),
            d.event.clone(),
            d.primary_key.to_string(),
            d.state.as_str().to_string(),
            d.attempts.to_string(),
            d.last_status.map(|s| s.to_string()).unwrap_or_default(),
            date(d.last_attempt),
            date(d.next_attempt),
            date(Some(d.created)),
        ];
        let fields: Vec<String> = row.iter().map(|f| csv_field(f)).collect();
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    }
    out
}

/// A CSV field: quoted when it holds a comma, a quote or a line break.
fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

pub(super) fn no_delivery(webhook_id: i32, delivery_id: i64) -> AgentError {
    AgentError::NotFound(format!(
        "Webhook {webhook_id} has no delivery {delivery_id}"
    ))
}

fn invalid(message: String) -> AgentError {
    AgentError::Invalid(message)
}

fn parse_filter(webhook_id: i32, f: &DeliveryFilter) -> Result<DeliveryQuery, AgentError> {
    let state = given(&f.status).map(parse_state).transpose()?;
    let from = given(&f.from).map(|v| parse_time("from", v)).transpose()?;
    let to = given(&f.to).map(|v| parse_time("to", v)).transpose()?;
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        return Err(invalid(format!(
            "from ({}) is after to ({}): no delivery can match",
            given(&f.from).unwrap_or_default(),
            given(&f.to).unwrap_or_default()
        )));
    }
    let limit = paging::limit(&f.limit)?;
    let before = paging::cursor(&f.cursor)?;
    Ok(DeliveryQuery {
        webhook_id,
        state,
        event: given(&f.event).map(str::to_string),
        from,
        to,
        before,
        limit,
    })
}

fn parse_state(v: &str) -> Result<DeliveryState, AgentError> {
    DeliveryState::ALL
        .into_iter()
        .find(|s| s.as_str().eq_ignore_ascii_case(v))
        .ok_or_else(|| {
            let names: Vec<&str> = DeliveryState::ALL.iter().map(|s| s.as_str()).collect();
            invalid(format!("status '{v}' is not one of {}", names.join(", ")))
        })
}

/// An ISO 8601 date and time: with an offset, or without one meaning UTC.
pub(super) fn parse_time(name: &str, v: &str) -> Result<Millis, AgentError> {
    DateTime::parse_from_rfc3339(v)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S%.f").map(|t| t.and_utc()))
        .map(|t| t.timestamp_millis())
        .map_err(|_| {
            invalid(format!(
                "{name} '{v}' is not an ISO 8601 date and time (e.g. 2026-11-29T12:00:00Z)"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(set: impl FnOnce(&mut DeliveryFilter)) -> Result<DeliveryQuery, AgentError> {
        let mut f = DeliveryFilter::default();
        set(&mut f);
        parse_filter(7, &f)
    }

    fn message(r: Result<DeliveryQuery, AgentError>) -> String {
        match r {
            Err(AgentError::Invalid(m)) => m,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn every_bad_parameter_is_named() {
        assert!(message(filter(|f| f.status = Some("lost".into()))).starts_with("status 'lost'"));
        assert!(message(filter(|f| f.limit = Some("0".into()))).starts_with("limit '0'"));
        assert!(message(filter(|f| f.limit = Some("1001".into()))).starts_with("limit"));
        assert!(message(filter(|f| f.cursor = Some("abc".into()))).starts_with("cursor 'abc'"));
        assert!(message(filter(|f| f.from = Some("yesterday".into()))).starts_with("from"));
        assert!(
            message(filter(|f| {
                f.from = Some("2026-11-29T12:00:00Z".into());
                f.to = Some("2026-11-29T11:00:00Z".into());
            }))
            .starts_with("from (2026-11-29T12:00:00Z) is after to")
        );
    }

    #[test]
    fn defaults_and_case_insensitive_status() {
        let q = filter(|f| f.status = Some("Dead".into())).unwrap();
        assert_eq!(q.state, Some(DeliveryState::Dead));
        assert_eq!(q.limit, paging::DEFAULT_LIMIT);
        let q = filter(|f| f.from = Some("2026-11-29T12:00:00".into())).unwrap();
        assert_eq!(q.from, Some(1_795_953_600_000));
    }
}
