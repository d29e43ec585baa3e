//! A bounded black-box fuzz pass (issue 12): a few thousand requests mutated from valid SOAP
//! and REST seeds with a fixed seed, sent 8 at a time to the real server. Every answer must
//! be a well-formed SOAP response, Fault or ExceptionInfo, or a JSON error (`fuzz/verdict.rs`);
//! the process must live through every batch with its memory bounded; and afterwards a
//! SignalEvent must still reach a webhook that was registered before the storm.
//!
//! A failure prints the request (with its seed and mutations) and its number; run
//! `HOOKWIRE_FUZZ_REPLAY=<number> cargo test --test api fuzz::mutated` to send that request alone.
//! `HOOKWIRE_FUZZ_SEED=<number>` fuzzes with another seed than the suite's.

pub mod corpus;
mod found;
pub mod mutate;
mod mutate_json;
mod mutate_xml;
pub mod request;
pub mod rng;
pub mod runner;
mod values;
pub mod verdict;

use std::time::{Duration, Instant};

use crate::support::receiver::Receiver;
use crate::support::*;
use corpus::{Context, Corpus};
use request::{FuzzRequest, shown};
use rng::Rng;
use runner::{Outcome, Tally};

/// The PRNG seed: the same requests on every run.
const SEED: u64 = 12;
const REQUESTS: usize = 3000;
/// Requests between two liveness checks.
const BATCH: usize = 250;
/// Resident memory the debug server must stay under (the pass peaks at 60-100 MiB).
const RSS_LIMIT_KIB: u64 = 128 * 1024;
/// The storm stops sending new batches after this (a slow machine then fuzzes less, and the
/// summary says so), keeping the test well under a minute.
const BUDGET: Duration = Duration::from_secs(40);
/// Failures printed in full.
const SHOWN_FAILURES: usize = 12;

/// Registers an application and returns its token.
fn app_token(database_url: &str, name: &str) -> String {
    let (ok, out, err) = cli(&["app", "add", name, "--database", database_url]);
    assert!(ok, "hookwire app add {name}: {err}");
    out.trim().to_string()
}

