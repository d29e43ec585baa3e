//! hookwire: a drop-in replacement for SuperOffice NetServer's Webhook agent.
//!
//! Layout:
//! - `config`: typed options of `hookwire serve`, defaults in one place;
//! - `cli`: the commands of the `hookwire` binary (`main.rs` only parses their arguments);
//! - `startup`: `Application::build` wires store, agent and router; graceful shutdown;
//! - `state`: `AppState`, what every handler shares (a leaf: adapters never import `startup`);
//! - `domain`: webhooks, states, event names, typed values (parse, don't validate);
//!   `domain::outbox` holds the outbox's pure rules (which states take deliveries, when
//!   failures disable a webhook), with no SQL and no I/O;
//! - `agent`: `WebhookAgent` and every business rule; `agent::operation` is the one list of
//!   the 8 operations (names, parsing) and their one dispatch;
//! - `auth`: users (argon2), tickets (`7T:`, sliding expiry), application tokens, a new user's
//!   initial password;
//! - `store`: the store traits by concern (accounts, webhooks, outbox), their SQLite and
//!   PostgreSQL implementations, and the group-commit writer's batch order, written once;
//! - `delivery`: dispatcher over the outbox, signed HTTP attempts, retry policy, SSRF guard;
//! - `notify`: the notifier, which mails the alerts a webhook's failures leave (SMTP);
//! - `rest`: the REST adapter (`/api/v1/Webhook`, `/api/v1/Agents/Webhook/*`) and OpenAPI;
//! - `admin`: the admin page (`/admin`), server-rendered HTML over the same agent;
//! - `soap`: the SOAP adapter, NetServer's endpoints (`Remote/Services8x/*.svc`) and WSDLs;
//! - `body_deadline`: every request body arrives whole, in time and within the size limit;
//! - `observe`: `/metrics` and the logs (one line per delivery attempt).
//!
//! The two adapters, `soap` and `rest`, translate wire formats to agent calls and agent errors
//! to wire errors; nothing else. The wire contracts are in `docs/SOAP.md` and `docs/REST.md`,
//! delivery in `docs/DELIVERY.md`, the whole picture in `docs/ARCHITECTURE.md`.
//!
//! Only `cli` and `config` are public: the binary uses them; the tests and the benchmark
//! drive the binary from outside.

pub(crate) mod admin;
pub(crate) mod agent;
pub(crate) mod auth;
pub(crate) mod body_deadline;
pub mod cli;
pub mod config;
pub(crate) mod delivery;
pub(crate) mod domain;
pub(crate) mod notify;
pub(crate) mod observe;
pub(crate) mod rest;
pub(crate) mod soap;
pub(crate) mod startup;
pub(crate) mod state;
pub(crate) mod store;
