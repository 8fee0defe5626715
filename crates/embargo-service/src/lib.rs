//! embargo's services: everything the server does that is not HTTP.
//!
//! Settings (`config`), links, the clock, who sees what (`authz`, over
//! `embargo_core::view`), commands and their effects, intake on every
//! channel, the scheduler and the job worker (`outbox`), release day,
//! the channel pollers and the adapters to GitHub, CVE Services and git.
//! Services return [`error::ServiceError`]; the server maps it to HTTP in
//! one place. Nothing here names axum or an HTTP status of the server.

pub mod accounts;
pub mod authz;
pub mod backup;
pub mod cache;
pub mod channels;
pub mod clock;
pub mod config;
pub mod cve;
pub mod datadir;
pub mod effects;
pub mod error;
pub mod exports;
pub mod forks;
pub mod github;
pub mod health;
pub mod hints;
pub mod intake;
pub mod jobs;
pub mod keys;
pub mod latency;
pub mod links;
pub mod mailer;
pub mod net;
pub mod outbox;
pub mod project_settings;
pub mod release;
pub mod screening;
pub mod timers;

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

/// What every service, handler and background loop shares: the
/// configuration, the keys, the store, the clock and the in-process
/// coordination.
pub struct AppState {
    /// The configuration read at start.
    pub config: Config,
    /// The intake keys (what reporters encrypt to, what still decrypts):
    /// read again when `embargo keys rotate-intake` replaced them, or a
    /// retired one ran out ([`AppState::intake`]).
    intake: std::sync::RwLock<Arc<keys::Intake>>,
    /// The store: the log, its read models and the jobs.
    pub store: embargo_store::Store,
    /// The only reader of the time.
    pub clock: Clock,
    /// The address actually bound (the default public URL).
    pub local_addr: SocketAddr,
    /// HTTP request latency, for `/metrics` (the server observes it).
    pub latency: latency::Latency,
    /// Folded cases by version (bounded).
    pub cases: cache::Cases,
    /// The read model's policy from this configuration (deadlines, timers).
    pub policy: Arc<timers::Deployment>,
    /// When the scheduler last ran (unix seconds by the `Clock`), for `/metrics`.
    pub scheduler_tick: std::sync::atomic::AtomicI64,
    /// How long the scheduler's last pass took (microseconds), for `/metrics`.
    pub scheduler_micros: std::sync::atomic::AtomicU64,
    /// The background loops' heartbeats (`/healthz`, `/readyz`).
    pub beats: health::Beats,
    /// Where built-in private forks live (`<data dir>/forks`).
    pub forks_dir: PathBuf,
    /// The data directory (scheduled backups read it).
    pub data_dir: PathBuf,
    /// Until when (unix seconds by the `Clock`) this process holds the
    /// scheduler's lease, as it last took it; 0 when it does not.
    pub scheduler_lease_until: std::sync::atomic::AtomicI64,
    /// One lock per channel in this process (across servers, a lease).
    pub channel_locks: channels::Locks,
    /// This process as it holds leases (jobs, the scheduler, a channel's
    /// check): unique per start, so that two servers never pass for one.
    pub worker: String,
    /// One scheduler-and-worker pass at a time: the background loop's and
    /// a [`Pump`]'s never run a job twice over.
    pub pass: tokio::sync::Mutex<()>,
    /// The same for the long lane (CI runs).
    pub long_pass: tokio::sync::Mutex<()>,
    /// Rate keys this process saw over their limit, and until when.
    pub over: accounts::Over,
    /// The second each passive channel kind last had its activity
    /// recorded by this process: once a second is enough for the
    /// inventory, and spares a write transaction per report.
    pub channel_seen: std::sync::Mutex<std::collections::HashMap<&'static str, i64>>,
    /// Mail out as the team's address: one pool of SMTP connections for
    /// every message this process sends ([`mailer::Mailer::of`]).
    pub mail_out: embargo_mail::outbound::Sender,
}

/// A name for this process among the servers of a deployment: its process
/// id and 64 random bits.
fn worker_id() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("embargo-{}-{}", std::process::id(), hex::encode(bytes))
}

