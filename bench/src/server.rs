//! The hookwire process under test and a SOAP client for it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub const NS88: &str = "http://www.superoffice.net/ws/crm/NetServer/Services88";
pub const SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const ADMIN_PASSWORD: &str = "hookwire-bench-admin";

/// A running `hookwire serve`; killed on drop.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// From spawn to the first 200 on `GET /health`.
    pub startup: Duration,
}

/// Memory of a process from `/proc/PID/status`, in KiB.
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    pub rss_kib: u64,
    pub hwm_kib: u64,
}

impl Server {
    /// Spawns `binary serve` on `database_url` (loopback targets allowed, no save ping) and
    /// waits for `GET /health` to answer 200.
    pub async fn start(
        binary: &Path,
        database_url: &str,
        extra_args: &[String],
        http: &reqwest::Client,
        timeout: Duration,
    ) -> Result<Server, String> {
        let t0 = Instant::now();
        let mut child = Command::new(binary)
            .arg("serve")
            .args(["--listen", "127.0.0.1:0", "--database", database_url])
            .args([
                "--allow-http-targets",
                "--allow-targets",
                "127.0.0.0/8",
                "--no-save-ping",
            ])
            .args(extra_args)
            .env("HOOKWIRE_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("HOOKWIRE_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = tokio::sync::oneshot::channel();
        // Reads the address line, then keeps draining so the server never blocks on the pipe.
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(url) = line.strip_prefix("hookwire listening on ")
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(url.trim().to_string());
                }
            }
        });
        let mut server = Server {
            child,
            base: String::new(),
            startup: Duration::ZERO,
        };
        server.base = match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(base)) => base,
            Ok(Err(_)) => {
                let status = server.child.wait().map_err(|e| e.to_string())?;
                return Err(format!(
                    "hookwire exited ({status}) before printing its address"
                ));
            }
            Err(_) => return Err(format!("hookwire printed no address within {timeout:?}")),
        };
        let health = format!("{}/health", server.base);
        loop {
            if let Ok(r) = http.get(&health).send().await
                && r.status() == reqwest::StatusCode::OK
            {
                break;
            }
            if t0.elapsed() > timeout {
                return Err(format!("GET {health} gave no 200 within {timeout:?}"));
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!("hookwire exited ({status}) during start-up"));
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        server.startup = t0.elapsed();
        Ok(server)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// VmRSS and VmHWM now.
    pub fn memory(&self) -> Result<Memory, String> {
        let path = format!("/proc/{}/status", self.pid());
        let status = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
        let field = |name: &str| -> Result<u64, String> {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                .ok_or_else(|| format!("no {name} in {path}"))
        };
        Ok(Memory {
            rss_kib: field("VmRSS:")?,
            hwm_kib: field("VmHWM:")?,
        })
    }

    /// Whether the process is still running.
    pub fn check_alive(&mut self) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!("hookwire exited unexpectedly ({status})")),
            Err(e) => Err(format!("cannot query the hookwire process: {e}")),
        }
    }

    /// Sends SIGTERM and waits (at most `within`); returns the exit status and how long it took.
    pub async fn terminate(&mut self, within: Duration) -> Result<(ExitStatus, Duration), String> {
        let t0 = Instant::now();
        let sent = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .map_err(|e| format!("cannot run kill: {e}"))?;
        if !sent.success() {
            return Err(format!("kill -TERM {} failed", self.pid()));
        }
        while t0.elapsed() < within {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Ok((status, t0.elapsed()));
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Err(format!(
            "hookwire did not exit within {within:?} of SIGTERM"
        ))
    }

    /// The delivery queue from `/metrics`: (pending, delivered, dead).
    pub async fn queue(&self, http: &reqwest::Client) -> Result<(i64, i64, i64), String> {
        let text = http
            .get(self.url("/metrics"))
            .send()
            .await
            .map_err(|e| format!("GET /metrics: {e}"))?
            .text()
            .await
            .map_err(|e| format!("GET /metrics body: {e}"))?;
        let get = |status: &str| -> Result<i64, String> {
            let key = format!("hookwire_deliveries{{status=\"{status}\"}} ");
            text.lines()
                .find_map(|l| l.strip_prefix(&key))
                .and_then(|v| v.trim().parse().ok())
                .ok_or_else(|| format!("no {key} in /metrics: {text}"))
        };
        Ok((get("pending")?, get("delivered")?, get("dead")?))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A SOAP 1.1 envelope for Services88.
pub fn envelope(header: &str, body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\
         <s:Envelope xmlns:s=\"{SOAP11}\" xmlns:tns=\"{NS88}\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" \
         xmlns:arr=\"http://schemas.microsoft.com/2003/10/Serialization/Arrays\">\
         <s:Header>{header}</s:Header><s:Body>{body}</s:Body></s:Envelope>"
    )
}

/// Text of the first element named `local` in `xml`.
fn element_text(xml: &str, local: &str) -> Option<String> {
    let doc = roxmltree::Document::parse(xml).ok()?;
    doc.descendants()
        .find(|n| n.is_element() && n.tag_name().name() == local)
        .map(|n| n.text().unwrap_or("").to_string())
}

/// Speaks SOAP to one server with one ticket.
#[derive(Clone)]
pub struct Soap {
    http: reqwest::Client,
    webhook_url: String,
    credentials: String,
    /// `{base}/api/v1/Webhook`, for what only REST carries (`DeliveryOrder`).
    rest_webhook_url: String,
    ticket: String,
}

impl Soap {
    /// Logs in as `admin` through SoPrincipal.svc.
    pub async fn login(http: &reqwest::Client, base: &str) -> Result<Soap, String> {
        let body = format!(
            "<tns:AuthenticateUsernamePassword><tns:UserName>admin</tns:UserName>\
             <tns:Password>{ADMIN_PASSWORD}</tns:Password></tns:AuthenticateUsernamePassword>"
        );
        let reply = post(
            http,
            &format!("{base}/Remote/Services88/SoPrincipal.svc"),
            "SoPrincipal/AuthenticateUsernamePassword",
            envelope("", &body),
        )
        .await?;
        let ticket = element_text(&reply, "Ticket")
            .filter(|t| !t.is_empty())
            .ok_or_else(|| format!("login gave no ticket: {reply}"))?;
        Ok(Soap {
            http: http.clone(),
            webhook_url: format!("{base}/Remote/Services88/Webhook.svc"),
            credentials: format!(
                "<tns:Credentials><tns:Ticket>{ticket}</tns:Ticket></tns:Credentials>"
            ),
            rest_webhook_url: format!("{base}/api/v1/Webhook"),
            ticket,
        })
    }

    /// Saves a new Active webhook subscribed to `event` and returns its id.
    pub async fn save_webhook(&self, name: &str, event: &str, target: &str) -> Result<i32, String> {
        let body = format!(
            "<tns:SaveWebhook><tns:Webhook><tns:WebhookId>0</tns:WebhookId><tns:Name>{name}</tns:Name>\
             <tns:Events><arr:string>{event}</arr:string></tns:Events>\
             <tns:TargetUrl>{target}</tns:TargetUrl><tns:Secret>bench-secret</tns:Secret>\
             <tns:State>Active</tns:State></tns:Webhook></tns:SaveWebhook>"
        );
        let reply = post(
            &self.http,
            &self.webhook_url,
            "Webhook/SaveWebhook",
            envelope(&self.credentials, &body),
        )
        .await?;
        if element_text(&reply, "Succeeded").as_deref() != Some("true") {
            return Err(format!("SaveWebhook failed: {reply}"));
        }
        element_text(&reply, "WebhookId")
            .and_then(|id| id.parse().ok())
            .filter(|id| *id > 0)
            .ok_or_else(|| format!("SaveWebhook gave no WebhookId: {reply}"))
    }

    /// Saves a new Active webhook subscribed to `event` through REST, with `DeliveryOrder`
    /// `order` (`Any` or `PerRecord`, which SOAP does not carry), and returns its id. Fails
    /// unless the saved webhook answers that order.
    pub async fn save_webhook_ordered(
        &self,
        name: &str,
        event: &str,
        target: &str,
        order: &str,
    ) -> Result<i32, String> {
        let body = serde_json::json!({
            "Name": name,
            "Events": [event],
            "TargetUrl": target,
            "Secret": "bench-secret",
            "State": "Active",
            "DeliveryOrder": order,
        });
        let url = &self.rest_webhook_url;
        let response = self
            .http
            .post(url)
            .header("Authorization", format!("SOTicket {}", self.ticket))
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| format!("POST {url}: {e}"))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| format!("POST {url} reply: {e}"))?;
        if status != reqwest::StatusCode::OK {
            return Err(format!("POST {url}: HTTP {status}: {text}"));
        }
        let saved: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| format!("POST {url}: not JSON ({e}): {text}"))?;
        if saved["DeliveryOrder"] != order {
            return Err(format!(
                "POST {url}: asked DeliveryOrder {order}, the webhook has {}",
                saved["DeliveryOrder"]
            ));
        }
        saved["WebhookId"]
            .as_i64()
            .and_then(|id| i32::try_from(id).ok())
            .filter(|id| *id > 0)
            .ok_or_else(|| format!("POST {url} gave no WebhookId: {text}"))
    }

    /// The SignalEvent envelope for `event` with `primary_key` and two typed Data fields, both
    /// naming the bench's event `number` (the receiver tells events apart by `number`).
    pub fn signal_envelope(&self, event: &str, primary_key: i32, number: i32) -> String {
        let body = format!(
            "<tns:SignalEvent><tns:EventName>{event}</tns:EventName>\
             <tns:PrimaryKey>{primary_key}</tns:PrimaryKey><tns:Data>\
             <tns:StringObjectKeyValuePair><tns:Key>name</tns:Key>\
             <tns:Value xsi:type=\"xsd:string\">Bench AS {number}</tns:Value></tns:StringObjectKeyValuePair>\
             <tns:StringObjectKeyValuePair><tns:Key>number</tns:Key>\
             <tns:Value xsi:type=\"xsd:int\">{number}</tns:Value></tns:StringObjectKeyValuePair>\
             </tns:Data></tns:SignalEvent>"
        );
        envelope(&self.credentials, &body)
    }

    /// Calls SignalEvent for event `number` = `primary_key`; Ok only for HTTP 200 with
    /// `Succeeded` true.
    pub async fn signal(&self, event: &str, primary_key: i32) -> Result<(), String> {
        self.signal_numbered(event, primary_key, primary_key).await
    }

    /// Calls SignalEvent for event `number` of record `primary_key`.
    pub async fn signal_numbered(
        &self,
        event: &str,
        primary_key: i32,
        number: i32,
    ) -> Result<(), String> {
        let reply = post(
            &self.http,
            &self.webhook_url,
            "Webhook/SignalEvent",
            self.signal_envelope(event, primary_key, number),
        )
        .await?;
        // A cheap check on the hot path; the full reply is in the error.
        if reply.contains("Succeeded>true<") {
            Ok(())
        } else {
            Err(format!(
                "SignalEvent (PrimaryKey {primary_key}, number {number}) failed: {reply}"
            ))
        }
    }
}

/// POSTs a SOAP 1.1 envelope; Ok(body) for HTTP 200.
async fn post(
    http: &reqwest::Client,
    url: &str,
    action: &str,
    envelope: String,
) -> Result<String, String> {
    let response = http
        .post(url)
        .header("Content-Type", "text/xml; charset=utf-8")
        .header("SOAPAction", format!("\"{NS88}/{action}\""))
        .body(envelope)
        .send()
        .await
        .map_err(|e| format!("POST {url} ({action}): {e}"))?;
    let status = response.status();
    let body = response
        .text()
        .await
        .map_err(|e| format!("POST {url} ({action}) reply: {e}"))?;
    if status != reqwest::StatusCode::OK {
        return Err(format!("POST {url} ({action}): HTTP {status}: {body}"));
    }
    Ok(body)
}
