//! SignalEvent calls for load and crash tests, and what became of each.

use super::{NS88, SOAP11, envelope};

/// What became of one SignalEvent call.
pub enum Signal {
    /// HTTP 200 with `Succeeded` true: the event is stored.
    Accepted,
    /// A complete answer that is not a success.
    Refused(String),
    /// No complete answer (the node died): the event may or may not be stored.
    Lost(String),
}

impl std::fmt::Debug for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Signal::Accepted => write!(f, "accepted"),
            Signal::Refused(why) => write!(f, "refused: {why}"),
            Signal::Lost(why) => write!(f, "no answer: {why}"),
        }
    }
}

/// Sends one SignalEvent of `event` with PrimaryKey `pk` (and one Data field `name`) over SOAP 1.1.
pub async fn signal_event(
    http: &reqwest::Client,
    endpoint: &str,
    ticket: &str,
    event: &str,
    pk: u32,
) -> Signal {
    let header = format!("<tns:Credentials><tns:Ticket>{ticket}</tns:Ticket></tns:Credentials>");
    let body = format!(
        "<tns:SignalEvent><tns:EventName>{event}</tns:EventName><tns:PrimaryKey>{pk}</tns:PrimaryKey>\
         <tns:Data><tns:StringObjectKeyValuePair><tns:Key>name</tns:Key>\
         <tns:Value xsi:type=\"xsd:string\">pk-{pk}</tns:Value></tns:StringObjectKeyValuePair></tns:Data>\
         </tns:SignalEvent>"
    );
    let sent = http
        .post(endpoint)
        .header("Content-Type", "text/xml; charset=utf-8")
        .header("SOAPAction", format!("\"{NS88}/Webhook/SignalEvent\""))
        .body(envelope(SOAP11, NS88, &header, &body))
        .send()
        .await;
    let response = match sent {
        Ok(r) => r,
        Err(e) => return Signal::Lost(format!("send: {e}")),
    };
    let status = response.status().as_u16();
    let text = match response.text().await {
        Ok(t) => t,
        Err(e) => return Signal::Lost(format!("HTTP {status}, body: {e}")),
    };
    let succeeded = roxmltree::Document::parse(&text).ok().and_then(|doc| {
        doc.descendants()
            .find(|n| n.is_element() && n.tag_name().name() == "Succeeded")
            .map(|n| n.text() == Some("true"))
    });
    if status == 200 && succeeded == Some(true) {
        Signal::Accepted
    } else {
        Signal::Refused(format!("HTTP {status}: {text}"))
    }
}
