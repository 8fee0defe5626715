//! What the server's benchmarks share: the server in-process on loopback
//! with a fresh data directory, and percentiles.

use std::time::Duration;

/// A running server: its runtime, data directory, address and admin token.
pub struct Bench {
    pub rt: tokio::runtime::Runtime,
    pub dir: tempfile::TempDir,
    pub url: String,
    pub token: String,
    /// The PostgreSQL database it keeps its cases in, or `None`: SQLite.
    pub database: Option<String>,
}

impl Bench {
    /// Starts another server of the same deployment (the same data
    /// directory and database) in the same runtime, on its own port, as a
    /// load balancer has them; its URL.
    #[allow(dead_code, reason = "not every bench runs two servers")]
    pub fn another_server(&self) -> String {
        let options = embargo_server::ServeOptions {
            data_dir: self.dir.path().join("data"),
            bind: Some("127.0.0.1:0".parse().unwrap()),
            database: self.database.clone(),
        };
        let bound = self
            .rt
            .block_on(embargo_server::bind(
                options,
                embargo_server::Clock::system(),
            ))
            .unwrap();
        let url = format!("http://{}", bound.addr());
        drop(self.rt.spawn(bound.run(std::future::pending())));
        url
    }
}

/// Starts the server (system clock, two runtime threads shared with the
/// client) on a fresh data directory holding `config` as its
/// `embargo.toml` (empty: the defaults). With `EMBARGO_BENCH_POSTGRES` (a
/// PostgreSQL cluster's URL, such as the one `scripts/postgres` starts) the
/// server keeps its cases in a new database there instead of SQLite.
pub fn start(config: &str) -> Bench {
    embargo_server::install_tls_provider();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    if !config.is_empty() {
        std::fs::write(dir.path().join("data").join("embargo.toml"), config).unwrap();
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let database = std::env::var("EMBARGO_BENCH_POSTGRES").ok().map(|admin| {
        let mut tag = [0u8; 8];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut tag);
        let name = format!("bench_{}", hex::encode(tag));
        rt.block_on(embargo_store::testing::postgres_database(&admin, &name))
            .unwrap()
    });
    let options = embargo_server::ServeOptions {
        data_dir: dir.path().join("data"),
        bind: Some("127.0.0.1:0".parse().unwrap()),
        database: database.clone(),
    };
    let bound = rt
        .block_on(embargo_server::bind(
            options,
            embargo_server::Clock::system(),
        ))
        .unwrap();
    let url = format!("http://{}", bound.addr());
    let token = bound.first_start.as_ref().unwrap().admin_token.clone();
    rt.spawn(bound.run(std::future::pending()));
    Bench {
        rt,
        dir,
        url,
        token,
        database,
    }
}

/// The nearest-rank percentile `p` (0 to 1) of sorted durations.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

/// An email report from reporter `i` (Message-ID `<TAG-i@example.net>`)
/// with `body`, as the mail intake receives it.
#[allow(dead_code, reason = "not every bench mails")]
pub fn message(tag: &str, i: usize, body: &str) -> Vec<u8> {
    format!(
        "From: Reporter {i} <r{i}@example.net>\r\nTo: security@example.org\r\n\
         Subject: Benchmark report {i}: overflow in the parser\r\nMessage-ID: <{tag}-{i}@example.net>\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}
