//! The embargo server: the only crate that knows HTTP.
//!
//! `bind` prepares the data directory on first start (database, commented
//! configuration, intake key, the first admin's invitation and API token)
//! and binds the listener; `Bound::run` serves the JSON API and the web UI.
//! The `Clock` here is the only reader of the system time.

mod accounts;
mod api;
mod authz;
mod cache;
mod calendar;
mod channels;
mod clock;
pub mod config;
mod cve;
mod datadir;
mod error;
mod exports;
mod forks;
mod git;
mod github;
mod intake;
mod links;
mod mailer;
mod metrics;
mod outbox;
mod release;
mod router;
mod timers;
mod web;

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
    /// Opens what reporters encrypt to the team.
    pub intake_key: embargo_pgp::IntakeKey,
    pub store: embargo_store::Store,
    pub clock: Clock,
    /// The address actually bound (the default public URL).
    pub local_addr: SocketAddr,
    /// Sign-in attempts per source address.
    pub signin_sources: accounts::SourceLimiter,
    /// Web form submissions per source address.
    pub submission_sources: accounts::SourceLimiter,
    /// One lock per channel: a mailbox is polled by one check at a time.
    pub channel_locks: channels::Locks,
    /// HTTP request latency, for `/metrics`.
    pub latency: metrics::Latency,
    /// Folded cases by version (bounded).
    pub cases: cache::Cases,
    /// The read model's policy from this configuration (deadlines, timers).
    pub(crate) policy: Arc<timers::Deployment>,
    /// When the scheduler last ran (unix seconds by the `Clock`), for `/metrics`.
    pub scheduler_tick: std::sync::atomic::AtomicI64,
    /// How long the scheduler's last pass took (microseconds), for `/metrics`.
    pub scheduler_micros: std::sync::atomic::AtomicU64,
    /// Where built-in private forks live (`<data dir>/forks`).
    pub forks_dir: PathBuf,
    /// One scheduler-and-worker pass at a time: the background loop's and
    /// a [`Pump`]'s never run a job twice over.
    pub pass: tokio::sync::Mutex<()>,
    /// The same for the long lane (CI runs).
    pub long_pass: tokio::sync::Mutex<()>,
}

/// What the first start created, shown to the operator once.
pub struct FirstStart {
    /// The admin's API token (stored only as a hash).
    pub admin_token: String,
    /// The one-time link where the admin sets a password and a second factor.
    pub admin_invitation: String,
}

impl std::fmt::Debug for FirstStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FirstStart { .. }")
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A server bound to its address, ready to run.
pub struct Bound {
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    /// Set on the first start of a new data directory.
    pub first_start: Option<FirstStart>,
}

impl Bound {
    /// The address bound.
    pub fn addr(&self) -> SocketAddr {
        self.state.local_addr
    }

    /// A handle that runs what is due now to the end, for tests that drive
    /// a manual clock (see [`Pump`]).
    pub fn pump(&self) -> Pump {
        Pump(self.state.clone())
    }

    /// Serves until `shutdown` completes.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let addr = self.state.local_addr;
        // The background loops end with the server, also when its task is
        // dropped mid-flight (as a kill would end them).
        let _poller = AbortOnDrop(tokio::spawn(channels::run_poller(self.state.clone())));
        let _scheduler = AbortOnDrop(tokio::spawn(outbox::run(self.state.clone())));
        let _long = AbortOnDrop(tokio::spawn(outbox::run_long(self.state.clone())));
        axum::serve(
            self.listener,
            router::router(self.state).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| ServerError::Bind {
            addr,
            problem: e.to_string(),
        })
    }
}

/// Runs the scheduler and the outbox worker until nothing is due at the
/// `Clock`'s time: timers that are due are looked at, the jobs they enqueue
/// are done, and the jobs those enqueue (a notice's fan-out to each person),
/// pass after pass, as the background loop would over several seconds.
/// A test that advances a manual clock calls it instead of sleeping; when
/// it returns, what is due has happened, and what has not happened is not
/// due. It takes the background loops' locks, so no job runs twice; it
/// runs the long lane's jobs (CI) too. A channel's poll is not its
/// business.
#[derive(Clone)]
pub struct Pump(Arc<AppState>);

/// What one [`Pump::run`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pumped {
    /// Case timers looked at.
    pub timers: usize,
    /// Jobs attempted (done or failed).
    pub jobs: usize,
}

