//! The embargo server: the only crate that knows HTTP.
//!
//! `bind` prepares the data directory on first start (database, commented
//! configuration, intake key, the first admin's invitation and API token)
//! and binds the listener; `Bound::run` serves the JSON API and the web UI
//! over the services of `embargo_service`, whose errors it maps to HTTP
//! (`failure::Failure`, `web::WebError`).

mod api;
mod calendar;
mod extract;
mod failure;
mod git;
mod metrics;
mod router;
mod web;

use std::{net::SocketAddr, path::PathBuf, sync::Arc};

// The services, by the names the handlers use.
use embargo_service::{
    AppState, accounts, authz, channels, error, exports, forks, hints, intake, links, outbox,
    project_settings, release, screening, timers,
};
pub use embargo_service::{
    Clock, Config, FirstStart, Pump, Pumped, ServerError, api_token_hash, backup, config, datadir,
    install_tls_provider, keys,
};

/// What `embargo serve` was asked.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The data directory.
    pub data_dir: PathBuf,
    /// Overrides the configured bind address.
    pub bind: Option<SocketAddr>,
    /// Overrides the configured database (`[storage] database`): a
    /// `postgres://` URL.
    pub database: Option<String>,
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs a background loop, and starts it again (after a second, with an
/// error in the log) if it panics: a loop that died would leave the server
/// answering while no job, notice or poll ever ran again. Dropping the
/// handle ends the loop.
fn supervise<F, Fut>(name: &'static str, state: &Arc<AppState>, start: F) -> AbortOnDrop
where
    F: Fn(Arc<AppState>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let state = state.clone();
    AbortOnDrop(tokio::spawn(async move {
        loop {
            let mut run = AbortOnDrop(tokio::spawn(start(state.clone())));
            match (&mut run.0).await {
                Err(e) if e.is_panic() => {
                    tracing::error!(background = name, "panicked; starting it again");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
                // It ended (or was ended): the server is stopping.
                _ => return,
            }
        }
    }))
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
        let state = &self.state;
        let _poller = supervise("the channel poller", state, channels::run_poller);
        let _scheduler = supervise("the scheduler", state, outbox::run);
        let _long = supervise("the long lane", state, outbox::run_long);
        let draining = state.clone();
        axum::serve(
            self.listener,
            router::router(self.state).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            shutdown.await;
            draining.beats.drain();
            tracing::info!("stopping: finishing the requests in flight");
        })
        .await
        .map_err(|e| ServerError::Bind {
            addr,
            problem: e.to_string(),
        })
    }
}

/// Prepares the data directory and binds the listener.
pub async fn bind(options: ServeOptions, clock: Clock) -> Result<Bound, ServerError> {
    install_tls_provider();
    let prepared = datadir::prepare(&options.data_dir, &clock, options.database.as_deref()).await?;
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
    let (state, first_start) = AppState::start(prepared, clock, addr, &options.data_dir).await?;
    Ok(Bound {
        listener,
        state,
        first_start,
    })
}

/// Until Ctrl-C (SIGINT) or SIGTERM (what systemd and container runtimes
/// send to stop a service).
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Prepares the data directory, then serves until Ctrl-C or SIGTERM. `announce` receives
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
    bound.run(stop_signal()).await
}

/// Entry points for the fuzz targets (`fuzz/`): the parsers a stranger's
/// bytes reach inside the server, with nothing else around them. Not an
/// API.
#[doc(hidden)]
pub mod fuzzing {
    /// The report form as posted with `content_type` (urlencoded, or
    /// multipart with files), read and checked as the server does.
    pub fn report_form(content_type: &[u8], body: &[u8]) -> bool {
        thread_local! {
            static RUNTIME: Option<tokio::runtime::Runtime> =
                tokio::runtime::Builder::new_current_thread().build().ok();
        }
        let Ok(request) = axum::http::Request::builder()
            .method("POST")
            .uri("/report")
            .header(axum::http::header::CONTENT_TYPE, content_type)
            .body(())
        else {
            return false;
        };
        let (parts, ()) = request.into_parts();
        let limits = embargo_service::config::Intake::default();
        let bytes = axum::body::Bytes::copy_from_slice(body);
        RUNTIME.with(|rt| {
            rt.as_ref().is_some_and(|rt| {
                rt.block_on(crate::web::report::read_posted(
                    &parts, bytes, &limits, "token",
                ))
                .is_ok()
            })
        })
    }

    /// Markdown a reporter or the team wrote, as the pages render it.
    pub fn markdown_html(source: &str) -> String {
        crate::web::markdown::render(source)
    }

    /// A git smart-HTTP request's repository, path, method, content type
    /// and basic-auth header, read as the server does before it asks the
    /// store.
    pub fn git_request(
        repo: &str,
        rest: &str,
        method: &str,
        content_type: &[u8],
        authorization: &[u8],
    ) -> bool {
        let project = crate::git::project_of(repo).is_some();
        let allowed = crate::git::request_allowed(method, rest, Some(content_type)).is_ok();
        let credentials = crate::git::basic_credentials(authorization).is_some();
        project && allowed && credentials
    }
}
