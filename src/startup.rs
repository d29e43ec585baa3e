//! Building and running the server: store, agent, router, listener, graceful shutdown.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;

use tokio_util::sync::CancellationToken;

use crate::agent::{AgentSettings, WebhookAgent};
use crate::auth::{Auth, InitialPassword};
use crate::body_deadline::{BodyLayer, BodyProblem};
use crate::config::ServeConfig;
use crate::delivery::sender::{Sender, SenderSettings};
use crate::delivery::ssrf::TargetPolicy;
use crate::delivery::{Dispatcher, Wakeup};
use crate::domain::alerts::asks_for_email;
use crate::notify::{Mailer, Notifier};
use crate::state::AppState;
use crate::store::{self, ServeLock, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot build the delivery HTTP client: {0}")]
    HttpClient(#[from] reqwest::Error),
    #[error("{0}")]
    Mail(String),
    #[error("cannot listen on {addr}: {source} (choose another address with --listen)")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// A built server, bound to its port, not yet serving.
pub struct Application {
    listener: TcpListener,
    router: Router,
    /// None on an API-only node (`--no-dispatcher`).
    dispatcher: Option<Dispatcher>,
    /// Sends alert e-mails; None without `--smtp-url`.
    notifier: Option<Notifier>,
    /// Cancelled on SIGTERM: stops the dispatcher's claims and its retry waits.
    shutdown: CancellationToken,
    /// This process's claim on its SQLite file, held until it stops (None on PostgreSQL).
    serve_lock: Option<ServeLock>,
}

impl Application {
    pub async fn build(config: ServeConfig) -> Result<Application, StartupError> {
        // Listener, then lock, then database: a start that cannot listen, or finds its SQLite
        // file taken, leaves no database and prints no admin password.
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| StartupError::Listen {
                    addr: config.listen,
                    source,
                })?;
        let serve_lock = store::lock_for_serving(&config.database.url)?;
        let mailer = config
            .mail_settings()
            .and_then(|m| {
                m.map(|m| Mailer::new(&m).map(|mailer| (mailer, m.timeout)))
                    .transpose()
            })
            .map_err(StartupError::Mail)?;
        crate::observe::install();
        let store =
            store::open_with_secrets(&config.database.url, config.secret_key_file.as_deref())
                .await?;
        ensure_admin(store.as_ref(), config.admin_password.clone()).await?;
        let delivers = !config.no_dispatcher;
        if delivers {
            let recovered = store.recover_leases().await?;
            if recovered > 0 {
                tracing::warn!(recovered, "released leases left by a previous process");
            }
        }
        let auth = Auth::new(store.clone(), config.ticket_ttl(), config.online);
        let settings = config.delivery_settings();
        let settings_limit = settings.failures_to_disable;
        let sender = Sender::new(SenderSettings {
            timeout: settings.attempt_timeout,
            standard_webhooks: !config.no_standard_webhooks,
            policy: std::sync::Arc::new(TargetPolicy {
                allow: config.allow_targets.clone(),
            }),
        })?;
        let wakeup = Wakeup::default();
        let shutdown = CancellationToken::new();
        let agent = WebhookAgent::new(
            store.clone(),
            auth,
            AgentSettings {
                allow_http_targets: config.allow_http_targets,
                save_ping: !config.no_save_ping,
                context_identifier: config.context_identifier.clone(),
                secret_grace: config.secret_grace(),
            },
            sender.clone(),
            wakeup.clone(),
        );
        let dispatcher = if delivers {
            // Other nodes' commits wake this dispatcher too (PostgreSQL LISTEN/NOTIFY).
            store.watch_for_work(wakeup.notifier()).await?;
            Some(Dispatcher::new(
                store.clone(),
                sender,
                settings,
                wakeup,
                shutdown.clone(),
            ))
        } else {
            None
        };
        let notifier = match mailer {
            Some((mailer, timeout)) => Some(Notifier::new(
                store.clone(),
                mailer,
                timeout,
                shutdown.clone(),
            )),
            None => {
                warn_if_email_wanted(store.as_ref()).await?;
                None
            }
        };
        let state = AppState {
            agent,
            store,
            max_body_bytes: config.max_body_bytes,
            failures_to_disable: settings_limit,
        };
        // How a request is routed: `run_until_stopped` first rewrites its path to the canonical
        // form (`rest::canonical_path`: case and tenant prefix); the body deadline layer reads
        // the body; then /health and /metrics, then the REST routes, and every other path falls
        // back to SOAP (`fallback`: `.svc` endpoints and WSDLs, or the JSON/SOAP 404).
        let router = Router::new()
            .route("/health", get(health))
            .route("/metrics", get(crate::observe::metrics));
        let router = if config.no_api {
            router
        } else {
            router
                .merge(crate::rest::router(config.max_body_bytes))
                .merge(crate::admin::router(config.max_body_bytes))
                .fallback(fallback)
        };
        let router = router
            .layer(axum::middleware::from_fn_with_state(
                BodyLayer {
                    rules: config.body_rules(),
                    refusal: refuse_body,
                },
                crate::body_deadline::read_body,
            ))
            .layer(axum::middleware::from_fn(crate::observe::count_request))
            .with_state(state);
        Ok(Application {
            listener,
            router,
            dispatcher,
            notifier,
            shutdown,
            serve_lock,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until SIGTERM or Ctrl-C; then stops intake, lets requests and delivery attempts
    /// in flight finish (bounded), gives back unfinished leases, and returns.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let serve_lock = self.serve_lock;
        let dispatcher = self.dispatcher.map(|d| tokio::spawn(d.run()));
        let notifier = self.notifier.map(|n| tokio::spawn(n.run()));
        let shutdown = self.shutdown.clone();
        let app = tower::ServiceExt::<axum::extract::Request>::map_request(
            self.router,
            crate::rest::canonical_path,
        );
        // With each connection's peer address, which throttles failed logins (src/auth).
        let app = axum::ServiceExt::into_make_service_with_connect_info::<SocketAddr>(app);
        let served = axum::serve(self.listener, app)
            .with_graceful_shutdown(async move {
                shutdown_signal().await;
                shutdown.cancel();
            })
            .await;
        self.shutdown.cancel();
        if let Some(task) = dispatcher
            && let Err(e) = task.await
        {
            tracing::error!(error = %e, "the dispatcher task failed");
        }
        if let Some(task) = notifier
            && let Err(e) = task.await
        {
            tracing::error!(error = %e, "the notifier task failed");
        }
        // Held until the server has stopped serving and delivering.
        drop(serve_lock);
        served
    }
}

/// Paths no route matched: REST answers its JSON 404, everything else is SOAP's (which matches
/// `.svc` paths case-insensitively itself).
async fn fallback(state: State<AppState>, request: axum::extract::Request) -> Response {
    if crate::rest::is_rest_path(request.uri().path()) {
        crate::rest::not_found(request).await
    } else {
        crate::soap::handle(state, request).await
    }
}

/// A body the deadline layer refused, answered as the path's adapter answers errors: REST's
/// JSON error, or a SOAP fault for everything else (as `fallback` routes).
fn refuse_body(parts: &Parts, problem: &BodyProblem) -> Response {
    if crate::rest::is_rest_path(parts.uri.path()) {
        crate::rest::body_error(problem)
    } else {
        crate::soap::body_fault(&parts.headers, problem)
    }
}

/// Without SMTP, one warning at start when some webhook asks for e-mail: its alerts' mails
/// wait, pending, until a start with `--smtp-url` sends them.
async fn warn_if_email_wanted(store: &dyn Store) -> Result<(), StoreError> {
    let asking: Vec<i32> = store
        .webhooks()
        .await?
        .iter()
        .filter(|w| {
            asks_for_email(
                w.notify_via,
                w.notify_when,
                &w.error_emails,
                &w.error_associates,
                w.errors_email.as_deref(),
            )
        })
        .map(|w| w.id)
        .collect();
    if let Some(first) = asking.first() {
        tracing::warn!(
            webhooks = asking.len(),
            first_webhook_id = first,
            "webhooks ask for alert e-mails but no --smtp-url is set: their mails wait until one is"
        );
    }
    Ok(())
}

/// Creates user `admin` on an empty database: with `password`, or a random one printed once.
async fn ensure_admin(store: &dyn Store, password: Option<String>) -> Result<(), StoreError> {
    if store.user_count().await? > 0 {
        return Ok(());
    }
    let password = InitialPassword::choose(password);
    store
        .insert_user("admin", "Administrator", &password.hash().await)
        .await?;
    match password.generated() {
        Some(generated) => {
            println!("created user 'admin' with password {generated} (shown only this once)")
        }
        None => println!("created user 'admin' with the password from HOOKWIRE_ADMIN_PASSWORD"),
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown requested: finishing in-flight requests");
}

/// 200 once the database answers.
async fn health(State(state): State<AppState>) -> Response {
    match state.store.user_count().await {
        Ok(_) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"status":"ok"}"#,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, "application/json")],
                r#"{"status":"unavailable","reason":"database"}"#,
            )
                .into_response()
        }
    }
}
