//! The `hookwire` command: its arguments and which command of `hookwire::cli` they run.

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use hookwire::cli;
use hookwire::config::{DatabaseConfig, ServeConfig};

#[derive(Parser)]
#[command(
    name = "hookwire",
    version,
    about = "A SuperOffice-compatible webhook agent"
)]
struct Cli {
    /// Log lines as text or as one JSON object per line (filter them with HOOKWIRE_LOG).
    #[arg(
        long,
        global = true,
        env = "HOOKWIRE_LOG_FORMAT",
        value_enum,
        default_value_t
    )]
    log_format: cli::LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (SOAP endpoints and health) until SIGTERM.
    Serve(Box<ServeConfig>),
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
    /// Inspect and manage webhooks (beside a running server on the same database).
    Webhook {
        #[command(subcommand)]
        action: WebhookAction,
    },
    /// The delivery log: a webhook's deliveries, Retry, Recover, the dead-letter list.
    Deliveries {
        #[command(subcommand)]
        action: DeliveriesAction,
    },
    /// The old name of `deliveries dead-letters` and `deliveries replay`.
    #[command(hide = true)]
    DeadLetters {
        #[command(subcommand)]
        action: DeadLetterAction,
    },
    /// The configuration file of `serve` (`serve --config FILE`).
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
}

#[derive(Subcommand)]
enum ConfigAction {
    /// Print a commented configuration file with every option of `serve` and its default.
    Example,
}

/// The database of a webhook command, and the key that opens its webhooks' Secrets.
#[derive(clap::Args)]
struct WebhookDatabase {
    #[command(flatten)]
    database: DatabaseConfig,
    /// The server's secret key file (`serve --secret-key-file`; on SQLite, by default the
    /// database file's name with `.key` added).
    #[arg(long, env = "HOOKWIRE_SECRET_KEY_FILE")]
    secret_key_file: Option<std::path::PathBuf>,
}

#[derive(Subcommand)]
enum WebhookAction {
    /// List the webhooks: id, name, state, target, events and usage counters.
    List {
        #[command(flatten)]
        db: WebhookDatabase,
    },
    /// Show every field of one webhook, with its counters and LastError.
    Show {
        id: i32,
        #[command(flatten)]
        db: WebhookDatabase,
    },
    /// Stop a webhook (its events are no longer queued; queued deliveries are kept).
    Stop {
        id: i32,
        #[command(flatten)]
        db: WebhookDatabase,
    },
    /// Make a webhook Active again (as SaveWebhook with State Active: counters reset, parked
    /// deliveries sent now).
    Restart {
        id: i32,
        #[command(flatten)]
        db: WebhookDatabase,
    },
    /// Set a webhook's DeliveryOrder: any (several deliveries at once, the default) or
    /// per-record (a record's events one at a time, in the order they were accepted).
    Order {
        id: i32,
        #[arg(value_enum)]
        order: cli::OrderChoice,
        #[command(flatten)]
        db: WebhookDatabase,
    },
    /// Delete a webhook and its undelivered events.
    Delete {
        id: i32,
        #[command(flatten)]
        db: WebhookDatabase,
    },
}

