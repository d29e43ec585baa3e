//! Turns a valid seed into a mutant: one to five mutations, each recorded in the request's
//! history. The protocol-aware ones live in `mutate_xml` and `mutate_json`; here are the ones
//! every request gets: bytes, whole bodies, paths, queries, methods, headers, credentials.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use super::request::{FuzzRequest, Kind};
use super::rng::Rng;
use super::values;
use super::{mutate_json, mutate_xml};

/// Largest body a mutant has: a little over the server's 1 MiB limit, so that 413 is reached
/// now and then while no request costs more than that.
pub const MAX_BODY: usize = 1_100_000;

pub fn mutate(rng: &mut Rng, seed: &FuzzRequest) -> FuzzRequest {
    let mut r = seed.clone();
    let count = match rng.below(100) {
        0..5 => 0,
        5..55 => 1,
        55..80 => 2,
        _ => rng.range(3, 5),
    };
    for _ in 0..count {
        let what = one(rng, &mut r);
        r.history.push(what);
    }
    if r.body.len() > MAX_BODY {
        r.body.truncate(MAX_BODY);
        r.history.push(format!("cut to {MAX_BODY} bytes"));
    }
    r
}

fn one(rng: &mut Rng, r: &mut FuzzRequest) -> String {
    // Protocol-aware mutations most often: byte noise mostly stops at the parser.
    match rng.below(100) {
        0..40 => match r.kind {
            Kind::Soap => mutate_xml::mutate(rng, r),
            Kind::Rest => mutate_json::mutate(rng, r),
        },
        40..56 => bytes(rng, r),
        56..64 => path(rng, r),
        64..74 => match r.kind {
            Kind::Soap => mutate_xml::credentials(rng, r),
            Kind::Rest => rest_credentials(rng, r),
        },
        74..81 => content_type(rng, r),
        81..85 => method(rng, r),
        85..90 => headers(rng, r),
        90..95 => query(rng, r),
        _ => whole_body(rng, r),
    }
}

/// Byte-level noise: bit flips, cuts, repeats, bytes that break UTF-8, stray markup.
pub fn bytes(rng: &mut Rng, r: &mut FuzzRequest) -> String {
    let b = &mut r.body;
    let len = b.len();
    let at = rng.below(len + 1);
    match rng.below(6) {
        0 if len > 0 => {
            let n = rng.range(1, 8);
            for _ in 0..n {
                let i = rng.below(len);
                b[i] ^= 1 << rng.below(8);
            }
            format!("flip {n} bits")
        }
        1 => {
            b.truncate(at);
            format!("truncate at {at}")
        }
        2 => {
            let n = rng.size(len - at);
            b.drain(at..at + n);
            format!("delete {n} bytes at {at}")
        }
        3 => {
            let n = rng.size((len - at).min(4096)).max(1).min(len - at);
            let times = rng.size(1000).max(1).min(MAX_BODY / n.max(1));
            let chunk = b[at..at + n].repeat(times);
            b.splice(at..at, chunk);
            format!("repeat {n} bytes at {at} {times} times")
        }
        4 => {
            let bytes = rng.pick(values::BYTES);
            let times = if rng.chance(20) {
                rng.size(5000).max(1)
            } else {
                1
            };
            b.splice(at..at, bytes.repeat(times));
            format!(
                "insert {:?} x{times} at {at}",
                super::request::shown(bytes, 16)
            )
        }
        _ => {
            let markup = rng.pick(values::MARKUP);
            b.splice(at..at, markup.bytes());
            format!("insert {markup:?} at {at}")
        }
    }
}

/// A whole new body: nothing, noise, the other protocol's body, or one over the size limit.
fn whole_body(rng: &mut Rng, r: &mut FuzzRequest) -> String {
    let (what, body): (&str, Vec<u8>) = match rng.below(8) {
        0 => ("empty body", Vec::new()),
        1 => ("whitespace body", b" \r\n\t ".to_vec()),
        2 => ("text body", b"hello, I am not a message".to_vec()),
        3 => (
            "JSON body",
            br#"{"EventName":"fuzz.signal","PrimaryKey":1}"#.to_vec(),
        ),
        4 => (
            "XML body",
            b"<?xml version=\"1.0\"?><Envelope><Body/></Envelope>".to_vec(),
        ),
        5 => ("body over 1 MiB", over_limit(r.kind)),
        _ => {
            let n = rng.size(4096);
            (
                "random bytes",
                (0..n).map(|_| rng.next_u64() as u8).collect(),
            )
        }
    };
    r.body = body;
    what.to_string()
}

