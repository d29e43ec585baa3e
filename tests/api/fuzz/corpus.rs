//! The valid requests the fuzz pass starts from: every SOAP operation of both service versions
//! in SOAP 1.1 and 1.2 (plus the SuperOffice doc examples in `tests/seeds/`), and every REST
//! route, RESTful and Agent RPC, with JSON Patch and Merge Patch.

use serde_json::{Value, json};

use super::request::{FuzzRequest, Kind};
use super::rng::Rng;
use crate::support::{ADMIN_PASSWORD, NS87, NS88, SOAP11, SOAP12, envelope, version_segment};

/// What the seeds refer to on the running server.
pub struct Context {
    /// A ticket of user admin.
    pub ticket: String,
    /// The application token every fuzz call carries (online mode: the sentinel webhook,
    /// owned by another application, is out of its reach).
    pub token: String,
    /// A webhook of the fuzz application that requests read and change.
    pub victim: i32,
    /// Webhooks of the fuzz application that DeleteWebhook seeds delete.
    pub doomed: Vec<i32>,
    /// Where webhooks made by fuzz requests point (a receiver that answers 200).
    pub target: String,
}

/// The event fuzz SignalEvents send; the sentinel webhook receives it.
pub const SIGNAL_EVENT: &str = "fuzz.signal";

/// The seeds, logins apart.
pub struct Corpus {
    logins: Vec<FuzzRequest>,
    others: Vec<FuzzRequest>,
}

impl Corpus {
    pub fn new(ctx: &Context) -> Corpus {
        let (logins, mut others): (Vec<_>, Vec<_>) = soap_seeds(ctx)
            .into_iter()
            .partition(|r| r.path.ends_with("SoPrincipal.svc"));
        others.extend(doc_seeds(ctx));
        others.extend(rest_seeds(ctx));
        Corpus { logins, others }
    }

