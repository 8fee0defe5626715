//! The embargo server: the only crate that knows HTTP.
//!
//! `serve` prepares the data directory on first start (database, commented
//! configuration, intake key, admin API token) and serves the public
//! endpoints. The `Clock` here is the only reader of the system time.

mod api;
mod clock;
pub mod config;
mod datadir;
mod router;

use std::{net::SocketAddr, path::PathBuf, sync::Arc};

pub use clock::Clock;
pub use config::Config;

/// Errors that stop the server, with messages for the operator.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The data directory is missing pieces or unreadable.
    #[error("data directory {dir}: {problem}")]
    DataDir {
        /// Which directory.
        dir: PathBuf,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// The configuration file is invalid.
    #[error("configuration {path}: {problem}")]
    Config {
        /// Which file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] embargo_store::StoreError),
    /// The address could not be bound or served.
    #[error("cannot serve on {addr}: {problem}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        problem: String,
    },
}

/// What `embargo serve` was asked.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The data directory.
    pub data_dir: PathBuf,
    /// Overrides the configured bind address.
    pub bind: Option<SocketAddr>,
}

/// State shared by handlers.
pub(crate) struct AppState {
    pub config: Config,
    pub public_key: String,
    pub fingerprint: String,
    pub store: embargo_store::Store,
    pub clock: Clock,
    /// The address actually bound (the default public URL).
    pub local_addr: SocketAddr,
}

/// Prepares the data directory, then serves until Ctrl-C. `announce` receives
/// lines for the operator (the URL, and on first start the admin token).
pub async fn serve(
    options: ServeOptions,
    clock: Clock,
    announce: impl Fn(&str),
) -> Result<(), ServerError> {
    let prepared = datadir::prepare(&options.data_dir, &clock).await?;
    let bind = options.bind.unwrap_or(prepared.config.server.bind);
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| ServerError::Bind {
            addr: bind,
            problem: e.to_string(),
        })?;
    let addr = listener.local_addr().map_err(|e| ServerError::Bind {
        addr: bind,
        problem: e.to_string(),
    })?;
    announce(&format!("embargo is serving on http://{addr}"));
    if let Some(token) = &prepared.first_token {
        announce(&format!(
            "first start: created {}. Admin API token (shown once, stored only as a hash):\n  {token}",
            options.data_dir.display()
        ));
    }
    let state = Arc::new(AppState {
        config: prepared.config,
        public_key: prepared.public_key,
        fingerprint: prepared.fingerprint,
        store: prepared.store,
        clock,
        local_addr: addr,
    });
    axum::serve(listener, router::router(state))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| ServerError::Bind {
            addr,
            problem: e.to_string(),
        })
}
