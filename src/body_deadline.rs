//! Every request body, on every route (REST, SOAP, WSDL, SoPrincipal), must arrive whole within
//! `--request-body-timeout-secs` of the request head and within `--max-body-bytes`; otherwise
//! the client gets 408 or 413 in its adapter's error form and the connection is closed. Without
//! this, a client announcing `Content-Length: 1000000000` and sending a few bytes holds a task
//! and a connection for as long as it likes. A `Content-Length` over the limit is refused at
//! once, before anything is read. The handlers get the body already in memory.

use std::pin::Pin;
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

/// The limits every body is read under.
#[derive(Debug, Clone, Copy)]
pub struct BodyRules {
    pub max_bytes: usize,
    pub deadline: Duration,
}

/// How a refused body is answered: in the error form of the adapter the path belongs to.
/// The router supplies it (`startup.rs`), so this layer knows no adapter.
pub type Refusal = fn(&Parts, &BodyProblem) -> Response;

/// The middleware's state: the limits, and how to answer when they are not met.
#[derive(Clone, Copy)]
pub struct BodyLayer {
    pub rules: BodyRules,
    pub refusal: Refusal,
}

/// Why a body was not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyProblem {
    /// Over the limit (in bytes), announced or sent.
    TooLarge(usize),
    /// Not all there when the deadline passed.
    TimedOut(Duration),
    /// The connection failed mid-body.
    Unreadable(String),
}

impl BodyProblem {
    pub fn status(&self) -> StatusCode {
        match self {
            BodyProblem::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            BodyProblem::TimedOut(_) => StatusCode::REQUEST_TIMEOUT,
            BodyProblem::Unreadable(_) => StatusCode::BAD_REQUEST,
        }
    }

    pub fn message(&self) -> String {
        match self {
            BodyProblem::TooLarge(limit) => {
                format!("the request body is larger than {limit} bytes")
            }
            BodyProblem::TimedOut(deadline) => format!(
                "the request body did not arrive within {} s",
                deadline.as_secs_f64()
            ),
            BodyProblem::Unreadable(why) => format!("the request body could not be read: {why}"),
        }
    }
}

/// The middleware (`axum::middleware::from_fn_with_state`): reads the body under the layer's
/// rules, then hands the request on with the body in memory.
pub async fn read_body(State(layer): State<BodyLayer>, request: Request, next: Next) -> Response {
    let BodyLayer { rules, refusal } = layer;
    let (parts, body) = request.into_parts();
    let announced = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if announced.is_some_and(|n| n > rules.max_bytes as u64) {
        return refuse(refusal, &parts, BodyProblem::TooLarge(rules.max_bytes));
    }
    match tokio::time::timeout(rules.deadline, collect(body, rules.max_bytes)).await {
        Ok(Ok(bytes)) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Ok(Err(problem)) => refuse(refusal, &parts, problem),
        Err(_) => refuse(refusal, &parts, BodyProblem::TimedOut(rules.deadline)),
    }
}

/// The body's data, at most `limit` bytes of it (trailers are dropped).
async fn collect(mut body: Body, limit: usize) -> Result<Bytes, BodyProblem> {
    let mut data = Vec::new();
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame = frame.map_err(|e| BodyProblem::Unreadable(e.to_string()))?;
        if let Ok(chunk) = frame.into_data() {
            if chunk.len() > limit.saturating_sub(data.len()) {
                return Err(BodyProblem::TooLarge(limit));
            }
            data.extend_from_slice(&chunk);
        }
    }
    Ok(Bytes::from(data))
}

/// The refusal's answer; the rest of the body, if any, is never read, so the connection
/// cannot be reused.
fn refuse(refusal: Refusal, parts: &Parts, problem: BodyProblem) -> Response {
    let mut response = refusal(parts, &problem);
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}