    /// A seed to mutate: a login once in 100 times. Failed logins are slowed down on purpose
    /// (docs/SOAP.md "Failed logins"), so more of them would spend the time on waiting.
    pub fn pick(&self, rng: &mut Rng) -> &FuzzRequest {
        if rng.chance(1) {
            rng.pick(&self.logins)
        } else {
            rng.pick(&self.others)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// SOAP
// ---------------------------------------------------------------------------------------------

fn soap_seeds(ctx: &Context) -> Vec<FuzzRequest> {
    let mut out = Vec::new();
    for ns in [NS87, NS88] {
        for soap in [SOAP11, SOAP12] {
            let doomed = ctx.doomed[out.len() % ctx.doomed.len()];
            let ops: [(&str, String); 9] = [
                ("CreateDefaultWebhook", String::new()),
                ("SaveWebhook", carrier_xml(ns, 0, &ctx.target)),
                ("SaveWebhook", carrier_xml(ns, ctx.victim, &ctx.target)),
                ("DeleteWebhook", format!("<tns:WebhookId>{doomed}</tns:WebhookId>")),
                ("GetWebhook", format!("<tns:WebhookId>{}</tns:WebhookId>", ctx.victim)),
                (
                    "GetAllWebhooks",
                    "<tns:NameFilter>fuzz made</tns:NameFilter><tns:EventFilter>contact.created</tns:EventFilter>\
                     <tns:StatusFilter>Active</tns:StatusFilter>"
                        .to_string(),
                ),
                ("TestWebhook", carrier_xml(ns, 0, &ctx.target)),
                ("SignalEvent", signal_xml()),
                ("GetLastError", format!("<tns:WebhookId>{}</tns:WebhookId>", ctx.victim)),
            ];
            for (op, body) in ops {
                let header = format!(
                    "<tns:ApplicationToken>{}</tns:ApplicationToken>\
                     <tns:Credentials><tns:Ticket>{}</tns:Ticket></tns:Credentials>\
                     <tns:TimeZone>Europe/Oslo</tns:TimeZone>",
                    ctx.token, ctx.ticket
                );
                let xml = envelope(soap, ns, &header, &format!("<tns:{op}>{body}</tns:{op}>"));
                out.push(soap_request(ns, soap, "Webhook", op, xml));
            }
            // Logins cost an argon2 hash each: one seed per version and SOAP version.
            let login = format!(
                "<tns:AuthenticateUsernamePassword><tns:UserName>admin</tns:UserName>\
                 <tns:Password>{ADMIN_PASSWORD}</tns:Password></tns:AuthenticateUsernamePassword>"
            );
            let xml = envelope(soap, ns, "", &login);
            out.push(soap_request(
                ns,
                soap,
                "SoPrincipal",
                "AuthenticateUsernamePassword",
                xml,
            ));
        }
    }
    out
}

fn soap_request(ns: &str, soap: &str, service: &str, op: &str, xml: String) -> FuzzRequest {
    let segment = version_segment(ns);
    let version = if soap == SOAP12 { "1.2" } else { "1.1" };
    let name = format!("SOAP {version} {segment} {op}");
    let path = format!("/Remote/{segment}/{service}.svc");
    let action = format!("{ns}/{service}/{op}");
    let request = FuzzRequest::new(Kind::Soap, &name, "POST", &path).body(xml);
    if soap == SOAP12 {
        request.header(
            "Content-Type",
            &format!("application/soap+xml; charset=utf-8; action=\"{action}\""),
        )
    } else {
        request
            .header("Content-Type", "text/xml; charset=utf-8")
            .header("SOAPAction", &format!("\"{action}\""))
    }
}

/// A `Webhook` carrier with every member the service version has.
fn carrier_xml(ns: &str, id: i32, target: &str) -> String {
    let v88 = if ns == NS88 {
        "<tns:ErrorsEmail>ops@example.com</tns:ErrorsEmail>\
         <tns:ErrorEmails><arr:string>a@example.com</arr:string></tns:ErrorEmails>\
         <tns:ErrorAssociates><tns:MDOListItem><tns:Id>1</tns:Id><tns:Name>admin</tns:Name></tns:MDOListItem></tns:ErrorAssociates>\
         <tns:Description>made by the fuzz pass</tns:Description><tns:NotifyVia>Email</tns:NotifyVia>\
         <tns:NotifyWhen>FirstFailure Disabling</tns:NotifyWhen><tns:TotalCalls>3</tns:TotalCalls>"
    } else {
        ""
    };
    format!(
        "<tns:Webhook xsi:type=\"tns:Webhook\"><tns:WebhookId xsi:type=\"xsd:int\">{id}</tns:WebhookId>\
         <tns:Name>fuzz made</tns:Name>\
         <tns:Events><arr:string>contact.created</arr:string><arr:string>sale.*</arr:string></tns:Events>\
         <tns:TargetUrl>{target}</tns:TargetUrl><tns:Secret>s3cret</tns:Secret>\
         <tns:State>Active</tns:State><tns:Type>webhook</tns:Type>\
         <tns:Headers><tns:StringKeyValuePair><tns:Key>X-Fuzz</tns:Key><tns:Value>1</tns:Value></tns:StringKeyValuePair></tns:Headers>\
         <tns:Properties>{}</tns:Properties>\
         <tns:Registered>2021-03-25T21:37:14Z</tns:Registered>\
         <tns:RegisteredAssociate><tns:AssociateId>1</tns:AssociateId><tns:Name>admin</tns:Name></tns:RegisteredAssociate>\
         {v88}</tns:Webhook>",
        typed_pairs()
    )
}

/// `StringObjectKeyValuePair`s of every anyType the contract lists.
fn typed_pairs() -> String {
    let values = [
        ("name", "xsd:string", "Acme"),
        ("count", "xsd:int", "42"),
        ("small", "xsd:short", "-7"),
        ("big", "xsd:long", "9007199254740993"),
        ("ratio", "xsd:double", "0.25"),
        ("f", "xsd:float", "1.5"),
        ("money", "xsd:decimal", "12.50"),
        ("vip", "xsd:boolean", "true"),
        ("when", "xsd:dateTime", "2026-11-25T10:33:03.123Z"),
    ];
    let mut out: String = values
        .iter()
        .map(|(k, t, v)| {
            format!(
                "<tns:StringObjectKeyValuePair><tns:Key>{k}</tns:Key>\
                 <tns:Value xsi:type=\"{t}\">{v}</tns:Value></tns:StringObjectKeyValuePair>"
            )
        })
        .collect();
    out.push_str(
        "<tns:StringObjectKeyValuePair><tns:Key>untyped</tns:Key><tns:Value>text</tns:Value></tns:StringObjectKeyValuePair>\
         <tns:StringObjectKeyValuePair><tns:Key>none</tns:Key><tns:Value xsi:nil=\"true\"/></tns:StringObjectKeyValuePair>",
    );
    out
}

fn signal_xml() -> String {
    format!(
        "<tns:EventName>{SIGNAL_EVENT}</tns:EventName><tns:PrimaryKey xsi:type=\"xsd:int\">12</tns:PrimaryKey>\
         <tns:Data>{}</tns:Data>",
        typed_pairs()
    )
}

/// The request examples of SuperOffice's documentation in `tests/seeds/`, with the example
/// ticket and token replaced by real ones.
fn doc_seeds(ctx: &Context) -> Vec<FuzzRequest> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/seeds");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {dir}: {e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
        let Some(xml) = request_example(&text) else {
            panic!(
                "{}: no ```xml block under a '## ... Request' heading",
                file.display()
            );
        };
        let xml = xml
            .replace("7T:1234abcxyzExample==", &ctx.ticket)
            .replace("1234567-1234-9876", &ctx.token);
        let ns = if xml.contains(NS87) { NS87 } else { NS88 };
        let soap = if xml.contains(SOAP12) { SOAP12 } else { SOAP11 };
        let op = text
            .lines()
            .find_map(|l| l.strip_prefix("## ")?.strip_suffix(" Request"))
            .unwrap_or("Unknown")
            .to_string();
        let mut request = soap_request(ns, soap, "Webhook", &op, xml);
        request.history[0] = format!("doc seed {}", file.display());
        out.push(request);
    }
    out
}

/// The first ```xml block after the "## ... Request" heading.
fn request_example(text: &str) -> Option<String> {
    let after = &text[text.find(" Request\n")?..];
    let start = after.find("```xml\n")? + "```xml\n".len();
    let end = after[start..].find("```")?;
    Some(after[start..start + end].to_string())
}

// ---------------------------------------------------------------------------------------------
// REST
// ---------------------------------------------------------------------------------------------

fn rest_seeds(ctx: &Context) -> Vec<FuzzRequest> {
    let v = ctx.victim;
    let d = |i: usize| ctx.doomed[i % ctx.doomed.len()];
    let new = carrier_json(0, &ctx.target);
    let update = carrier_json(v, &ctx.target);
    let data = json!({"name": "Acme", "count": 3, "big": 9_007_199_254_740_993_i64, "ratio": 0.5,
                      "vip": true, "when": "2026-11-25T10:33:03Z", "tags": ["a", "b"], "nested": {"k": "v"}, "none": null});
    let json_patch = json!([
        {"op": "test", "path": "/Type", "value": "webhook"},
        {"op": "replace", "path": "name", "value": "fuzz victim"},
        {"op": "add", "path": "/Events/-", "value": "contact.changed"},
        {"op": "add", "path": "/Headers/X-Patched", "value": "yes"},
        {"op": "add", "path": "/Properties/level", "value": {"deep": [1, 2, 3]}},
        {"op": "copy", "from": "/Properties/level", "path": "/Properties/copy"},
        {"op": "move", "from": "/Properties/copy", "path": "/Properties/moved"},
        {"op": "remove", "path": "/Properties/moved"},
        {"op": "remove", "path": "/Events/2"},
    ]);
    let merge_patch = json!({"Description": "merged", "Headers": {"X-Merged": "1", "X-Gone": null},
                             "Properties": {"merged": 1.5}, "Secret": null});
    let agent = |m: &str| format!("/api/v1/Agents/Webhook/{m}");
    let json_ct = "application/json";
    let seeds = [
        rest("GET default", "GET", "/api/v1/Webhook/default", None),
        rest(
            "GET list",
            "GET",
            "/api/v1/Webhook?nameFilter=fuzz%20made&eventFilter=contact.created&statusFilter=Active",
            None,
        ),
        rest(
            "POST create",
            "POST",
            "/api/v1/Webhook?$select=Name,Events",
            Some((json_ct, &new)),
        ),
        rest(
            "GET one",
            "GET",
            &format!("/api/v1/Webhook/{v}?$select=Name,State"),
            None,
        ),
        rest(
            "PUT",
            "PUT",
            &format!("/api/v1/Webhook/{v}"),
            Some((json_ct, &update)),
        ),
        rest(
            "PATCH JSON Patch",
            "PATCH",
            &format!("/api/v1/Webhook/{v}"),
            Some(("application/json-patch+json", &json_patch)),
        ),
        rest(
            "PATCH Merge Patch",
            "PATCH",
            &format!("/Cust12345/api/v1/Webhook/{v}"),
            Some(("application/merge-patch+json", &merge_patch)),
        ),
        rest(
            "DELETE",
            "DELETE",
            &format!("/api/v1/Webhook/{}", d(0)),
            None,
        ),
        rest(
            "POST Test",
            "POST",
            "/api/v1/Webhook/Test",
            Some((json_ct, &new)),
        ),
        rest(
            "POST signal",
            "POST",
            &format!("/api/v1/Webhook/{SIGNAL_EVENT}/12"),
            Some((json_ct, &data)),
        ),
        rest(
            "GET LastError",
            "GET",
            &format!("/api/v1/Webhook/{v}/LastError"),
            None,
        ),
        rest(
            "Agent CreateDefaultWebhook",
            "POST",
            &agent("CreateDefaultWebhook"),
            None,
        ),
        rest(
            "Agent SaveWebhook",
            "POST",
            &agent("SaveWebhook"),
            Some((json_ct, &json!({"Webhook": new}))),
        ),
        rest(
            "Agent DeleteWebhook",
            "POST",
            &agent(&format!("DeleteWebhook?WebhookId={}", d(1))),
            None,
        ),
        rest(
            "Agent GetWebhook",
            "POST",
            &agent("GetWebhook"),
            Some((json_ct, &json!({"WebhookId": v}))),
        ),
        rest(
            "Agent GetAllWebhooks",
            "POST",
            &agent("GetAllWebhooks"),
            Some((
                json_ct,
                &json!({"NameFilter": "fuzz made", "EventFilter": "", "StatusFilter": "Active"}),
            )),
        ),
        rest(
            "Agent TestWebhook",
            "POST",
            &agent("TestWebhook"),
            Some((json_ct, &new)),
        ),
        rest(
            "Agent SignalEvent",
            "POST",
            &agent("SignalEvent"),
            Some((
                json_ct,
                &json!({"EventName": SIGNAL_EVENT, "PrimaryKey": 7, "Data": data}),
            )),
        ),
        rest(
            "Agent GetLastError",
            "POST",
            &agent(&format!("getlasterror?webhookId={v}")),
            None,
        ),
    ];
    let mut out: Vec<FuzzRequest> = seeds
        .into_iter()
        .map(|r| {
            r.header("Authorization", &format!("SOTicket {}", ctx.ticket))
                .header("SO-AppToken", &ctx.token)
        })
        .collect();
    // Basic credentials (a verified pair is remembered, so argon2 runs once).
    let basic = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("admin:{ADMIN_PASSWORD}"),
    );
    out.push(
        rest(
            "GET one (Basic)",
            "GET",
            &format!("/api/v1/Webhook/{v}"),
            None,
        )
        .header("Authorization", &format!("Basic {basic}"))
        .header("SO-AppToken", &ctx.token),
    );
    out
}