/// Saves a webhook by SOAP as the application of `token`; returns its id.
async fn save_webhook(
    server: &TestServer,
    ticket: &str,
    token: &str,
    name: &str,
    events: &[&str],
    target: &str,
) -> i32 {
    let reply = server
        .call_with_token(
            NS88,
            SOAP11,
            ticket,
            Some(token),
            "SaveWebhook",
            &webhook_xml(0, name, events, target, "<tns:State>Active</tns:State>"),
        )
        .await
        .ok();
    let id = reply.text("WebhookId").unwrap_or_default();
    id.parse()
        .unwrap_or_else(|_| panic!("SaveWebhook {name} answered WebhookId {id:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mutated_soap_and_rest_requests_get_clean_errors_and_delivery_survives() {
    let receiver = Receiver::start().await;
    // Online mode, so that only the sentinel's own application token can touch it: the
    // fuzz calls carry another application's token, and a mangled token is refused, never
    // taken for "no token" (which sees every webhook on-site).
    let server = TestServer::start(&[
        "--allow-http-targets",
        "--allow-targets",
        "127.0.0.0/8",
        "--no-save-ping",
        "--online",
    ]);
    let db = server.database_url();
    let sentinel_token = app_token(&db, "sentinel");
    let fuzz_token = app_token(&db, "fuzz");
    let ticket = server.ticket().await;
    let sentinel = save_webhook(
        &server,
        &ticket,
        &sentinel_token,
        "sentinel",
        &["fuzz.*"],
        &receiver.url("/sentinel"),
    )
    .await;
    let fuzzed = receiver.url("/fuzzed");
    let mut owned = Vec::new();
    for name in ["fuzz victim", "doomed 1", "doomed 2", "doomed 3"] {
        owned.push(
            save_webhook(
                &server,
                &ticket,
                &fuzz_token,
                name,
                &["contact.created"],
                &fuzzed,
            )
            .await,
        );
    }
    let ctx = Context {
        ticket: ticket.clone(),
        token: fuzz_token,
        victim: owned[0],
        doomed: owned[1..].to_vec(),
        target: fuzzed,
    };

    let corpus = Corpus::new(&ctx);
    let seed = match std::env::var("HOOKWIRE_FUZZ_SEED") {
        Ok(s) => s.trim().parse().expect("HOOKWIRE_FUZZ_SEED is a number"),
        Err(_) => SEED,
    };
    let mut rng = Rng::new(seed);
    let replay: Option<usize> = std::env::var("HOOKWIRE_FUZZ_REPLAY").ok().map(|n| {
        n.trim()
            .parse()
            .expect("HOOKWIRE_FUZZ_REPLAY is a request number")
    });

    let client = runner::client();
    let mut tally = Tally::default();
    let mut failures: Vec<String> = Vec::new();
    let started = Instant::now();
    let mut sent = 0;
    for first in (0..REQUESTS).step_by(BATCH) {
        if started.elapsed() > BUDGET {
            println!("fuzz: the {BUDGET:?} budget is spent; stopping after {sent} requests");
            break;
        }
        // Made batch by batch (the same sequence as all at once), so that mutants of up to
        // 1 MiB are not all held at the same time.
        let batch: Vec<(usize, FuzzRequest)> = (first..(first + BATCH).min(REQUESTS))
            .map(|i| {
                let seed = corpus.pick(&mut rng);
                (i, mutate::mutate(&mut rng, seed))
            })
            .filter(|(i, _)| replay.is_none_or(|only| only == *i))
            .collect();
        if batch.is_empty() {
            continue;
        }
        sent += batch.len();
        let mut outcomes = runner::run_batch(&client, &server.base, batch).await;
        outcomes.sort_by_key(|(i, ..)| *i);
        for (i, request, outcome, took) in &outcomes {
            tally.count(*i, request, outcome, *took);
            let problem = match outcome {
                Outcome::Answered(answer) => verdict::check(request, answer).err().map(|why| {
                    format!(
                        "{why}\n  answer: HTTP {} {:?} {}",
                        answer.status,
                        answer.headers.get("content-type"),
                        shown(&answer.body, 400)
                    )
                }),
                Outcome::NoAnswer(why) if !verdict::may_lose_answer(request, why) => {
                    Some(format!("no answer: {why}"))
                }
                Outcome::NoAnswer(_) => None,
                Outcome::Unsendable(_) => None,
            };
            if let Some(problem) = problem {
                failures.push(format!(
                    "request #{i}: {problem}\n  request: {}",
                    request.describe(600)
                ));
            }
        }
        // The process lives and answers after every batch.
        let alive = client
            .get(server.url("/health"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200);
        if !alive {
            failures.push(format!(
                "the server is dead or does not answer /health after the batch of requests \
                 #{first}.. (the failures above name the requests it was answering)"
            ));
            break;
        }
    }
    let elapsed = started.elapsed();
    // The kernel's high-water mark: no transient peak between two samples escapes it.
    let peak = server.peak_rss_kib();
    println!(
        "fuzz: {sent} requests (seed {seed}) in {elapsed:.1?}, peak server RSS {} MiB; answers by target and status:\n{}",
        peak / 1024,
        tally.summary()
    );
    if peak >= RSS_LIMIT_KIB {
        failures.push(format!(
            "the server's resident memory peaked at {peak} KiB, over the {RSS_LIMIT_KIB} KiB bound"
        ));
    }
    report(&failures);

    // After the storm: a valid SignalEvent still reaches the sentinel, which is still Active,
    // and GetAllWebhooks still works.
    server
        .call_with_token(
            NS88,
            SOAP11,
            &ticket,
            Some(&sentinel_token),
            "SignalEvent",
            "<tns:EventName>fuzz.done</tns:EventName><tns:PrimaryKey>1</tns:PrimaryKey>",
        )
        .await
        .ok();
    receiver
        .wait_until(
            |seen| {
                seen.iter().any(|r| {
                    r.path == "/sentinel"
                        && serde_json::from_slice::<serde_json::Value>(&r.body)
                            .is_ok_and(|b| b["Event"] == "fuzz.done")
                })
            },
            Duration::from_secs(30),
        )
        .await;
    // Every delivery and test ping the storm caused is a JSON body, whatever data it carried.
    for request in receiver.requests() {
        request.json();
    }
    let got = server
        .call_with_token(
            NS88,
            SOAP11,
            &ticket,
            Some(&sentinel_token),
            "GetWebhook",
            &format!("<tns:WebhookId>{sentinel}</tns:WebhookId>"),
        )
        .await
        .ok();
    assert_eq!(got.text("State").as_deref(), Some("Active"), "{}", got.body);
    let all = server
        .call_with_token(
            NS88,
            SOAP11,
            &ticket,
            Some(&sentinel_token),
            "GetAllWebhooks",
            "",
        )
        .await
        .ok();
    assert_eq!(
        all.texts("WebhookId"),
        vec![sentinel.to_string()],
        "the sentinel application sees its webhook: {}",
        all.body
    );
}

/// Panics with the first failures; all of them go to a file in the temporary directory.
fn report(failures: &[String]) {
    if failures.is_empty() {
        return;
    }
    let file = std::env::temp_dir().join("hookwire-fuzz-failures.txt");
    let saved = match std::fs::write(&file, failures.join("\n\n")) {
        Ok(()) => format!("all of them are in {}", file.display()),
        Err(e) => format!("(could not write {}: {e})", file.display()),
    };
    let shown: Vec<&str> = failures
        .iter()
        .take(SHOWN_FAILURES)
        .map(String::as_str)
        .collect();
    panic!(
        "{} fuzz requests got a wrong answer or none; the first {} below, {saved}.\n\n{}\n\n\
         Replay one with HOOKWIRE_FUZZ_REPLAY=<number> cargo test --test api fuzz::mutated",
        failures.len(),
        shown.len(),
        shown.join("\n\n")
    );
}
