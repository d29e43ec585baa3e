//! `SoPrincipal.svc`: `AuthenticateUsernamePassword`, which issues tickets.

use std::net::IpAddr;

use axum::response::Response;

use super::SoapRequest;
use super::decode::Params;
use super::fault::Fault;
use super::reply::{ExceptionInfo, reply};
use super::version::ServiceVersion;
use super::version::SoapVersion;
use crate::agent::{AgentError, WebhookAgent};

/// One decoded SoPrincipal.svc call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalCall {
    AuthenticateUsernamePassword { user_name: String, password: String },
}

pub const OPERATIONS: [&str; 1] = ["AuthenticateUsernamePassword"];

pub fn decode_call(op: &Params, name: &str, version: SoapVersion) -> Result<PrincipalCall, Fault> {
    match name {
        "AuthenticateUsernamePassword" => Ok(PrincipalCall::AuthenticateUsernamePassword {
            user_name: op.string("UserName").flatten().unwrap_or_default(),
            password: op.string("Password").flatten().unwrap_or_default(),
        }),
        _ => Err(Fault::sender(version, String::new())),
    }
}

/// Logs in (`client` is the caller's address, for throttling failed logins) and answers
/// `AuthenticateResponse` (the one response element of every SoPrincipal authenticate method).
pub async fn execute(
    agent: &WebhookAgent,
    service: ServiceVersion,
    request: SoapRequest<PrincipalCall>,
    client: Option<IpAddr>,
) -> Response {
    let tns = service.namespace();
    let PrincipalCall::AuthenticateUsernamePassword {
        user_name,
        password,
    } = request.call;
    // The login call may carry an empty ticket and token: they are ignored (docs/SOAP.md).
    // An unknown token is refused only where tokens are checked (online mode); online mode
    // asks for the token on agent calls, not at login.
    let checked = match request.headers.app_token.as_deref() {
        Some(token) => agent.auth().app(Some(token)).await.map(|_| ()),
        None => Ok(()),
    };
    let outcome = match checked {
        Ok(()) => agent.auth().login(&user_name, &password, client).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok((ticket, who)) => reply(request.version, tns, None, |x| {
            x.open("tns:AuthenticateResponse");
            x.open("tns:Response");
            x.leaf("tns:UserType", "InternalAssociate");
            x.leaf("tns:Associate", &who.name);
            x.leaf("tns:AssociateId", &who.id.to_string());
            x.leaf("tns:IsPerson", "false");
            x.leaf("tns:PersonId", "0");
            x.leaf("tns:ContactId", "0");
            x.leaf("tns:GroupId", "0");
            x.leaf("tns:RoleType", "Employee");
            x.leaf("tns:FullName", &who.full_name);
            x.leaf("tns:EjUserId", "0");
            x.leaf("tns:DatabaseContextIdentifier", "Default");
            x.close("tns:Response");
            x.open("tns:Credentials");
            x.leaf("tns:Ticket", &ticket);
            x.close("tns:Credentials");
            x.leaf("tns:AuthenticationSucceeded", "true");
            x.close("tns:AuthenticateResponse");
        }),
        Err(e) => {
            // Refused logins are logged by `Auth`, with the user name cut short.
            let e = AgentError::from(e);
            if e.is_internal() {
                tracing::error!(error = %e, "login failed on the store");
            }
            let message = e.client_message();
            let info = ExceptionInfo {
                message: &message,
                exception_type: e.exception_type(),
            };
            reply(request.version, tns, Some(info), |x| {
                x.open("tns:AuthenticateResponse");
                x.nil("tns:Response");
                x.nil("tns:Credentials");
                x.leaf("tns:AuthenticationSucceeded", "false");
                x.close("tns:AuthenticateResponse");
            })
        }
    }
}
