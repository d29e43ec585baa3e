//! The webhook receiver: an axum server on 127.0.0.1 that answers 200 at once and records,
//! per request, the phase and webhook (from the path `/h/{phase}/{hook}`), the `PrimaryKey`,
//! `EventId` and the bench's event number (`FieldValues.number`) of the JSON body, the
//! `X-SuperOffice-EventId` header and the arrival order and time.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use serde::Deserialize;

/// Phases are numbered 0..MAX_PHASES.
pub const MAX_PHASES: usize = 16;

/// One delivery as received.
#[derive(Debug, Clone)]
pub struct Arrival {
    pub phase: usize,
    pub hook: usize,
    /// The bench's number of the event (unique in a run): the `number` of its Data; the
    /// `PrimaryKey` if it has none.
    pub number: i64,
    /// Its record; the same as `number` except in the phases that spread events over records.
    pub primary_key: i64,
    /// `EventId` of the body.
    pub event_id: String,
    /// Whether `X-SuperOffice-EventId` equals the body's `EventId`.
    pub header_matches: bool,
    /// When the whole request had arrived.
    pub at: Instant,
}

#[derive(Deserialize)]
struct Payload {
    #[serde(rename = "EventId")]
    event_id: String,
    #[serde(rename = "PrimaryKey")]
    primary_key: i64,
    #[serde(rename = "FieldValues", default)]
    field_values: Option<FieldValues>,
}

#[derive(Deserialize)]
struct FieldValues {
    number: Option<i64>,
}

#[derive(Default)]
struct Inner {
    arrivals: Vec<Arrival>,
    /// (phase, hook, event number) seen at least once; `arrivals` is in arrival order (pushed
    /// under the lock).
    seen: HashSet<(usize, usize, i64)>,
    /// Requests that were not a well-formed delivery to `/h/{phase}/{hook}`.
    strays: Vec<String>,
}

struct Shared {
    inner: Mutex<Inner>,
    /// Distinct (hook, event number) pairs received per phase.
    distinct: [AtomicUsize; MAX_PHASES],
    requests: AtomicUsize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub struct Receiver {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub async fn start() -> Result<Receiver, String> {
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner::default()),
            distinct: std::array::from_fn(|_| AtomicUsize::new(0)),
            requests: AtomicUsize::new(0),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("receiver cannot listen: {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("receiver address: {e}"))?;
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("hookwire-bench: receiver stopped: {e}");
            }
        });
        Ok(Receiver { addr, shared, task })
    }

    /// The TargetUrl of webhook `hook` in `phase`.
    pub fn url(&self, phase: usize, hook: usize) -> String {
        format!("http://{}/h/{phase}/{hook}", self.addr)
    }

    /// Distinct (hook, event number) pairs of `phase` so far.
    pub fn distinct(&self, phase: usize) -> usize {
        self.shared.distinct[phase].load(Ordering::Acquire)
    }

    /// Every request received so far.
    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::Acquire)
    }

    /// Polls until `phase` has `expected` distinct deliveries; Err at `deadline`.
    pub async fn wait_distinct(
        &self,
        phase: usize,
        expected: usize,
        deadline: Instant,
    ) -> Result<(), String> {
        loop {
            let got = self.distinct(phase);
            if got >= expected {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "timed out: {got} of {expected} deliveries arrived ({} missing)",
                    expected - got
                ));
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// The arrivals of `phase`, in arrival order.
    pub fn arrivals(&self, phase: usize) -> Vec<Arrival> {
        self.shared
            .lock()
            .arrivals
            .iter()
            .filter(|a| a.phase == phase)
            .cloned()
            .collect()
    }

    /// Requests that were not well-formed deliveries.
    pub fn strays(&self) -> Vec<String> {
        self.shared.lock().strays.clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let at = Instant::now();
    shared.requests.fetch_add(1, Ordering::AcqRel);
    let target = parse_path(uri.path());
    let payload = serde_json::from_slice::<Payload>(&body);
    let (Some((phase, hook)), Ok(payload)) = (target, payload) else {
        let summary = format!(
            "{} {}",
            uri.path(),
            String::from_utf8_lossy(&body[..body.len().min(200)])
        );
        shared.lock().strays.push(summary);
        return StatusCode::OK;
    };
    let header_matches = headers
        .get("x-superoffice-eventid")
        .and_then(|v| v.to_str().ok())
        == Some(payload.event_id.as_str());
    let number = payload
        .field_values
        .and_then(|f| f.number)
        .unwrap_or(payload.primary_key);
    let mut inner = shared.lock();
    if inner.seen.insert((phase, hook, number)) {
        shared.distinct[phase].fetch_add(1, Ordering::AcqRel);
    }
    inner.arrivals.push(Arrival {
        phase,
        hook,
        number,
        primary_key: payload.primary_key,
        event_id: payload.event_id,
        header_matches,
        at,
    });
    StatusCode::OK
}

/// `/h/{phase}/{hook}` → (phase, hook).
fn parse_path(path: &str) -> Option<(usize, usize)> {
    let mut parts = path.strip_prefix("/h/")?.split('/');
    let phase: usize = parts.next()?.parse().ok()?;
    let hook: usize = parts.next()?.parse().ok()?;
    (parts.next().is_none() && phase < MAX_PHASES).then_some((phase, hook))
}

#[cfg(test)]
mod tests {
    use super::parse_path;

    #[test]
    fn paths() {
        assert_eq!(parse_path("/h/3/7"), Some((3, 7)));
        assert_eq!(parse_path("/h/3"), None);
        assert_eq!(parse_path("/h/3/7/x"), None);
        assert_eq!(parse_path("/h/99/0"), None);
        assert_eq!(parse_path("/x/1/1"), None);
    }
}