fn over_limit(kind: Kind) -> Vec<u8> {
    let filler = "a".repeat(1_048_600);
    match kind {
        Kind::Soap => format!("<x>{filler}</x>").into_bytes(),
        Kind::Rest => format!("{{\"Name\":\"{filler}\"}}").into_bytes(),
    }
}

/// Path segments that are not what the route expects.
const SEGMENTS: &[&str] = &[
    "",
    "%FF",
    "%C3%28",
    "%ED%A0%80",
    "%00",
    "%2F",
    "%20",
    "%",
    "%G1",
    "~",
    "-1",
    "0",
    "2147483648",
    "99999999999999999999",
    "abc",
    "1.5",
    "1e3",
    "0x10",
    "fuzz.*",
    "fuzz%20signal",
    "%E2%9C%93",
    "Frobnicate",
    "Services86",
    "Webhook.svc",
    "SoPrincipal.svc",
    "LastError",
    "default",
    "Test",
];

fn path(rng: &mut Rng, r: &mut FuzzRequest) -> String {
    let (path, query) = match r.path.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (r.path.clone(), None),
    };
    let mut segments: Vec<String> = path.split('/').map(str::to_string).collect();
    let i = rng.range(1, segments.len() - 1);
    let what = match rng.below(7) {
        0 => {
            segments[i] = flip_case(rng, &segments[i]);
            format!("case of path segment {i}")
        }
        1 => {
            segments.insert(1, "Cust12345".to_string());
            "tenant prefix".to_string()
        }
        2 => {
            let junk = if rng.chance(10) {
                "x".repeat(rng.size(4000))
            } else {
                rng.pick(SEGMENTS).to_string()
            };
            let what = format!("path segment {i} = {:?}", cut(&junk));
            segments[i] = junk;
            what
        }
        3 => {
            segments.push(rng.pick(SEGMENTS).to_string());
            "extra path segment".to_string()
        }
        4 if segments.len() > 2 => {
            segments.pop();
            "drop last path segment".to_string()
        }
        5 => {
            segments.insert(i, String::new());
            "double slash".to_string()
        }
        _ => {
            segments.push(String::new());
            "trailing slash".to_string()
        }
    };
    r.path = segments.join("/");
    if let Some(q) = query {
        r.path = format!("{}?{q}", r.path);
    }
    what
}