#[derive(Subcommand)]
enum DeliveriesAction {
    /// A webhook's deliveries, newest first, a page at a time (tab-separated, or CSV).
    List {
        #[arg(long)]
        webhook: i32,
        /// pending, waiting, retrying, delivered, parked or dead.
        #[arg(long)]
        status: Option<String>,
        /// Only deliveries of this event.
        #[arg(long)]
        event: Option<String>,
        /// Created at or after (ISO 8601).
        #[arg(long)]
        from: Option<String>,
        /// Created at or before (ISO 8601).
        #[arg(long)]
        to: Option<String>,
        /// Deliveries per page, 1 to 1000.
        #[arg(long, default_value_t = 100)]
        limit: i64,
        /// The next page: the cursor the previous one printed.
        #[arg(long)]
        cursor: Option<String>,
        /// CSV with a header line, as REST exports it.
        #[arg(long)]
        csv: bool,
        #[command(flatten)]
        db: WebhookDatabase,
    },
    /// Queue one delivery for a manual attempt now, whatever its state (the running server
    /// sends it; a parked one once its webhook is restarted). Counts towards nothing.
    Retry {
        /// The delivery's id (`deliveries list`).
        id: i64,
        #[command(flatten)]
        db: WebhookDatabase,
    },
    /// Set a queued delivery aside on the dead-letter list, unsent, so the next delivery of
    /// its record may go (DeliveryOrder per-record). Counts towards nothing.
    Discard {
        /// The delivery's webhook.
        #[arg(long)]
        webhook: i32,
        /// The delivery's id (`deliveries list`).
        id: i64,
        #[command(flatten)]
        db: WebhookDatabase,
    },
    /// Queue again every undelivered delivery of a webhook created in a time window, dead
    /// letters included. Counts towards nothing.
    Recover {
        #[arg(long)]
        webhook: i32,
        /// Start of the window (ISO 8601).
        #[arg(long)]
        since: String,
        /// End of the window (ISO 8601; default now).
        #[arg(long)]
        until: Option<String>,
        #[command(flatten)]
        db: WebhookDatabase,
    },
    /// List dead deliveries, oldest first, of every webhook or one.
    DeadLetters {
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
        /// E-mail address: alerts of webhooks naming this user in ErrorAssociates go there.
        #[arg(long)]
        email: Option<String>,
        #[command(flatten)]
        database: DatabaseConfig,
    },
    /// List the users.
    List {
        #[command(flatten)]
        database: DatabaseConfig,
    },
    /// Set a user's password (from --password / HOOKWIRE_USER_PASSWORD, or generated and
    /// printed); the user's tickets end.
    Passwd {
        name: String,
        #[arg(long, env = "HOOKWIRE_USER_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        #[command(flatten)]
        database: DatabaseConfig,
    },
    /// Remove a user and end its tickets (webhooks it registered stay).
    Remove {
        name: String,
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
    /// List the applications, whether revoked, and how many webhooks each owns.
    List {
        #[command(flatten)]
        database: DatabaseConfig,
    },
    /// Revoke an application: its token stops working (its webhooks stay its own).
    Revoke {
        name: String,
        #[command(flatten)]
        database: DatabaseConfig,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let outcome = match parse_command_line() {
        Ok(cli) => {
            cli::init_logging(cli.log_format);
            run(cli.command).await
        }
        Err(message) => Err(message),
    };
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("hookwire: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The command line; `serve --config FILE` makes the file's values the defaults of the
/// options it sets (flags and environment variables still win).
fn parse_command_line() -> Result<Cli, String> {
    let matches = hookwire::config::parse_command_line(Cli::command())?;
    Cli::from_arg_matches(&matches).map_err(|e| e.to_string())
}

async fn run(command: Command) -> Result<(), String> {
    match command {
        Command::Serve(config) => cli::serve(*config).await,
        Command::User {
            action:
                UserAction::Add {
                    name,
                    password,
                    full_name,
                    email,
                    database,
                },
        } => cli::add_user(&name, password, full_name, email, &database).await,
        Command::User {
            action: UserAction::List { database },
        } => cli::list_users(&database).await,
        Command::User {
            action:
                UserAction::Passwd {
                    name,
                    password,
                    database,
                },
        } => cli::set_password(&name, password, &database).await,
        Command::User {
            action: UserAction::Remove { name, database },
        } => cli::remove_user(&name, &database).await,
        Command::App {
            action:
                AppAction::Add {
                    name,
                    token,
                    database,
                },
        } => cli::add_app(&name, token, &database).await,
        Command::App {
            action: AppAction::List { database },
        } => cli::list_apps(&database).await,
        Command::App {
            action: AppAction::Revoke { name, database },
        } => cli::revoke_app(&name, &database).await,
        Command::DeadLetters {
            action:
                DeadLetterAction::List {
                    webhook,
                    limit,
                    database,
                },
        } => cli::list_dead_letters(webhook, limit, &database).await,
        Command::DeadLetters {
            action: DeadLetterAction::Replay { webhook, database },
        } => cli::replay_dead_letters(webhook, &database).await,
        Command::Webhook { action } => run_webhook(action).await,
        Command::Deliveries { action } => run_deliveries(action).await,
        Command::Config {
            action: ConfigAction::Example,
        } => cli::print_config_example(),
    }
}

async fn run_deliveries(action: DeliveriesAction) -> Result<(), String> {
    match action {
        DeliveriesAction::List {
            webhook,
            status,
            event,
            from,
            to,
            limit,
            cursor,
            csv,
            db,
        } => {
            let filter = cli::DeliveryFilter {
                status,
                event,
                from,
                to,
                limit: Some(limit.to_string()),
                cursor,
            };
            let key_file = db.secret_key_file.as_deref();
            cli::list_deliveries(webhook, filter, csv, &db.database, key_file).await
        }
        DeliveriesAction::Retry { id, db } => {
            cli::retry_delivery(id, &db.database, db.secret_key_file.as_deref()).await
        }
        DeliveriesAction::Discard { webhook, id, db } => {
            let key_file = db.secret_key_file.as_deref();
            cli::discard_delivery(webhook, id, &db.database, key_file).await
        }
        DeliveriesAction::Recover {
            webhook,
            since,
            until,
            db,
        } => {
            let window = cli::RecoverWindow {
                since: Some(since),
                until,
            };
            let key_file = db.secret_key_file.as_deref();
            cli::recover_deliveries(webhook, window, &db.database, key_file).await
        }
        DeliveriesAction::DeadLetters {
            webhook,
            limit,
            database,
        } => cli::list_dead_letters(webhook, limit, &database).await,
        DeliveriesAction::Replay { webhook, database } => {
            cli::replay_dead_letters(webhook, &database).await
        }
    }
}

async fn run_webhook(action: WebhookAction) -> Result<(), String> {
    use cli::WebhookChange;
    let (id, change, db) = match action {
        WebhookAction::List { db } => {
            return cli::list_webhooks(&db.database, db.secret_key_file.as_deref()).await;
        }
        WebhookAction::Show { id, db } => {
            return cli::show_webhook(id, &db.database, db.secret_key_file.as_deref()).await;
        }
        WebhookAction::Stop { id, db } => (id, WebhookChange::Stop, db),
        WebhookAction::Restart { id, db } => (id, WebhookChange::Restart, db),
        WebhookAction::Order { id, order, db } => (id, WebhookChange::Order(order.into()), db),
        WebhookAction::Delete { id, db } => (id, WebhookChange::Delete, db),
    };
    cli::change_webhook(id, change, &db.database, db.secret_key_file.as_deref()).await
}
