#!/usr/bin/env python3
"""Interop test: drive hookwire's SOAP endpoints with zeep, a SOAP client hookwire did not write.

Usage: python3 tests/interop/zeep_client.py BASE_URL USER PASSWORD
       (BASE_URL like http://127.0.0.1:18099; the server's test ping on save must be off)

For Services87 and Services88, over both WSDL bindings (SOAP 1.1 BasicHttpBinding_* and SOAP 1.2
CustomBinding_*), it loads the served WSDLs, gets a ticket from SoPrincipal.svc and calls every
Webhook.svc operation, checking what a user of the agent would check (docs/SOAP.md).
It prints one line per check and exits 1 on the first failure. Needs only zeep (pip install zeep).

zeep quirks handled here: it adds WS-Addressing headers (the WSDL has wsaw:Action, as NetServer's
does), reads a nil complex element as an object of Nones (see empty()), and sends anyType values
it parsed without xsi:type (see typed()).
"""

import datetime
import sys
import uuid

import zeep
from lxml import etree
from zeep import xsd
from zeep.exceptions import Error as ZeepError
from zeep.plugins import Plugin
from zeep.transports import Transport

VERSIONS = ["Services87", "Services88"]
# (label, port name pattern); both ports are in one service, at the same address.
BINDINGS = [("SOAP1.1", "BasicHttpBinding_{}"), ("SOAP1.2", "CustomBinding_{}")]
ENVELOPE_NS = {"SOAP1.1": "http://schemas.xmlsoap.org/soap/envelope/",
               "SOAP1.2": "http://www.w3.org/2003/05/soap-envelope"}
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
UNKNOWN_ID = 999999


class CheckFailed(Exception):
    pass


def check(cond, what, detail=""):
    """Print one line per check; stop at the first failure with what was seen."""
    if not cond:
        raise CheckFailed(f"{what}{': ' + detail if detail else ''}")
    print(f"ok   {what}")


class LastReply(Plugin):
    """Keeps the raw reply envelope, so in-band errors can be checked on the wire itself."""

    def __init__(self):
        self.envelope = None

    def egress(self, envelope, http_headers, operation, binding_options):
        self.envelope = None
        return envelope, http_headers

    def ingress(self, envelope, http_headers, operation):
        self.envelope = envelope
        return envelope, http_headers


class Conn:
    """One service (WSDL) bound to one port, plus the raw-reply plugin."""

    def __init__(self, base, version, svc, binding_pattern, transport):
        self.tns = f"http://www.superoffice.net/ws/crm/NetServer/{version}"
        self.url = f"{base}/Remote/{version}/{svc}.svc?wsdl"
        self.plugin = LastReply()
        # strict (the default) so an element the WSDL does not declare, or one out of order, fails.
        self.client = zeep.Client(self.url, transport=transport, plugins=[self.plugin])
        port = binding_pattern.format(svc)
        self.service = self.client.bind(f"Wcf{svc}Service", port)

    def call(self, op, headers=None, **params):
        """Calls `op`; returns (SOAP header object, body object) as zeep parsed them."""
        if headers:
            params["_soapheaders"] = headers
        result = getattr(self.service, op)(**params)
        # With response headers declared, zeep returns the whole envelope: {header, body}.
        return result.header, result.body

    def raw(self, *path):
        """Text of the tns-qualified element at `path` below the reply's Header, or None."""
        env = self.plugin.envelope
        if env is None:
            return None
        node = next((c for c in env if etree.QName(c).localname == "Header"), None)
        for name in path:
            if node is None:
                return None
            node = node.find(f"{{{self.tns}}}{name}")
        return None if node is None else (node.text or "")

    def raw_body_child(self, op_response, child):
        """The reply's Body/{op_response}/{child} element (lxml), or None."""
        env = self.plugin.envelope
        body = next((c for c in env if etree.QName(c).localname == "Body"), None)
        if body is None:
            return None
        wrapper = body.find(f"{{{self.tns}}}{op_response}")
        return None if wrapper is None else wrapper.find(f"{{{self.tns}}}{child}")

    def raw_nil(self, op_response, child):
        """Whether Body/{op_response}/{child} is xsi:nil="true" on the wire."""
        node = self.raw_body_child(op_response, child)
        return node is not None and node.get(XSI_NIL) in ("true", "1")


