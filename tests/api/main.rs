//! The integration tests: one test binary (`cargo test --test api`), a module per feature, so
//! the support code and the crates it uses compile and link once, not once per file.
//!
//! Black-box: every test starts the real `hookwire` binary (`support::TestServer`) and talks
//! real HTTP to it, with real receivers on loopback (`support::receiver`). Tests run in parallel
//! as threads of this one process, so none may change process-wide state (environment
//! variables, the current directory): a child process gets its environment through `Command`.
//! Run one feature with a filter: `cargo test --test api rest_api::patch`.

#[path = "../support/mod.rs"]
mod support;

mod accounts_cli;
mod admin_events;
mod admin_form;
mod admin_list;
mod admin_screens;
mod admin_signin;
mod cluster;
mod config_file;
mod database_url;
mod deliveries;
mod deliveries_cli;
mod delivery_blips;
mod delivery_contract;
mod delivery_durability;
mod delivery_order;
mod delivery_order_lifecycle;
mod delivery_prefetch;
mod fuzz;
mod interop;
mod layering;
mod login_storm;
mod metrics;
mod notifications;
mod operator_messages;
mod quickstart;
mod recovery;
mod rest_api;
mod rest_hardening;
mod rest_messages;
mod rest_precondition;
mod rest_schema;
mod secret_rotation;
mod secrets_at_rest;
mod soap_errors;
mod soap_fidelity;
mod soap_operations;
mod soap_wire;
mod store_integrity;
mod store_parity;
mod value_roundtrip;
mod webhook_cli;
