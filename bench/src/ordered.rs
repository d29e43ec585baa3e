//! The ordered-delivery phases: the 1-webhook delivery phase with its events spread over
//! [`RECORDS`] records, once to a webhook with `DeliveryOrder` `Any` and once to one with
//! `PerRecord`, the same load both times. Reports both throughputs, `PerRecord`'s as a share
//! of `Any`'s (the target: at least half), and checks from the receiver's side that with
//! `PerRecord` every record's events first arrived in the order they were signalled; if not,
//! the run fails.

use std::time::Instant;

use crate::cpu::{Cpu, CpuMeter};
use crate::load::{Keys, closed_loop, verify};
use crate::order_check::{OrderCheck, check_order};
use crate::phases::{PHASE_ORDER_ANY, PHASE_ORDER_PER_RECORD, by};
use crate::run::Bench;
use crate::stats::{ms, per_sec, thousands};
use crate::value::{Num, Value};

/// Records the events are spread over (PrimaryKey 1..=RECORDS, round-robin).
pub const RECORDS: usize = 100;

/// The share of `Any`'s throughput `PerRecord` must keep (issue target).
const TARGET_SHARE: f64 = 0.5;

/// One of the two runs.
struct Spread {
    rate: f64,
    cpu: Cpu,
    order: OrderCheck,
    /// What the Counts column says of the run, before the order.
    counts: String,
}

/// Runs `Any`, then `PerRecord`, on the run's server (one node), `plan.delivery` events each.
pub async fn ordered_delivery(b: &mut Bench<'_>) -> Result<(), String> {
    let n = b.plan.delivery;
    let any = spread(b, PHASE_ORDER_ANY, "Any", n).await?;
    b.report.add(
        format!("delivery, 1 webhook, Any, {RECORDS} records"),
        Value::new("{}/s end to end", [Num::Rate(any.rate)]),
        "–",
        None,
        Some(any.cpu),
        format!(
            "{}; first receipts out of signal order in {} of {} records (Any promises no order)",
            any.counts, any.order.out_of_order, any.order.records
        ),
    );
    b.server.check_alive()?;
    let per_record = spread(b, PHASE_ORDER_PER_RECORD, "PerRecord", n).await?;
    let share = per_record.rate / any.rate.max(1e-9);
    let kept = per_record.order.summary();
    b.report.add(
        "delivery, 1 webhook, PerRecord",
        Value::new(
            "{}/s end to end, {} of Any",
            [Num::Rate(per_record.rate), Num::Percent(share)],
        ),
        "≥ 50 % of Any",
        Some(share >= TARGET_SHARE),
        Some(per_record.cpu),
        format!("{}; {kept}", per_record.counts),
    );
    if per_record.order.kept() {
        Ok(())
    } else {
        Err(format!("delivery, 1 webhook, PerRecord: {kept}"))
    }
}

/// `n` events over [`RECORDS`] records to one new webhook with DeliveryOrder `order`, on
/// receiver phase `phase`: all awaited and checked, then their order per record.
async fn spread(b: &mut Bench<'_>, phase: usize, order: &str, n: usize) -> Result<Spread, String> {
    let base = b.expect(phase, 1, n);
    let keys = Keys::Records {
        base,
        records: RECORDS,
    };
    let Bench {
        plan,
        receiver,
        server,
        soap,
        postgres,
        ..
    } = b;
    let c = plan.concurrency;
    let deadline = Instant::now() + plan.phase_timeout;
    let event = format!("bench.ordered{phase}");
    let what = format!("delivery, 1 webhook, {order}, {RECORDS} records");
    soap.save_webhook_ordered(
        &format!("bench {what}"),
        &event,
        &receiver.url(phase, 0),
        order,
    )
    .await?;
    let cpu = CpuMeter::start(&[server], postgres.as_ref())?;
    let run = by(
        deadline,
        &what,
        closed_loop(std::slice::from_ref(soap), &event, keys, n, c, None),
    )
    .await?;
    receiver
        .wait_distinct(phase, n, deadline)
        .await
        .map_err(|e| format!("{what}: {e}"))?;
    let cpu = cpu.read()?;
    let arrivals = receiver.arrivals(phase);
    let v = verify(&arrivals, 1, base, n).map_err(|e| format!("{what}: {e}"))?;
    let total = v.last_arrival.saturating_duration_since(run.started);
    Ok(Spread {
        rate: per_sec(n, total),
        cpu,
        order: check_order(&arrivals, keys),
        counts: format!(
            "{} events on PrimaryKey 1..{RECORDS} in turn (a record's SignalEvents one after \
             another), DeliveryOrder {order}: all received in {} from the first SignalEvent \
             (signalling took {}; {} duplicates)",
            thousands(n as u64),
            ms(total),
            ms(run.elapsed),
            v.duplicates
        ),
    })
}