def empty(value):
    """zeep reads a nil complex element as an object whose fields are all None
    (python-zeep issue #823), so "null" is None or such an object."""
    if value is None:
        return True
    values = getattr(value, "__values__", None)
    return values is not None and all(v is None for v in values.values())


def strings(array_of_string):
    """ArrayOfstring as zeep parses it -> list of str."""
    if array_of_string is None:
        return []
    return list(array_of_string.string or [])


def pairs(dictionary, item):
    """StringDictionary / StringObjectDictionary -> dict."""
    if dictionary is None:
        return {}
    return {kv.Key: kv.Value for kv in (getattr(dictionary, item) or [])}


def typed(values):
    """dict -> StringObjectDictionary whose values carry xsi:type. zeep writes a plain Python
    value in an anyType element without xsi:type (the server then reads a string), so values
    read from a reply must be wrapped again before they are sent back."""
    def wrap(v):
        # bool before int: bool is an int subclass.
        for py, xs in ((bool, xsd.Boolean), (int, xsd.Int), (float, xsd.Double),
                       (datetime.datetime, xsd.DateTime), (str, xsd.String)):
            if isinstance(v, py):
                return xsd.AnyObject(xs(), v)
        raise TypeError(f"no XSD type for {v!r}")
    return {"StringObjectKeyValuePair": [{"Key": k, "Value": wrap(v)} for k, v in values.items()]}


def webhooks(array_of_webhook):
    if array_of_webhook is None:
        return []
    return list(array_of_webhook.Webhook or [])


def expect_agent_error(conn, op, exc_type, label, headers, **params):
    """The in-band error of SOAP.md: HTTP 200, Succeeded false, ExceptionInfo in the header."""
    try:
        header, _ = conn.call(op, headers, **params)
    except ZeepError as e:
        raise CheckFailed(f"{label}: expected an in-band ExceptionInfo, "
                          f"got {type(e).__name__}: {e}")
    check(conn.raw("Succeeded") == "false", f"{label}: raw <Succeeded>false",
          f"raw Succeeded = {conn.raw('Succeeded')!r}")
    raw_type = conn.raw("ExceptionInfo", "ExceptionType")
    check(raw_type == exc_type, f"{label}: raw ExceptionType {exc_type}", f"got {raw_type!r}")
    info = header.ExceptionInfo if header is not None else None
    check(not empty(info) and header.Succeeded is False and info.ExceptionType == exc_type,
          f"{label}: zeep parses ExceptionInfo ({exc_type})", repr(header))
    check(bool(info.Message), f"{label}: ExceptionInfo.Message is set", repr(info.Message))


