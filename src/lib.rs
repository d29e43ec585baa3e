//! hookwire: a drop-in replacement for SuperOffice NetServer's Webhook agent.
//!
//! Layout:
//! - `config`: typed options of `hookwire serve`, defaults in one place;
//! - `startup`: `Application::build` wires store, agent and router; graceful shutdown;
//! - `state`: `AppState`, what every handler shares (a leaf: adapters never import `startup`);
//! - `domain`: webhooks, states, event names, typed values (parse, don't validate);
//! - `agent`: `WebhookAgent`, the 8 operations and every business rule;
//! - `auth`: users (argon2), tickets (`7T:`, sliding expiry), application tokens;
//! - `store`: the `Store` trait, its SQLite and PostgreSQL implementations (outbox included);
//! - `delivery`: dispatcher over the outbox, signed HTTP attempts, retry policy, SSRF guard;
//! - `rest`: the REST twins (`/api/v1/Webhook`, `/api/v1/Agents/Webhook/*`) and OpenAPI;
//! - `soap`: the NetServer SOAP endpoints (`Remote/Services8x/*.svc`) and their WSDLs;
//! - `body_deadline`: every request body arrives whole, in time and within the size limit;
//! - `cli`: the commands of the `hookwire` binary (`main.rs` only parses their arguments).
//!
//! Adapters (`soap`) translate wire formats to agent calls and agent errors to wire errors;
//! nothing else. See `docs/SOAP.md` for the wire contract.

pub(crate) mod agent;
pub(crate) mod auth;
pub(crate) mod body_deadline;
pub mod cli;
pub mod config;
pub(crate) mod delivery;
pub(crate) mod domain;
pub(crate) mod rest;
pub(crate) mod soap;
pub(crate) mod startup;
pub(crate) mod state;
pub(crate) mod store;