impl AppState {
    /// The intake keys as they are now.
    pub fn intake(&self) -> Arc<keys::Intake> {
        match self.intake.read() {
            Ok(k) => k.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Reads the intake keys again if their files changed (a rotation by
    /// this server or by `embargo keys rotate-intake`) or a retired key
    /// ran out. Two `stat` calls when nothing changed.
    pub fn refresh_intake(&self) {
        let now = self.clock.now();
        if !self.intake().stale(&self.data_dir, now) {
            return;
        }
        match keys::reload_intake(&self.data_dir, &self.config, now) {
            Ok(fresh) => {
                tracing::info!(fingerprint = %fresh.fingerprint, retired = fresh.retired.len(), "intake keys read again");
                match self.intake.write() {
                    Ok(mut k) => *k = Arc::new(fresh),
                    Err(poisoned) => *poisoned.into_inner() = Arc::new(fresh),
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "the intake keys cannot be read again; the ones in use stay")
            }
        }
    }

    /// The state of a server on `local_addr` over the prepared data
    /// directory `data_dir`: the read model's policy set (a changed one
    /// recomputes deadlines and timers once, here), and on the first start
    /// the first admin's invitation.
    pub async fn start(
        prepared: datadir::Prepared,
        clock: Clock,
        local_addr: SocketAddr,
        data_dir: &std::path::Path,
    ) -> Result<(Arc<Self>, Option<FirstStart>), ServerError> {
        let prenotify = project_settings::saved_prenotify(&prepared.store).await?;
        let policy = Arc::new(timers::Deployment::new(prepared.config.clone(), prenotify));
        let intake =
            keys::load_intake(data_dir, &prepared.config, prepared.intake_key, clock.now())?;
        let mail_out = embargo_mail::outbound::Sender::new(
            prepared.config.smtp.clone(),
            prepared.config.intake.address.clone(),
        );
        let state = Arc::new(AppState {
            mail_out,
            config: prepared.config,
            intake: std::sync::RwLock::new(Arc::new(intake)),
            latency: latency::Latency::default(),
            cases: cache::Cases::default(),
            policy: policy.clone(),
            scheduler_tick: std::sync::atomic::AtomicI64::new(0),
            scheduler_micros: std::sync::atomic::AtomicU64::new(0),
            beats: health::Beats::default(),
            forks_dir: data_dir.join("forks"),
            data_dir: data_dir.to_owned(),
            worker: worker_id(),
            scheduler_lease_until: std::sync::atomic::AtomicI64::new(0),
            channel_locks: channels::Locks::default(),
            pass: tokio::sync::Mutex::new(()),
            long_pass: tokio::sync::Mutex::new(()),
            over: accounts::Over::default(),
            channel_seen: std::sync::Mutex::default(),
            store: prepared.store,
            clock,
            local_addr,
        });
        let recomputed = state.store.set_policy(state.policy.clone()).await?;
        if recomputed > 0 {
            tracing::info!(
                cases = recomputed,
                "deadlines and timers computed under the configured policy"
            );
        }
        let first_start = match prepared.first_admin_token {
            Some(admin_token) => {
                let admin =
                    embargo_core::PersonId::new("admin").map_err(|e| ServerError::DataDir {
                        dir: data_dir.to_owned(),
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
                    dir: data_dir.to_owned(),
                    problem: format!("cannot create the first admin: {e:?}"),
                })?;
                Some(FirstStart {
                    admin_token,
                    admin_invitation: invitation.url,
                })
            }
            None => None,
        };
        Ok((state, first_start))
    }
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
pub struct Pump(pub Arc<AppState>);

/// What one [`Pump::run`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pumped {
    /// Case timers looked at.
    pub timers: usize,
    /// Jobs attempted (done or failed).
    pub jobs: usize,
    /// Cases whose duplicate hints were worked out.
    pub hints: usize,
}

impl Pump {
    /// Runs until a pass finds nothing due (at most 1,000 passes, so a job
    /// that enqueues itself forever cannot hang the caller).
    pub async fn run(&self) -> Result<Pumped, ServerError> {
        let mut total = Pumped::default();
        for _ in 0..1_000 {
            self.0.refresh_intake();
            let _pass = self.0.pass.lock().await;
            let (timers, hints) = if outbox::scheduler_lease(&self.0).await? {
                (
                    outbox::schedule(&self.0).await?,
                    hints::pass(&self.0).await?,
                )
            } else {
                (0, 0)
            };
            let mut jobs = outbox::work(&self.0).await?;
            {
                let _long = self.0.long_pass.lock().await;
                jobs += outbox::work_long(&self.0).await?;
            }
            total.timers += timers;
            total.jobs += jobs;
            total.hints += hints;
            if timers == 0 && jobs == 0 && hints == 0 {
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
