//! The `embargo` command: one binary for every entry point.

use std::io::{BufRead, Write};
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
    /// Score CVSS v3.1 / v4.0 vectors: prints `score<TAB>severity<TAB>vector` per line.
    ///
    /// Vectors come from the arguments, or one per line on standard input.
    /// A v3 vector with temporal or environmental metrics gets its most
    /// specific score. Exits 1 if any vector is invalid (each is named on stderr).
    Cvss {
        /// Vectors such as CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H.
        vectors: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Cmd::Cvss { vectors } => cvss(vectors),
    }
}

fn cvss(vectors: Vec<String>) -> ExitCode {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut failed = false;
    let mut score = |vector: &str, out: &mut dyn Write| -> std::io::Result<()> {
        if vector.trim().is_empty() {
            return Ok(());
        }
        match Cvss::parse(vector) {
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
