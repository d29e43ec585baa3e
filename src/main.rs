//! The `hookwire` command: `serve`, `user add`, `app add`.

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use hookwire::auth::{MAX_USER_NAME_CHARS, hash_password, random_token, sha256_hex};
use hookwire::config::{DatabaseConfig, ServeConfig};
use hookwire::startup::Application;
use hookwire::store;

#[derive(Parser)]
#[command(
    name = "hookwire",
    version,
    about = "A SuperOffice-compatible webhook agent"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (SOAP endpoints and health) until SIGTERM.
    Serve(ServeConfig),
    /// Manage users (the accounts that log in through SoPrincipal.svc).
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Manage applications (their tokens own webhooks).
    App {
        #[command(subcommand)]
        action: AppAction,
    },
    /// Inspect and replay the dead-letter list (deliveries past the retention window).
    DeadLetters {
        #[command(subcommand)]
        action: DeadLetterAction,
    },
}

#[derive(Subcommand)]
enum DeadLetterAction {
    /// List dead deliveries, oldest first.
    List {
        /// Only this webhook's.
        #[arg(long)]
        webhook: Option<i32>,
        #[arg(long, default_value_t = 100)]
        limit: i64,
        #[command(flatten)]
        database: DatabaseConfig,
    },
    /// Put dead deliveries back in the queue (a running server delivers them).
    Replay {
        /// Only this webhook's.
        #[arg(long)]
        webhook: Option<i32>,
        #[command(flatten)]
        database: DatabaseConfig,
    },
}

#[derive(Subcommand)]
enum UserAction {
    /// Add a user; the password comes from --password / HOOKWIRE_USER_PASSWORD or is generated and printed.
    Add {
        name: String,
        #[arg(long, env = "HOOKWIRE_USER_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        /// Shown as FullName in associates (default: the name).
        #[arg(long)]
        full_name: Option<String>,
        #[command(flatten)]
        database: DatabaseConfig,
    },
}

#[derive(Subcommand)]
enum AppAction {
    /// Register an application and print its token. --token keeps a token your integration
    /// already uses with NetServer; otherwise a random one is generated.
    Add {
        name: String,
        #[arg(long)]
        token: Option<String>,
        #[command(flatten)]
        database: DatabaseConfig,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("HOOKWIRE_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse().command).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("hookwire: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> Result<(), String> {
    match command {
        Command::Serve(config) => {
            let app = Application::build(config.clone())
                .await
                .map_err(|e| e.to_string())?;
            let addr = app.local_addr().map_err(|e| e.to_string())?;
            println!("{}", config.summary(addr));
            app.run_until_stopped().await.map_err(|e| e.to_string())
        }
        Command::User {
            action:
                UserAction::Add {
                    name,
                    password,
                    full_name,
                    database,
                },
        } => {
            let name = name.trim().to_string();
            if name.is_empty() {
                return Err("the user name must not be empty".into());
            }
            if name.chars().count() > MAX_USER_NAME_CHARS {
                return Err(format!(
                    "the user name is longer than {MAX_USER_NAME_CHARS} characters (logins refuse longer ones)"
                ));
            }
            let store = store::open_existing(&database.url)
                .await
                .map_err(|e| e.to_string())?;
            let (password, generated) = match password.filter(|p| !p.is_empty()) {
                Some(p) => (p, false),
                None => (random_token(), true),
            };
            let full_name = full_name.unwrap_or_else(|| name.clone());
            store
                .insert_user(&name, &full_name, &hash_password(password.clone()).await)
                .await
                .map_err(|e| e.to_string())?;
            if generated {
                println!("created user '{name}' with password {password}");
            } else {
                println!("created user '{name}'");
            }
            Ok(())
        }
        Command::DeadLetters {
            action:
                DeadLetterAction::List {
                    webhook,
                    limit,
                    database,
                },
        } => {
            let store = store::open_existing(&database.url)
                .await
                .map_err(|e| e.to_string())?;
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
                    hookwire::delivery::payload::timestamp(d.created_at),
                    d.reason.as_deref().unwrap_or("retention window ended")
                );
            }
            Ok(())
        }
        Command::DeadLetters {
            action: DeadLetterAction::Replay { webhook, database },
        } => {
            let store = store::open_existing(&database.url)
                .await
                .map_err(|e| e.to_string())?;
            let n = store
                .replay_dead(webhook, hookwire::domain::now_millis())
                .await
                .map_err(|e| e.to_string())?;
            println!("{n} dead deliveries queued again");
            Ok(())
        }
        Command::App {
            action:
                AppAction::Add {
                    name,
                    token,
                    database,
                },
        } => {
            let name = name.trim().to_string();
            if name.is_empty() {
                return Err("the application name must not be empty".into());
            }
            let token = token
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .unwrap_or_else(random_token);
            let store = store::open_existing(&database.url)
                .await
                .map_err(|e| e.to_string())?;
            store
                .insert_app(&name, &sha256_hex(&token))
                .await
                .map_err(|e| e.to_string())?;
            println!("{token}");
            Ok(())
        }
    }
}