impl Pump {
    /// Runs until a pass finds nothing due (at most 1,000 passes, so a job
    /// that enqueues itself forever cannot hang the caller).
    pub async fn run(&self) -> Result<Pumped, ServerError> {
        let mut total = Pumped::default();
        for _ in 0..1_000 {
            let _pass = self.0.pass.lock().await;
            let timers = outbox::schedule(&self.0).await?;
            let mut jobs = outbox::work(&self.0).await?;
            {
                let _long = self.0.long_pass.lock().await;
                jobs += outbox::work_long(&self.0).await?;
            }
            total.timers += timers;
            total.jobs += jobs;
            if timers == 0 && jobs == 0 {
                break;
            }
        }
        Ok(total)
    }
}

/// The form an API token is stored in (its SHA-256, hex), for tools that
/// issue tokens straight into a data directory (the CLI's tests).
pub fn api_token_hash(token: &str) -> String {
    datadir::token_hash(token)
}

/// Makes rustls with the ring provider (pure Rust and assembly, no C
/// toolchain) the process's TLS for every HTTP client (reqwest asks for a
/// process-wide provider). Call it once at start; later calls do nothing.
pub fn install_tls_provider() {
    let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
}

/// Prepares the data directory and binds the listener.
pub async fn bind(options: ServeOptions, clock: Clock) -> Result<Bound, ServerError> {
    install_tls_provider();
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
    web::Pages::check().map_err(|e| ServerError::Bind {
        addr,
        problem: format!("page templates: {e}"),
    })?;
    let policy = Arc::new(timers::Deployment {
        config: prepared.config.clone(),
    });
    let state = Arc::new(AppState {
        config: prepared.config,
        public_key: prepared.public_key,
        fingerprint: prepared.fingerprint,
        intake_key: prepared.intake_key,
        submission_sources: accounts::SourceLimiter::default(),
        channel_locks: channels::Locks::default(),
        latency: metrics::Latency::default(),
        cases: cache::Cases::default(),
        policy: policy.clone(),
        scheduler_tick: std::sync::atomic::AtomicI64::new(0),
        scheduler_micros: std::sync::atomic::AtomicU64::new(0),
        forks_dir: options.data_dir.join("forks"),
        pass: tokio::sync::Mutex::new(()),
        long_pass: tokio::sync::Mutex::new(()),
        store: prepared.store,
        clock,
        local_addr: addr,
        signin_sources: accounts::SourceLimiter::default(),
    });
    // The read model's deadlines and timers follow this configuration; a
    // changed one recomputes them once, here.
    let recomputed = state.store.set_policy(state.policy.clone()).await?;
    if recomputed > 0 {
        tracing::info!(
            cases = recomputed,
            "deadlines and timers computed under the configured policy"
        );
    }
    let first_start = match prepared.first_admin_token {
        Some(admin_token) => {
            let admin = embargo_core::PersonId::new("admin").map_err(|e| ServerError::DataDir {
                dir: options.data_dir.clone(),
                problem: e.0,
            })?;
            let invitation = accounts::invite(
                &state,
                &admin,
                &admin,
                "Administrator",
                "admin@localhost",
                embargo_core::access::OrgRole::Admin,
            )
            .await
            .map_err(|e| ServerError::DataDir {
                dir: options.data_dir.clone(),
                problem: format!("cannot create the first admin: {e:?}"),
            })?;
            Some(FirstStart {
                admin_token,
                admin_invitation: invitation.url,
            })
        }
        None => None,
    };
    Ok(Bound {
        listener,
        state,
        first_start,
    })
}

/// Prepares the data directory, then serves until Ctrl-C. `announce` receives
/// lines for the operator (the URL, and on first start the admin's links).
pub async fn serve(
    options: ServeOptions,
    clock: Clock,
    announce: impl Fn(&str),
) -> Result<(), ServerError> {
    let data_dir = options.data_dir.clone();
    let bound = bind(options, clock).await?;
    announce(&format!("embargo is serving on http://{}", bound.addr()));
    if let Some(first) = &bound.first_start {
        announce(&format!(
            "first start: created {}.\n  Admin sign-up link (one use): {}\n  Admin API token (shown once, stored only as a hash):\n  {}",
            data_dir.display(),
            first.admin_invitation,
            first.admin_token
        ));
    }
    bound
        .run(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}