fn rest(name: &str, method: &str, path: &str, body: Option<(&str, &Value)>) -> FuzzRequest {
    let request = FuzzRequest::new(Kind::Rest, &format!("REST {name}"), method, path);
    match body {
        Some((content_type, value)) => request
            .header("Content-Type", content_type)
            .body(value.to_string()),
        None => request,
    }
}

fn carrier_json(id: i32, target: &str) -> Value {
    json!({
        "WebhookId": id,
        "Name": "fuzz made",
        "Events": ["contact.created", "sale.*"],
        "TargetUrl": target,
        "Secret": "s3cret",
        "State": "Active",
        "Type": "webhook",
        "Headers": {"X-Fuzz": "1"},
        "Properties": {"tenant": 42, "big": 9_007_199_254_740_993_i64, "ratio": 0.5, "vip": true,
                       "tags": ["a", "b"], "nested": {"k": "v"}, "none": null},
        "Registered": "2021-03-25T21:37:14Z",
        "ErrorsEmail": "ops@example.com",
        "ErrorEmails": ["a@example.com"],
        "ErrorAssociates": [{"Id": 1}],
        "Description": "made by the fuzz pass",
        "NotifyVia": "Email",
        "NotifyWhen": "FirstFailure Disabling",
        "TotalCalls": 3,
    })
}