fn flip_case(rng: &mut Rng, s: &str) -> String {
    s.chars()
        .map(|c| {
            if rng.chance(50) {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

fn cut(s: &str) -> String {
    s.chars().take(40).collect()
}

fn query(rng: &mut Rng, r: &mut FuzzRequest) -> String {
    let long = "n".repeat(rng.size(8000));
    let params = [
        "$select=".to_string(),
        "$select=Name,,Nope,%FF".to_string(),
        format!("$select={long}"),
        "webhookId=abc".to_string(),
        "WebhookId=1&WebhookId=2".to_string(),
        "webhookId=99999999999".to_string(),
        "%ZZ=1".to_string(),
        "a=%FF%FE".to_string(),
        "statusFilter=Sleeping".to_string(),
        "statusFilter=".to_string(),
        format!("nameFilter={long}"),
        "eventFilter=%00".to_string(),
        "wsdl".to_string(),
        "singleWsdl&x".to_string(),
        "=".to_string(),
        "&&&".to_string(),
        "EventName=fuzz.signal&PrimaryKey=1e3".to_string(),
        "Data=%7B%7D".to_string(),
    ];
    let param = rng.pick(&params).clone();
    let sep = if r.path.contains('?') { '&' } else { '?' };
    r.path = format!("{}{sep}{param}", r.path);
    format!("query + {:?}", cut(&param))
}

fn method(rng: &mut Rng, r: &mut FuzzRequest) -> String {
    let method = *rng.pick(&[
        "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "PROPFIND", "FROB",
    ]);
    r.method = method.to_string();
    format!("method {method}")
}

const CONTENT_TYPES: &[&[u8]] = &[
    b"text/xml",
    b"text/xml; charset=utf-8",
    b"TEXT/XML; Charset=UTF-8",
    b"application/soap+xml",
    b"application/soap+xml; action=\"urn:nothing\"",
    b"application/xml",
    b"application/json",
    b"application/json; charset=utf-8",
    b"text/json",
    b"application/merge-patch+json",
    b"application/json-patch+json",
    b"application/problem+json",
    b"text/plain",
    b"multipart/form-data; boundary=x",
    b"application/x-www-form-urlencoded",
    b"text/xml; charset=iso-8859-1",
    b"text/xml; charset=utf-16",
    b"text/xml; charset=\"latin1\"",
    b"application/soap+xml;charset=",
    b";",
    b"",
    b"garbage",
    b"*/*",
    b"text/xml; charset=utf-8; charset=iso-8859-1",
    b"text/xml; charset=\xE9",
];

fn content_type(rng: &mut Rng, r: &mut FuzzRequest) -> String {
    if rng.chance(15) {
        r.remove_header("Content-Type");
        return "no Content-Type".to_string();
    }
    let ct = rng.pick(CONTENT_TYPES);
    r.set_header("Content-Type", ct);
    format!("Content-Type {:?}", super::request::shown(ct, 60))
}

fn headers(rng: &mut Rng, r: &mut FuzzRequest) -> String {
    let long = "h".repeat(rng.size(4000));
    let (name, value): (&str, Vec<u8>) = match rng.below(8) {
        0 => ("Host", b"evil\"<host>&".to_vec()),
        1 => ("Host", format!("{long}:99999").into_bytes()),
        2 => (
            "If-Unmodified-Since",
            b"Thu, 01 Jan 1970 00:00:00 GMT".to_vec(),
        ),
        3 => ("If-Unmodified-Since", b"not a date \xE9".to_vec()),
        4 => (
            "If-Unmodified-Since",
            b"Fri, 31 Dec 9999 23:59:59 GMT".to_vec(),
        ),
        5 => ("Content-Encoding", b"gzip".to_vec()),
        6 => ("Accept", b"application/xml;q=2, */*;q=-1".to_vec()),
        _ => ("X-Junk", long.into_bytes()),
    };
    r.set_header(name, &value);
    format!("header {name}: {:?}", super::request::shown(&value, 40))
}

/// REST credentials: `Authorization` and `SO-AppToken`, missing, malformed or wrong.
fn rest_credentials(rng: &mut Rng, r: &mut FuzzRequest) -> String {
    let ticket = r
        .get_header("Authorization")
        .and_then(|v| v.strip_prefix(b"SOTicket "))
        .map(|t| String::from_utf8_lossy(t).into_owned())
        .unwrap_or_else(|| "7T:none".to_string());
    if rng.chance(25) {
        let token: Option<Vec<u8>> = match rng.below(5) {
            0 => None,
            1 => Some(Vec::new()),
            2 => Some(b"no-such-token".to_vec()),
            3 => Some("t".repeat(rng.size(4000)).into_bytes()),
            _ => Some(b"tok\xE9n".to_vec()),
        };
        return match token {
            None => {
                r.remove_header("SO-AppToken");
                "no SO-AppToken".to_string()
            }
            Some(t) => {
                r.set_header("SO-AppToken", &t);
                format!("SO-AppToken {:?}", super::request::shown(&t, 40))
            }
        };
    }
    let value: Option<Vec<u8>> = match rng.below(16) {
        0 | 1 => None,
        2 => Some(b"SOTicket".to_vec()),
        3 => Some(b"SOTicket ".to_vec()),
        4 => Some(b"SOTicket garbage".to_vec()),
        5 => Some(format!("SOTicket 7T:{}", "A".repeat(rng.size(4000))).into_bytes()),
        6 => Some(format!("soticket   {ticket}  ").into_bytes()),
        7 => Some(format!("SOTicket {ticket}x").into_bytes()),
        8 => Some(b"Basic".to_vec()),
        9 => Some(b"Basic !!!!".to_vec()),
        10 => Some(format!("Basic {}", B64.encode("no colon")).into_bytes()),
        11 => Some(format!("Basic {}", B64.encode(b"\xFF\xFE:\x00")).into_bytes()),
        // A wrong password costs an argon2 hash: rarely.
        12 if rng.chance(30) => Some(format!("Basic {}", B64.encode("admin:wrong")).into_bytes()),
        13 => Some(b"Bearer eyJhbGciOiJub25lIn0.e30.".to_vec()),
        14 => Some(b"SOTicket 7T:\xE9\xE9".to_vec()),
        _ => Some(b"Negotiate".to_vec()),
    };
    match value {
        None => {
            r.remove_header("Authorization");
            "no Authorization".to_string()
        }
        Some(v) => {
            r.set_header("Authorization", &v);
            format!("Authorization {:?}", super::request::shown(&v, 40))
        }
    }
}
