//! The commands of the `hookwire` binary; `main.rs` only parses the arguments and calls one of
//! these. Each returns the message to print on failure (the binary exits non-zero with it).

mod deliveries;
mod webhook;

use std::sync::Arc;

use crate::auth::{InitialPassword, MAX_USER_NAME_CHARS, random_token, sha256_hex};
use crate::config::{DatabaseConfig, ServeConfig};
use crate::delivery::payload::timestamp;
use crate::domain::now_millis;
use crate::startup::Application;
use crate::store::{self, Revocation, Store};

pub use crate::agent::{DeliveryFilter, RecoverWindow};
pub use crate::observe::{LogFormat, init_logging};
pub use deliveries::{discard_delivery, list_deliveries, recover_deliveries, retry_delivery};
pub use webhook::{OrderChoice, WebhookChange, change_webhook, list_webhooks, show_webhook};

/// `hookwire serve`: runs until SIGTERM; prints the configuration summary once listening.
pub async fn serve(config: ServeConfig) -> Result<(), String> {
    let app = Application::build(config.clone())
        .await
        .map_err(|e| e.to_string())?;
    let addr = app.local_addr().map_err(|e| e.to_string())?;
    println!("{}", config.summary(addr));
    app.run_until_stopped().await.map_err(|e| e.to_string())
}

/// `hookwire user add`: `password` or a generated one, printed once.
pub async fn add_user(
    name: &str,
    password: Option<String>,
    full_name: Option<String>,
    email: Option<String>,
    database: &DatabaseConfig,
) -> Result<(), String> {
    let name = name.trim();
    if name.is_empty() {
        return Err("the user name must not be empty".into());
    }
    let email = email
        .map(|e| crate::domain::check_email_address(&e).map(|()| e.trim().to_string()))
        .transpose()?;
    if name.chars().count() > MAX_USER_NAME_CHARS {
        return Err(format!(
            "the user name is longer than {MAX_USER_NAME_CHARS} characters (logins refuse longer ones)"
        ));
    }
    let store = open(database).await?;
    let password = InitialPassword::choose(password);
    let full_name = full_name.unwrap_or_else(|| name.to_string());
    let user = store
        .insert_user(name, &full_name, &password.hash().await)
        .await
        .map_err(|e| e.to_string())?;
    if email.is_some() {
        store
            .set_user_email(user.id, email.as_deref())
            .await
            .map_err(|e| e.to_string())?;
    }
    match password.generated() {
        Some(generated) => println!("created user '{name}' with password {generated}"),
        None => println!("created user '{name}'"),
    }
    Ok(())
}

/// `hookwire app add`: registers the application and prints its token (`token`, or a random
/// one); only the token's hash is stored.
pub async fn add_app(
    name: &str,
    token: Option<String>,
    database: &DatabaseConfig,
) -> Result<(), String> {
    let name = name.trim();
    if name.is_empty() {
        return Err("the application name must not be empty".into());
    }
    let token = token
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(random_token);
    let store = open(database).await?;
    store
        .insert_app(name, &sha256_hex(&token))
        .await
        .map_err(|e| e.to_string())?;
    println!("{token}");
    Ok(())
}

/// `hookwire user list`: a tab-separated table, by name.
pub async fn list_users(database: &DatabaseConfig) -> Result<(), String> {
    let store = open(database).await?;
    let users = store.users().await.map_err(|e| e.to_string())?;
    println!("id\tname\tfull_name\tcreated\temail");
    for u in users {
        println!(
            "{}\t{}\t{}\t{}\t{}",
            u.id,
            u.name,
            u.full_name,
            timestamp(u.created_at),
            u.email.unwrap_or_default()
        );
    }
    Ok(())
}

/// `hookwire user passwd`: `password` or a generated one (printed once); the user's tickets
/// end, so whoever logged in with the old password must log in again.
pub async fn set_password(
    name: &str,
    password: Option<String>,
    database: &DatabaseConfig,
) -> Result<(), String> {
    let store = open(database).await?;
    let password = InitialPassword::choose(password);
    let name = store
        .set_user_password(name.trim(), &password.hash().await)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no user named '{}'", name.trim()))?;
    match password.generated() {
        Some(generated) => println!("new password of '{name}': {generated}"),
        None => println!("password of '{name}' changed"),
    }
    Ok(())
}

/// `hookwire user remove`: the user and its tickets go; webhooks it registered stay.
pub async fn remove_user(name: &str, database: &DatabaseConfig) -> Result<(), String> {
    let store = open(database).await?;
    let name = store
        .remove_user(name.trim())
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no user named '{}'", name.trim()))?;
    println!("removed user '{name}'");
    Ok(())
}

/// `hookwire app list`: a tab-separated table, by name.
pub async fn list_apps(database: &DatabaseConfig) -> Result<(), String> {
    let store = open(database).await?;
    let apps = store.apps().await.map_err(|e| e.to_string())?;
    println!("id\tname\tstate\twebhooks\tcreated");
    for a in apps {
        println!(
            "{}\t{}\t{}\t{}\t{}",
            a.id,
            a.name,
            if a.revoked { "revoked" } else { "active" },
            a.webhooks,
            timestamp(a.created_at)
        );
    }
    Ok(())
}

/// `hookwire app revoke`: the application's token stops working; its webhooks stay its own
/// (and keep delivering).
pub async fn revoke_app(name: &str, database: &DatabaseConfig) -> Result<(), String> {
    let store = open(database).await?;
    let name = name.trim();
    match store.revoke_app(name).await.map_err(|e| e.to_string())? {
        Revocation::Revoked => println!("revoked application '{name}'"),
        Revocation::AlreadyRevoked => println!("application '{name}' was already revoked"),
        Revocation::NoSuchApp => return Err(format!("no application named '{name}'")),
    }
    Ok(())
}

/// `hookwire dead-letters list`: a tab-separated table, oldest first.
pub async fn list_dead_letters(
    webhook: Option<i32>,
    limit: i64,
    database: &DatabaseConfig,
) -> Result<(), String> {
    let store = open(database).await?;
    let dead = store
        .dead_letters(webhook, limit)
        .await
        .map_err(|e| e.to_string())?;
    println!("delivery\twebhook\tevent_id\tevent\tattempts\tcreated\treason");
    for d in dead {
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}",
            d.delivery_id,
            d.webhook_id,
            d.event_id,
            d.event_name,
            d.attempts,
            timestamp(d.created_at),
            d.reason.as_deref().unwrap_or("retention window ended")
        );
    }
    Ok(())
}

/// `hookwire dead-letters replay`: queues dead deliveries again (a running server sends them).
pub async fn replay_dead_letters(
    webhook: Option<i32>,
    database: &DatabaseConfig,
) -> Result<(), String> {
    let store = open(database).await?;
    let n = store
        .replay_dead(webhook, now_millis())
        .await
        .map_err(|e| e.to_string())?;
    println!("{n} dead deliveries queued again");
    Ok(())
}

/// `hookwire config example`: a commented configuration file with every option of `serve`.
pub fn print_config_example() -> Result<(), String> {
    print!("{}", crate::config::example());
    Ok(())
}

/// The database of a command other than `serve`: it must exist already (a typo in the URL
/// must not create an empty database).
async fn open(database: &DatabaseConfig) -> Result<Arc<dyn Store>, String> {
    store::open_existing(&database.url)
        .await
        .map_err(|e| e.to_string())
}