def run_one(base, user, password, version, binding_label, binding_pattern, transport):
    tag = f"[{version} {binding_label}]"
    v88 = version == "Services88"

    # --- SoPrincipal: a ticket ---
    principal = Conn(base, version, "SoPrincipal", binding_pattern, transport)
    print(f"ok   {tag} loaded {principal.url}")
    header, body = principal.call("AuthenticateUsernamePassword", UserName=user, Password=password)
    check(body.AuthenticationSucceeded is True, f"{tag} AuthenticateUsernamePassword succeeds",
          repr(body))
    ticket = None if empty(body.Credentials) else body.Credentials.Ticket
    check(bool(ticket), f"{tag} a ticket is issued")
    check(header is not None and header.Succeeded is True, f"{tag} auth header Succeeded true")
    reply_ns = etree.QName(principal.plugin.envelope).namespace
    check(reply_ns == ENVELOPE_NS[binding_label], f"{tag} the reply is a {binding_label} envelope",
          reply_ns)
    check(not empty(body.Response) and body.Response.Associate == user,
          f"{tag} SoPrincipalCarrier.Associate == {user}", repr(body.Response))

    header, body = principal.call("AuthenticateUsernamePassword", UserName=user,
                                  Password=password + "-wrong")
    check(body.AuthenticationSucceeded is False and empty(body.Credentials)
          and empty(body.Response),
          f"{tag} a wrong password: AuthenticationSucceeded false, no Credentials", repr(body))
    check(principal.raw_nil("AuthenticateResponse", "Response")
          and principal.raw_nil("AuthenticateResponse", "Credentials"),
          f"{tag} a wrong password: raw Response and Credentials are xsi:nil")
    check(principal.raw("ExceptionInfo", "ExceptionType") == "SoSecurityException",
          f"{tag} a wrong password: ExceptionInfo SoSecurityException",
          repr(principal.raw("ExceptionInfo", "ExceptionType")))

    # --- Webhook.svc ---
    hooks = Conn(base, version, "Webhook", binding_pattern, transport)
    print(f"ok   {tag} loaded {hooks.url}")
    creds = {"Credentials": {"Ticket": ticket}}

    header, body = hooks.call("CreateDefaultWebhook", creds)
    d = body.Response
    check(header.Succeeded is True, f"{tag} CreateDefaultWebhook: Succeeded true")
    check(not empty(d) and d.WebhookId == 0 and d.Type == "webhook" and d.State == "Active",
          f"{tag} CreateDefaultWebhook: WebhookId 0, Type webhook, State Active", repr(d))
    check(strings(d.Events) == ["contact.created", "contact.deleted"],
          f"{tag} CreateDefaultWebhook: Events contact.created/contact.deleted",
          repr(strings(d.Events)))

    name = f"zeep-{version}-{binding_label}-{uuid.uuid4().hex[:8]}"
    props = {"count": 42, "label": "hello <&> world", "flag": True}
    hook = {
        "WebhookId": 0,
        "Name": name,
        "Events": {"string": ["contact.created", "sale.changed"]},
        "TargetUrl": "https://example.com/hook",
        "Secret": "s3cret-value",
        "State": "Active",
        "Type": "webhook",
        "Headers": {"StringKeyValuePair": [{"Key": "X-A", "Value": "1"}]},
        "Properties": typed(props),
    }
    if v88:
        hook.update({
            "Description": "made by zeep_client.py",
            "ErrorEmails": {"string": ["ops@example.com"]},
            "NotifyVia": "Email",
            "NotifyWhen": ["FirstFailure", "Disabling"],
        })

    def check_saved(w, what):
        check(not empty(w) and w.Name == name and w.TargetUrl == "https://example.com/hook"
              and w.Secret == "s3cret-value" and w.Type == "webhook" and w.State == "Active",
              f"{tag} {what}: Name, TargetUrl, Secret, Type, State round-trip", repr(w))
        check(strings(w.Events) == ["contact.created", "sale.changed"],
              f"{tag} {what}: Events round-trip", repr(strings(w.Events)))
        check(pairs(w.Headers, "StringKeyValuePair") == {"X-A": "1"},
              f"{tag} {what}: Headers round-trip", repr(w.Headers))
        got = pairs(w.Properties, "StringObjectKeyValuePair")
        check(got == props, f"{tag} {what}: Properties round-trip", repr(got))
        check(type(got["count"]) is int and type(got["flag"]) is bool
              and type(got["label"]) is str,
              f"{tag} {what}: Property types kept (int, bool, str)",
              repr({k: type(v).__name__ for k, v in got.items()}))
        check(isinstance(w.Registered, datetime.datetime) and w.Registered.year >= 2020,
              f"{tag} {what}: Registered is set", repr(w.Registered))
        check(not empty(w.RegisteredAssociate) and w.RegisteredAssociate.Name == user,
              f"{tag} {what}: RegisteredAssociate.Name == {user}", repr(w.RegisteredAssociate))
        if v88:
            check(w.Description == "made by zeep_client.py"
                  and strings(w.ErrorEmails) == ["ops@example.com"]
                  and w.NotifyVia == "Email"
                  and list(w.NotifyWhen or []) == ["FirstFailure", "Disabling"],
                  f"{tag} {what}: 88 fields (Description, ErrorEmails, NotifyVia, NotifyWhen)",
                  repr((w.Description, w.ErrorEmails, w.NotifyVia, w.NotifyWhen)))
        else:
            check(not hasattr(w, "ErrorsEmail"), f"{tag} {what}: no 88 fields in Services87")

    header, body = hooks.call("SaveWebhook", creds, Webhook=hook)
    saved = body.Response
    check(header.Succeeded is True, f"{tag} SaveWebhook: Succeeded true",
          repr(hooks.raw("ExceptionInfo", "Message")))
    check(not empty(saved) and saved.WebhookId > 0, f"{tag} SaveWebhook: new id > 0",
          repr(saved))
    hook_id = saved.WebhookId
    check_saved(saved, "SaveWebhook")

    _, body = hooks.call("GetWebhook", creds, WebhookId=hook_id)
    got = body.Response
    check(not empty(got) and got.WebhookId == hook_id, f"{tag} GetWebhook({hook_id}) found it")
    check_saved(got, "GetWebhook")

    _, body = hooks.call("GetWebhook", creds, WebhookId=UNKNOWN_ID)
    check(empty(body.Response) and hooks.raw_nil("GetWebhookResponse", "Response"),
          f"{tag} GetWebhook({UNKNOWN_ID}) is None (xsi:nil)", repr(body.Response))

    _, body = hooks.call("GetAllWebhooks", creds, NameFilter=name)
    found = webhooks(body.Response)
    check(len(found) == 1 and found[0].WebhookId == hook_id,
          f"{tag} GetAllWebhooks(NameFilter) finds exactly it", repr([w.WebhookId for w in found]))
    _, body = hooks.call("GetAllWebhooks", creds, EventFilter="sale.changed")
    check(hook_id in [w.WebhookId for w in webhooks(body.Response)],
          f"{tag} GetAllWebhooks(EventFilter sale.changed) includes it")
    _, body = hooks.call("GetAllWebhooks", creds, StatusFilter="Stopped")
    check(hook_id not in [w.WebhookId for w in webhooks(body.Response)],
          f"{tag} GetAllWebhooks(StatusFilter Stopped) excludes it")

    # Update: send back what GetWebhook returned, changed (Properties re-typed, see typed()).
    new_name = name + "-renamed"
    got.Name = new_name
    got.State = "Stopped"
    got.Properties = typed(pairs(got.Properties, "StringObjectKeyValuePair"))
    header, body = hooks.call("SaveWebhook", creds, Webhook=got)
    upd = body.Response
    check(header.Succeeded is True and not empty(upd) and upd.WebhookId == hook_id,
          f"{tag} SaveWebhook update keeps id {hook_id}",
          repr(hooks.raw("ExceptionInfo", "Message")))
    check(upd.Name == new_name and upd.State == "Stopped",
          f"{tag} SaveWebhook update: Name and State changed", repr((upd.Name, upd.State)))
    check(strings(upd.Events) == ["contact.created", "sale.changed"]
          and pairs(upd.Properties, "StringObjectKeyValuePair") == props,
          f"{tag} SaveWebhook update: unchanged fields kept")
    _, body = hooks.call("GetAllWebhooks", creds, NameFilter=new_name, StatusFilter="Stopped")
    check([w.WebhookId for w in webhooks(body.Response)] == [hook_id],
          f"{tag} GetAllWebhooks(new name, Stopped) finds it")

    header, body = hooks.call("TestWebhook", creds, Webhook=upd)
    res = body.Response
    check(header.Succeeded is True and not empty(res) and isinstance(res.Success, bool),
          f"{tag} TestWebhook returns a WebhookResult (Success={getattr(res, 'Success', None)})",
          repr(res))
    check(isinstance(res.Message, str), f"{tag} TestWebhook: Message is a string",
          repr(res.Message))

    data = typed({"widgets": 123, "windowName": "foo",
                  "when": datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)})
    header, _ = hooks.call("SignalEvent", creds, EventName="contact.created", PrimaryKey=5,
                           Data=data)
    check(header.Succeeded is True and empty(header.ExceptionInfo),
          f"{tag} SignalEvent(contact.created, 5, int+string+dateTime): no exception",
          repr(hooks.raw("ExceptionInfo", "Message")))

    header, body = hooks.call("GetLastError", creds, WebhookId=hook_id)
    # zeep reads an empty <Response/> as None, so look at the wire too: present, not nil.
    raw_resp = hooks.raw_body_child("GetLastErrorResponse", "Response")
    check(header.Succeeded is True and (body.Response is None or isinstance(body.Response, str)),
          f"{tag} GetLastError({hook_id}) answers a string ({body.Response!r})")
    check(raw_resp is not None and raw_resp.get(XSI_NIL) not in ("true", "1"),
          f"{tag} GetLastError: raw Response is a (possibly empty) string, not nil",
          "missing" if raw_resp is None else etree.tostring(raw_resp).decode())

    header, _ = hooks.call("DeleteWebhook", creds, WebhookId=hook_id)
    check(header.Succeeded is True, f"{tag} DeleteWebhook({hook_id}): Succeeded true",
          repr(hooks.raw("ExceptionInfo", "Message")))
    _, body = hooks.call("GetWebhook", creds, WebhookId=hook_id)
    check(empty(body.Response) and hooks.raw_nil("GetWebhookResponse", "Response"),
          f"{tag} GetWebhook({hook_id}) after delete is None (xsi:nil)", repr(body.Response))

    # --- error paths: in-band ExceptionInfo ---
    expect_agent_error(hooks, "GetLastError", "NotFoundException",
                       f"{tag} GetLastError({UNKNOWN_ID})", creds, WebhookId=UNKNOWN_ID)
    expect_agent_error(hooks, "DeleteWebhook", "NotFoundException",
                       f"{tag} DeleteWebhook({UNKNOWN_ID})", creds, WebhookId=UNKNOWN_ID)
    expect_agent_error(hooks, "GetWebhook", "SoSessionException",
                       f"{tag} GetWebhook with a made-up ticket",
                       {"Credentials": {"Ticket": "7T:bWFkZS11cA=="}}, WebhookId=1)
    expect_agent_error(hooks, "GetAllWebhooks", "SoSessionException",
                       f"{tag} GetAllWebhooks without Credentials", None)


def main(argv):
    if len(argv) != 4:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    base, user, password = argv[1].rstrip("/"), argv[2], argv[3]
    # TestWebhook may wait for an unreachable target: allow for the server's own timeout.
    transport = Transport(timeout=30, operation_timeout=90)
    try:
        for version in VERSIONS:
            for label, pattern in BINDINGS:
                run_one(base, user, password, version, label, pattern, transport)
    except CheckFailed as e:
        print(f"FAIL {e}", file=sys.stderr)
        return 1
    except (ZeepError, OSError) as e:
        # A SOAP Fault, an XML the WSDL does not allow, or a transport error: all failures.
        print(f"FAIL {type(e).__name__}: {e}", file=sys.stderr)
        detail = getattr(e, "detail", None)
        if detail is not None:
            print(etree.tostring(detail).decode(), file=sys.stderr)
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
