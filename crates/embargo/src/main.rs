//! The `embargo` command: one binary for every entry point.

mod case_cli;
mod check;

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use embargo_core::cvss::Cvss;

/// embargo — coordinated vulnerability disclosure (SPEC-11).
#[derive(Parser)]
#[command(name = "embargo", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve embargo. On first start, creates the data directory (database,
    /// commented embargo.toml, OpenPGP intake key) and prints the admin's
    /// one-time sign-up link and API token once.
    Serve {
        /// The data directory.
        #[arg(long, env = "EMBARGO_DATA_DIR", default_value = "./embargo-data")]
        data_dir: PathBuf,
        /// Address to listen on (overrides [server] bind; default 127.0.0.1:8080).
        #[arg(long, env = "EMBARGO_BIND")]
        bind: Option<std::net::SocketAddr>,
        /// A PostgreSQL database to keep the cases in, shared by every server
        /// of the deployment (overrides [storage] database; default: SQLite in
        /// the data directory).
        #[arg(
            long,
            env = "EMBARGO_DATABASE",
            value_name = "postgres://USER@HOST:PORT/DB"
        )]
        database: Option<String>,
    },
    /// Score CVSS v3.1 / v4.0 vectors: prints `score<TAB>severity<TAB>vector` per line.
    ///
    /// Vectors come from the arguments, or one per line on standard input.
    /// A v3 vector with temporal or environmental metrics gets its most
    /// specific score. Exits 1 if any vector is invalid (each is named on stderr).
    Cvss {
        /// Vectors such as CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H.
        vectors: Vec<String>,
        /// Print every score of a v3 vector, as NVD shows them:
        /// `base<TAB>temporal<TAB>environmental<TAB>vector` (v4.0 has one
        /// score, printed in all three columns' place once).
        #[arg(long)]
        all: bool,
    },
    /// Work on cases through the server's API.
    Case {
        #[command(flatten)]
        conn: case_cli::Conn,
        #[command(subcommand)]
        command: Box<case_cli::CaseCmd>,
    },
    /// People and projects through the server's API (admins).
    Org {
        #[command(flatten)]
        conn: case_cli::Conn,
        #[command(subcommand)]
        command: case_cli::OrgCmd,
    },
    /// Am I vulnerable? Checks installed versions against OSV advisories and
    /// names the version to upgrade to.
    ///
    /// Exits 0 when nothing is affected, 1 when something is, 2 when a
    /// version could not be read or the input is wrong.
    Check {
        /// A directory of OSV records (*.json).
        #[arg(long, required_unless_present = "server")]
        advisories: Option<PathBuf>,
        /// An embargo server: its published advisories (`/osv/all.json`).
        #[arg(long, conflicts_with = "advisories")]
        server: Option<String>,
        /// A pip freeze or requirements file (name==version lines).
        #[arg(long, short = 'r')]
        requirements: Vec<PathBuf>,
        /// A Cargo.lock.
        #[arg(long)]
        cargo_lock: Vec<PathBuf>,
        /// [ECOSYSTEM:]NAME==VERSION (ecosystem PyPI unless named).
        packages: Vec<String>,
    },
    /// Converts advisories between formats, offline. The input format (OSV
    /// or CVE JSON 5) is detected; CSAF and Markdown are written only.
    ///
    /// Exits 0 when every file converted, 1 when one could not be (the
    /// others are still written), 2 on wrong arguments.
    Convert {
        /// osv, cve, csaf or markdown.
        #[arg(long, value_parser = ["osv", "cve", "csaf", "markdown"])]
        to: String,
        /// Write one file per input here (NAME.FORMAT.json / NAME.md)
        /// instead of to standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        /// The CNA's organisation UUID, for CVE records.
        #[arg(long)]
        cna_org_id: Option<String>,
        /// The publisher named in CSAF documents.
        #[arg(long, default_value = "embargo convert")]
        publisher: String,
        /// The publisher's web address (CSAF namespace).
        #[arg(long, default_value = "https://example.org")]
        namespace: String,
        /// The advisories to convert.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Reports over the cases (SRT).
    Report {
        #[command(flatten)]
        conn: case_cli::Conn,
        #[command(subcommand)]
        command: case_cli::ReportCmd,
    },
    /// The inventory of reporting channels, with their health.
    Channel {
        #[command(flatten)]
        conn: case_cli::Conn,
        #[command(subcommand)]
        command: case_cli::ChannelCmd,
    },
    /// Deliver one email (RFC 5322, on standard input) to the inbox, as a
    /// mail server's pipe does (Postfix `mailbox_command`, a procmail rule).
    ///
    /// Exits 0 once the server has stored the message: as a new case, a
    /// reply, in quarantine (the reason is printed), or as a repeat. Exits 75
    /// (EX_TEMPFAIL) when the server cannot be reached or fails, so the mail
    /// server keeps the message and tries again.
    IngestMail {
        #[command(flatten)]
        conn: case_cli::Conn,
    },
    /// Check the audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCmd,
    },
    /// Move a SQLite deployment into a new, empty PostgreSQL database: every
    /// table as stored (the log byte for byte, so `audit verify` passes on the
    /// copy), then a check of each table's count and the chain's head. Stop
    /// the server first; then serve with `--database` (or `[storage] database`).
    Migrate {
        /// The data directory (holds embargo.db).
        #[arg(long, env = "EMBARGO_DATA_DIR", default_value = "./embargo-data")]
        data_dir: PathBuf,
        /// The PostgreSQL database to copy into; it must hold no deployment.
        #[arg(long, value_name = "postgres://USER@HOST:PORT/DB")]
        to: String,
    },
    /// Back up a data directory while the server serves (`embargo backup
    /// --data-dir D --out FILE`), or check a backup (`embargo backup verify
    /// FILE`).
    #[command(args_conflicts_with_subcommands = true)]
    Backup {
        #[command(subcommand)]
        action: Option<BackupCmd>,
        /// The data directory.
        #[arg(long, env = "EMBARGO_DATA_DIR", default_value = "./embargo-data")]
        data_dir: PathBuf,
        /// The archive to write (a new file).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Put the master key in the archive too. Such an archive IS the
        /// vault: anyone who holds it reads every case.
        #[arg(long)]
        include_master_key: bool,
    },
    /// Rotate keys, and see where they stand.
    Keys {
        #[command(subcommand)]
        command: KeysCmd,
    },
    /// Restore a backup into a new data directory and check it.
    Restore {
        /// The archive.
        file: PathBuf,
        /// The new data directory (absent or empty).
        #[arg(long)]
        data_dir: PathBuf,
        /// The master key file, kept apart from a backup made without it.
        #[arg(long)]
        master_key: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum KeysCmd {
    /// Move every case to a new master key while the server serves:
    /// resumable (run it again after a crash), the old key kept until the
    /// end and then replaced. Backups taken before need the old key.
    RotateMaster {
        /// The data directory.
        #[arg(long, env = "EMBARGO_DATA_DIR", default_value = "./embargo-data")]
        data_dir: PathBuf,
        /// Values sealed again per transaction.
        #[arg(long, default_value_t = 500)]
        batch: u32,
        /// At most this many values a second (0: no limit), so that a busy
        /// server is not slowed.
        #[arg(long, default_value_t = 0)]
        max_per_second: u32,
    },
    /// Replace the OpenPGP intake key: the old one decrypts for `[keys]
    /// retired_intake_days` more, security.txt and /pgp-key.txt give the new
    /// one (running servers follow within a second), and the team is told.
    RotateIntake {
        /// The data directory.
        #[arg(long, env = "EMBARGO_DATA_DIR", default_value = "./embargo-data")]
        data_dir: PathBuf,
    },
    /// Where the master key stands: its check value, a rotation running or
    /// not, and how many values the current key does not open.
    Status {
        /// The data directory.
        #[arg(long, env = "EMBARGO_DATA_DIR", default_value = "./embargo-data")]
        data_dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum BackupCmd {
    /// Restore the archive into a temporary directory and check it.
    Verify {
        /// The archive.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum AuditCmd {
    /// Walk the hash-chained event log and name the first event that does not match.
    ///
    /// Exits 0 when the chain is intact, 1 when it is broken, 2 when it cannot be read.
    Verify {
        /// The data directory (holds embargo.db, or names the database).
        #[arg(long, env = "EMBARGO_DATA_DIR", default_value = "./embargo-data")]
        data_dir: PathBuf,
        /// The PostgreSQL database to verify (overrides [storage] database).
        #[arg(
            long,
            env = "EMBARGO_DATABASE",
            value_name = "postgres://USER@HOST:PORT/DB"
        )]
        database: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The API client speaks HTTPS to a remote server through rustls.
    embargo_server::install_tls_provider();
    match cli.command {
        Cmd::Serve {
            data_dir,
            bind,
            database,
        } => serve(data_dir, bind, database),
        Cmd::Cvss { vectors, all } => cvss(vectors, all),
        Cmd::Case { conn, command } => case(conn, *command),
        Cmd::Org { conn, command } => org(conn, command),
        Cmd::IngestMail { conn } => ingest_mail(conn),
        Cmd::Channel { conn, command } => channel(conn, command),
        Cmd::Report { conn, command } => report(conn, command),
        Cmd::Check {
            advisories,
            server,
            requirements,
            cargo_lock,
            packages,
        } => check_cmd(
            advisories.as_deref(),
            server.as_deref(),
            &requirements,
            &cargo_lock,
            &packages,
        ),
        Cmd::Convert {
            to,
            out,
            cna_org_id,
            publisher,
            namespace,
            files,
        } => convert_cmd(
            &to,
            out.as_deref(),
            cna_org_id,
            &publisher,
            &namespace,
            &files,
        ),
        Cmd::Migrate { data_dir, to } => migrate_cmd(&data_dir, &to),
        Cmd::Audit {
            command: AuditCmd::Verify { data_dir, database },
        } => audit_verify(&data_dir, database.as_deref()),
        Cmd::Backup {
            action: Some(BackupCmd::Verify { file }),
            ..
        } => backup_run("backup verify", embargo_server::backup::verify(&file)),
        Cmd::Backup {
            action: None,
            data_dir,
            out,
            include_master_key,
        } => {
            let Some(out) = out else {
                eprintln!("embargo backup: say where to write it: --out FILE");
                return ExitCode::from(2);
            };
            if include_master_key {
                eprintln!(
                    "embargo backup: WARNING: this archive holds the master key. Anyone who has it \
                     can read every case: keep it as you keep the server itself, never beside \
                     ordinary backups."
                );
            }
            let now = embargo_server::Clock::system().now();
            backup_run(
                "backup",
                embargo_server::backup::backup(&data_dir, &out, include_master_key, now),
            )
        }
        Cmd::Keys { command } => keys_cmd(command),
        Cmd::Restore {
            file,
            data_dir,
            master_key,
        } => {
            let code = backup_run(
                "restore",
                embargo_server::backup::restore(&file, &data_dir, master_key.as_deref()),
            );
            if let Some(notice) = embargo_server::backup::key_notice(&data_dir) {
                eprintln!("embargo restore: NOTE: {notice}");
            }
            code
        }
    }
}

fn current_thread() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// `embargo keys …`: a progress bar on a terminal, a line per batch
/// otherwise.
fn keys_cmd(command: KeysCmd) -> ExitCode {
    use std::io::IsTerminal;
    let runtime = match current_thread() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("embargo keys: {e}");
            return ExitCode::from(2);
        }
    };
    match command {
        KeysCmd::RotateIntake { data_dir } => {
            let now = embargo_server::Clock::system().now();
            match runtime.block_on(embargo_server::keys::rotate_intake_in_dir(&data_dir, now)) {
                Ok(r) => {
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(
                        out,
                        "ok: the intake key is now {}; the old key {} decrypts until {}, then it is deleted. The team is told by mail.",
                        r.new, r.old, r.until
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("embargo keys rotate-intake: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        KeysCmd::Status { data_dir } => {
            match runtime.block_on(embargo_server::keys::status(&data_dir)) {
                Ok(s) => {
                    let mut out = std::io::stdout().lock();
                    let _ = match &s.rotation {
                        embargo_store::Rotation::Idle { check } => writeln!(
                            out,
                            "master key {}: check value {check}, no rotation running",
                            s.key_path.display()
                        ),
                        embargo_store::Rotation::Running { from, to } => writeln!(
                            out,
                            "master key {}: a rotation from {from} to {to} is unfinished (run `embargo keys rotate-master` to finish it)",
                            s.key_path.display()
                        ),
                    };
                    let _ = writeln!(
                        out,
                        "{} of {} sealed values are not under the key that seals",
                        s.under_other_keys, s.total
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("embargo keys status: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        KeysCmd::RotateMaster {
            data_dir,
            batch,
            max_per_second,
        } => {
            let bar = std::io::stderr().is_terminal().then(|| {
                let bar = indicatif::ProgressBar::new(0);
                if let Ok(style) = indicatif::ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} values sealed again ({eta} left)",
                ) {
                    bar.set_style(style);
                }
                bar
            });
            let report = |p: embargo_server::keys::RotateProgress| match &bar {
                Some(bar) => {
                    bar.set_length(p.total);
                    bar.set_position(p.examined.min(p.total));
                }
                None => {
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(
                        out,
                        "progress: {} of {} values looked at, {} sealed again",
                        p.examined, p.total, p.moved
                    );
                    let _ = out.flush();
                }
            };
            let options = embargo_server::keys::RotateOptions {
                batch,
                max_per_second,
            };
            let outcome = runtime.block_on(embargo_server::keys::rotate_master(
                &data_dir, options, report,
            ));
            if let Some(bar) = &bar {
                bar.finish_and_clear();
            }
            match outcome {
                Ok(r) => {
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(
                        out,
                        "ok: {} values sealed again{} under the new master key {} (check value {}); the old key (check value {}) opens nothing this database needs. Backups taken before this need the old key: keep it only with them.",
                        r.progress.moved + r.moved_at_the_end,
                        if r.resumed { ", resuming" } else { "" },
                        r.key_path.display(),
                        r.new_check,
                        r.old_check
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("embargo keys rotate-master: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// `embargo migrate`: a progress bar per table on a terminal, a line per
/// table otherwise.
fn migrate_cmd(data_dir: &std::path::Path, to: &str) -> ExitCode {
    use std::io::IsTerminal;
    let runtime = match current_thread() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("embargo migrate: {e}");
            return ExitCode::from(2);
        }
    };
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(0);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{msg:>20} {bar:40} {pos}/{len} rows")
        {
            bar.set_style(style);
        }
        bar
    });
    let mut report = |table: &str, done: u64, total: u64| match &bar {
        Some(bar) => {
            bar.set_message(table.to_owned());
            bar.set_length(total);
            bar.set_position(done);
        }
        None if done == total => {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "copied {table}: {done} rows");
            let _ = out.flush();
        }
        None => {}
    };
    let outcome = runtime.block_on(embargo_server::datadir::migrate(data_dir, to, &mut report));
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    match outcome {
        Ok(copied) => {
            let rows: u64 = copied.tables.iter().map(|(_, n)| n).sum();
            let events = copied
                .tables
                .iter()
                .find(|(t, _)| t == "events")
                .map_or(0, |(_, n)| *n);
            let head = copied
                .head
                .as_ref()
                .map_or("empty".to_owned(), |(seq, hash)| {
                    format!("event {seq}, {hash}")
                });
            let mut out = std::io::stdout().lock();
            let _ = writeln!(
                out,
                "ok: {} tables, {rows} rows, {events} events copied to {}; every count matches and the chain's head is the same ({head}). Serve from it with `embargo serve --data-dir {} --database URL`, or set [storage] database in embargo.toml.",
                copied.tables.len(),
                embargo_server::datadir::redacted(to),
                data_dir.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("embargo migrate: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs a backup, restore or check and prints its manifest's figures.
fn backup_run(
    what: &str,
    work: impl std::future::Future<
        Output = Result<embargo_server::backup::Manifest, embargo_server::backup::BackupError>,
    >,
) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("embargo {what}: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(work) {
        Ok(m) => {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(
                out,
                "ok: {} events, {} cases, chain head {}, made {}{}",
                m.events,
                m.cases,
                m.chain_head.as_ref().map_or_else(
                    || "(empty)".to_owned(),
                    |(seq, hash)| format!("#{seq} {hash}")
                ),
                m.created_at,
                if m.master_key {
                    ", with the master key"
                } else {
                    ""
                }
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("embargo {what}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve(
    data_dir: PathBuf,
    bind: Option<std::net::SocketAddr>,
    database: Option<String>,
) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("EMBARGO_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("embargo serve: {e}");
            return ExitCode::FAILURE;
        }
    };
    let options = embargo_server::ServeOptions {
        data_dir,
        bind,
        database,
    };
    let announce = |line: &str| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    };
    match runtime.block_on(embargo_server::serve(
        options,
        embargo_server::Clock::system(),
        announce,
    )) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("embargo serve: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs one API client command on a small runtime; `Err` is printed as
/// `embargo WHAT: …`.
fn client<T>(
    what: &str,
    run: impl std::future::Future<Output = anyhow::Result<T>>,
) -> Result<T, ExitCode> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|rt| rt.block_on(run))
        .map_err(|e| {
            eprintln!("embargo {what}: {e:#}");
            ExitCode::FAILURE
        })
}

fn case(conn: case_cli::Conn, command: case_cli::CaseCmd) -> ExitCode {
    let mut out = std::io::stdout().lock();
    let run = case_cli::run(conn, command, &mut out);
    client("case", run).map_or_else(|code| code, |()| ExitCode::SUCCESS)
}

fn ingest_mail(conn: case_cli::Conn) -> ExitCode {
    use std::io::Read;
    let mut raw = Vec::new();
    if let Err(e) = std::io::stdin().lock().read_to_end(&mut raw) {
        eprintln!("embargo ingest-mail: reading standard input: {e}");
        return ExitCode::from(75);
    }
    // A failure asks the mail server to keep the message and retry.
    let mut out = std::io::stdout().lock();
    let run = case_cli::ingest_mail(conn, raw, &mut out);
    client("ingest-mail", run).map_or_else(|_| ExitCode::from(75), |()| ExitCode::SUCCESS)
}

fn convert_cmd(
    to: &str,
    out: Option<&std::path::Path>,
    cna_org_id: Option<String>,
    publisher: &str,
    namespace: &str,
    files: &[PathBuf],
) -> ExitCode {
    let Some(format) = embargo_formats::Format::parse(to) else {
        eprintln!("embargo convert: unknown format `{to}`");
        return ExitCode::from(2);
    };
    let mut ctx = embargo_formats::Context::offline(publisher, namespace);
    ctx.cna_org_id = cna_org_id;
    if let Some(dir) = out
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        eprintln!("embargo convert: {}: {e}", dir.display());
        return ExitCode::from(2);
    }
    let mut failed = false;
    for file in files {
        let result = (|| -> anyhow::Result<String> {
            use anyhow::Context;
            let text = std::fs::read_to_string(file).context("reading it")?;
            let value: serde_json::Value = serde_json::from_str(&text).context("it is not JSON")?;
            let doc = embargo_formats::import(&value)?;
            Ok(embargo_formats::export(&doc, format, &ctx)?)
        })();
        match result {
            Ok(text) => match out {
                None => {
                    use std::io::Write;
                    if let Err(e) = writeln!(std::io::stdout().lock(), "{text}") {
                        eprintln!("embargo convert: {e}");
                        return ExitCode::from(2);
                    }
                }
                Some(dir) => {
                    let stem = file.file_stem().map_or_else(
                        || "advisory".to_owned(),
                        |s| s.to_string_lossy().into_owned(),
                    );
                    let name = match format {
                        embargo_formats::Format::Markdown => format!("{stem}.md"),
                        _ => format!("{stem}.{to}.json"),
                    };
                    if let Err(e) = std::fs::write(dir.join(&name), text + "\n") {
                        eprintln!("embargo convert: {}: {e}", dir.join(name).display());
                        failed = true;
                    }
                }
            },
            Err(e) => {
                eprintln!("embargo convert: {}: {e:#}", file.display());
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn check_cmd(
    advisories: Option<&std::path::Path>,
    server: Option<&str>,
    requirements: &[PathBuf],
    cargo_lock: &[PathBuf],
    packages: &[String],
) -> ExitCode {
    let result = (|| -> anyhow::Result<u8> {
        use anyhow::Context;
        let records = match (advisories, server) {
            (Some(dir), _) => check::load(dir)?,
            (None, Some(url)) => check::fetch(url)?,
            (None, None) => anyhow::bail!("name --advisories DIR or --server URL"),
        };
        let mut installed = Vec::new();
        for f in requirements {
            let text =
                std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
            let (found, skipped) = check::requirements(&text);
            for s in skipped {
                eprintln!("{}: `{s}` pins no version; not checked", f.display());
            }
            installed.extend(found);
        }
        for f in cargo_lock {
            let text =
                std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
            installed.extend(check::cargo_lock(&text).with_context(|| f.display().to_string())?);
        }
        for p in packages {
            installed.push(check::argument(p)?);
        }
        if installed.is_empty() {
            anyhow::bail!("nothing to check: give --requirements, --cargo-lock or NAME==VERSION");
        }
        check::run(
            &records,
            &installed,
            &mut std::io::stdout().lock(),
            &mut std::io::stderr().lock(),
        )
    })();
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("embargo check: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn report(conn: case_cli::Conn, command: case_cli::ReportCmd) -> ExitCode {
    let mut out = std::io::stdout().lock();
    let run = case_cli::run_report(conn, command, &mut out);
    match client("report", run) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(_) => ExitCode::from(2),
    }
}

fn channel(conn: case_cli::Conn, command: case_cli::ChannelCmd) -> ExitCode {
    let mut out = std::io::stdout().lock();
    let run = case_cli::run_channel(conn, command, &mut out);
    client("channel", run).map_or_else(|code| code, |()| ExitCode::SUCCESS)
}

fn org(conn: case_cli::Conn, command: case_cli::OrgCmd) -> ExitCode {
    let mut out = std::io::stdout().lock();
    let run = case_cli::run_org(conn, command, &mut out);
    client("org", run).map_or_else(|code| code, |()| ExitCode::SUCCESS)
}

fn audit_verify(data_dir: &std::path::Path, database: Option<&str>) -> ExitCode {
    use embargo_server::datadir::{self, Database};
    // The data directory names its database; a copy of the SQLite file
    // alone (no embargo.toml beside it) is verified under the defaults.
    let config = datadir::read_config(data_dir).unwrap_or_default();
    let db = match datadir::database(data_dir, &config, database) {
        Ok(db) => db,
        Err(e) => {
            eprintln!("embargo audit verify: {e}");
            return ExitCode::from(2);
        }
    };
    if let Database::Sqlite(path) = &db
        && !path.is_file()
    {
        eprintln!(
            "embargo audit verify: no database at {} (is --data-dir the directory `embargo serve` created?)",
            path.display()
        );
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("embargo audit verify: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(async {
        let store = datadir::open_store(&db, Vec::new(), None).await?;
        store.verify().await
    });
    match result {
        Ok(Ok(count)) => {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "ok: {count} events, the chain is intact");
            ExitCode::SUCCESS
        }
        Ok(Err(brk)) => {
            eprintln!("embargo audit verify: the log was tampered with: {brk}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("embargo audit verify: cannot read {db:?}: {e}");
            ExitCode::from(2)
        }
    }
}

fn cvss(vectors: Vec<String>, all: bool) -> ExitCode {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut failed = false;
    let from_stdin = vectors.is_empty();
    let mut score = |vector: &str, out: &mut dyn Write| -> std::io::Result<()> {
        // Blank lines between vectors on standard input are skipped; an
        // empty argument is a mistake and said so.
        if from_stdin && vector.trim().is_empty() {
            return Ok(());
        }
        match Cvss::parse(vector) {
            Ok(c) if all => match c.v3_scores() {
                Some(s) => writeln!(
                    out,
                    "{}\t{}\t{}\t{}",
                    embargo_core::cvss::tenths_text(s.base),
                    embargo_core::cvss::tenths_text(s.temporal),
                    embargo_core::cvss::tenths_text(s.environmental),
                    c.vector()
                ),
                None => writeln!(out, "{}\t{}", c.score_text(), c.vector()),
            },
            Ok(c) => writeln!(out, "{}\t{}\t{}", c.score_text(), c.severity(), c.vector()),
            Err(e) => {
                failed = true;
                eprintln!("embargo cvss: {e}");
                Ok(())
            }
        }
    };
    let result = if vectors.is_empty() {
        std::io::stdin()
            .lock()
            .lines()
            .try_for_each(|line| score(&line?, &mut out))
    } else {
        vectors.iter().try_for_each(|v| score(v, &mut out))
    };
    let result = result.and_then(|()| out.flush());
    if let Err(e) = result {
        eprintln!("embargo cvss: {e}");
        return ExitCode::FAILURE;
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
