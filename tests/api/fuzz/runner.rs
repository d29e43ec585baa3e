//! Sending the mutants: 8 at a time over real HTTP, and a tally of the answers for the
//! summary.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::HeaderValue;

use super::request::FuzzRequest;
use super::verdict::{self, Answer, Target};

/// Requests in flight at once.
pub const CONCURRENCY: usize = 8;
/// Longest wait for one answer: far above any honest answer (the slowest is a test ping to
/// a loopback receiver), so hitting it means the server hangs on that request.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(20);

/// What became of one request.
pub enum Outcome {
    Answered(Answer),
    /// The request could not even be built (a mutant URL the client refuses): not sent.
    Unsendable(String),
    /// Sent, but no (complete) answer came.
    NoAnswer(String),
}

/// The fuzz client: redirects are answers to check, not to follow. Connections are kept
/// alive as by any client, so an answer that leaves a connection unusable without saying
/// `Connection: close` shows as a later request's lost answer.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(ANSWER_TIMEOUT)
        .build()
        .expect("HTTP client")
}

/// Sends `batch` (numbered requests), `CONCURRENCY` at a time; outcomes in any order.
pub async fn run_batch(
    client: &reqwest::Client,
    base: &str,
    batch: Vec<(usize, FuzzRequest)>,
) -> Vec<(usize, FuzzRequest, Outcome, Duration)> {
    let queue = Arc::new(Mutex::new(batch.into_iter()));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..CONCURRENCY {
        let (queue, client, base) = (queue.clone(), client.clone(), base.to_string());
        workers.spawn(async move {
            let mut done = Vec::new();
            loop {
                let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
                let Some((i, request)) = next else {
                    return done;
                };
                let began = std::time::Instant::now();
                let outcome = send(&client, &base, &request).await;
                done.push((i, request, outcome, began.elapsed()));
            }
        });
    }
    let mut all = Vec::new();
    while let Some(done) = workers.join_next().await {
        all.extend(done.expect("a fuzz worker panicked"));
    }
    all
}

async fn send(client: &reqwest::Client, base: &str, r: &FuzzRequest) -> Outcome {
    let method = match reqwest::Method::from_bytes(r.method.as_bytes()) {
        Ok(m) => m,
        Err(e) => return Outcome::Unsendable(format!("method: {e}")),
    };
    let mut request = client.request(method, format!("{base}{}", r.path));
    for (name, value) in &r.headers {
        match HeaderValue::from_bytes(value) {
            Ok(v) => request = request.header(name.as_str(), v),
            Err(e) => return Outcome::Unsendable(format!("header {name}: {e}")),
        }
    }
    let response = match request.body(r.body.clone()).send().await {
        Ok(response) => response,
        Err(e) if e.is_builder() => return Outcome::Unsendable(chain(&e)),
        Err(e) => return Outcome::NoAnswer(chain(&e)),
    };
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    match response.bytes().await {
        Ok(body) => Outcome::Answered(Answer {
            status,
            headers,
            body: body.to_vec(),
        }),
        Err(e) => Outcome::NoAnswer(format!(
            "HTTP {status}, then the body broke off: {}",
            chain(&e)
        )),
    }
}

/// An error with its causes, which say what really happened (reset, timeout, ...).
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

/// Answers counted by where they went and their status, for the summary.
#[derive(Default)]
pub struct Tally {
    answers: BTreeMap<(Target, u16), usize>,
    /// The slowest requests: (time, number, what).
    slowest: Vec<(Duration, usize, String)>,
    /// Why the client refused mutants, by reason.
    unsendable: BTreeMap<String, usize>,
    no_answer: usize,
}

impl Tally {
    pub fn count(&mut self, i: usize, request: &FuzzRequest, outcome: &Outcome, took: Duration) {
        self.slowest.push((took, i, request.history.join(" -> ")));
        self.slowest.sort_by_key(|s| std::cmp::Reverse(s.0));
        self.slowest.truncate(5);
        match outcome {
            Outcome::Answered(a) => {
                *self
                    .answers
                    .entry((verdict::target(request), a.status))
                    .or_default() += 1
            }
            Outcome::Unsendable(why) => *self.unsendable.entry(why.clone()).or_default() += 1,
            Outcome::NoAnswer(_) => self.no_answer += 1,
        }
    }

    pub fn summary(&self) -> String {
        let mut lines = Vec::new();
        let mut current: Option<Target> = None;
        let mut line = String::new();
        for ((target, status), n) in &self.answers {
            if current != Some(*target) {
                if !line.is_empty() {
                    lines.push(line.clone());
                }
                line = format!("  {target:?}:");
                current = Some(*target);
            }
            line.push_str(&format!(" {status}×{n}"));
        }
        if !line.is_empty() {
            lines.push(line);
        }
        lines.push(format!(
            "  no answer: {} (allowed only for bodies over the limit)",
            self.no_answer
        ));
        for (took, i, what) in &self.slowest {
            let what: String = what.chars().take(160).collect();
            lines.push(format!("  slowest: #{i} took {took:.1?}: {what}"));
        }
        for (why, n) in &self.unsendable {
            lines.push(format!("  not sent, the client refused it ({why}): {n}"));
        }
        lines.join("\n")
    }
}
