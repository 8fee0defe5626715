//! GnuPG, as a reporter's client, against the intake key: what it encrypts
//! and signs opens here, and what we encrypt to a reporter opens there.
//! Needs `gpg` (Debian `gnupg`); `scripts/test` installs it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should stop the test loudly"
)]

use std::{
    io::Write,
    path::Path,
    process::{Command, Stdio},
};

use embargo_pgp::{Certificate, IntakeKey, OpenError, Signature};

struct Gpg {
    home: tempfile::TempDir,
}

impl Gpg {
    fn new() -> Self {
        let home = tempfile::tempdir().unwrap();
        Self { home }
    }

    fn run(&self, args: &[&str], input: &[u8]) -> Vec<u8> {
        let out = self.try_run(args, input);
        assert!(
            out.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    fn try_run(&self, args: &[&str], input: &[u8]) -> std::process::Output {
        let mut child = Command::new("gpg")
            .arg("--homedir")
            .arg(self.home.path())
            .args([
                "--batch",
                "--yes",
                "--no-tty",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                "",
            ])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("gpg is installed (scripts/test installs gnupg)");
        child.stdin.take().unwrap().write_all(input).unwrap();
        child.wait_with_output().unwrap()
    }

    /// Makes the reporter's own key (Ed25519 + Cv25519, GnuPG's default).
    fn reporter_key(&self, email: &str) -> Certificate {
        self.run(
            &[
                "--quick-gen-key",
                email,
                "future-default",
                "default",
                "never",
            ],
            b"",
        );
        Certificate::parse(&self.run(&["--export", "--armor", email], b"")).unwrap()
    }

    fn import(&self, armored: &str) {
        self.run(&["--import"], armored.as_bytes());
    }

    fn home(&self) -> &Path {
        self.home.path()
    }
}

fn intake() -> (IntakeKey, String) {
    let key = IntakeKey::generate("Security team <security@example.org>").unwrap();
    let public = key.to_armored_public().unwrap();
    (key, public)
}

#[test]
fn a_report_gnupg_encrypted_to_the_intake_key_opens() {
    let (key, public) = intake();
    let gpg = Gpg::new();
    gpg.import(&public);
    let report = "SQL injection in the search endpoint\nsteps: ...".repeat(50);
    let armored = gpg.run(
        &[
            "--trust-model",
            "always",
            "--armor",
            "--encrypt",
            "-r",
            &key.fingerprint(),
        ],
        report.as_bytes(),
    );
    let opened = key.open(&armored, 1 << 20, &[]).unwrap();
    assert_eq!(opened.plaintext, report.as_bytes());
    assert_eq!(opened.signature, Signature::Unsigned);

    // Binary (not armored) too.
    let binary = gpg.run(
        &[
            "--trust-model",
            "always",
            "--encrypt",
            "-r",
            &key.fingerprint(),
        ],
        report.as_bytes(),
    );
    assert_eq!(
        key.open(&binary, 1 << 20, &[]).unwrap().plaintext,
        report.as_bytes()
    );
    assert!(gpg.home().exists());
}

#[test]
fn a_signed_report_verifies_against_the_senders_key_and_only_that() {
    let (key, public) = intake();
    let gpg = Gpg::new();
    gpg.import(&public);
    let reporter = gpg.reporter_key("reporter@example.net");
    let armored = gpg.run(
        &[
            "--trust-model",
            "always",
            "--armor",
            "--sign",
            "--encrypt",
            "-u",
            "reporter@example.net",
            "-r",
            &key.fingerprint(),
        ],
        b"signed report",
    );
    let opened = key
        .open(&armored, 1 << 20, std::slice::from_ref(&reporter))
        .unwrap();
    assert_eq!(opened.plaintext, b"signed report");
    assert_eq!(
        opened.signature,
        Signature::Verified {
            fingerprint: reporter.fingerprint()
        }
    );
    // Without the sender's key, the signature is not called good, but the
    // key it names is known: GnuPG writes the issuer's fingerprint (the
    // signing subkey's, or the primary's).
    let opened = key.open(&armored, 1 << 20, &[]).unwrap();
    let Signature::UnknownSigner {
        issuer: Some(issuer),
    } = &opened.signature
    else {
        panic!("{:?}", opened.signature)
    };
    assert_eq!(issuer.len(), 40, "{issuer}");
    let listed = gpg_fingerprints(&gpg, "reporter@example.net");
    assert!(listed.contains(issuer), "{issuer} not in {listed:?}");
    // With someone else's key neither.
    let other = Gpg::new().reporter_key("other@example.net");
    let opened = key.open(&armored, 1 << 20, &[other]).unwrap();
    assert!(
        matches!(opened.signature, Signature::UnknownSigner { issuer: Some(ref i) } if listed.contains(i)),
        "{:?}",
        opened.signature
    );
}

#[test]
fn what_we_encrypt_to_a_reporter_opens_in_gnupg() {
    let gpg = Gpg::new();
    let reporter = gpg.reporter_key("reporter@example.net");
    let armored = reporter
        .encrypt(b"Thank you, we have your report.")
        .unwrap();
    assert!(armored.starts_with("-----BEGIN PGP MESSAGE-----"));
    assert!(!armored.contains("Thank you"));
    let plain = gpg.run(&["--decrypt"], armored.as_bytes());
    assert_eq!(plain, b"Thank you, we have your report.");
}

#[test]
fn messages_that_cannot_be_opened_say_why() {
    let (key, _) = intake();
    // Encrypted to someone else.
    let gpg = Gpg::new();
    gpg.reporter_key("someone@example.net");
    let elsewhere = gpg.run(
        &[
            "--trust-model",
            "always",
            "--armor",
            "--encrypt",
            "-r",
            "someone@example.net",
        ],
        b"not for you",
    );
    assert!(matches!(
        key.open(&elsewhere, 1 << 20, &[]),
        Err(OpenError::NotForUs)
    ));

    // Too large once decrypted (the compressed ciphertext is small).
    let (key2, public2) = intake();
    let gpg2 = Gpg::new();
    gpg2.import(&public2);
    let big = vec![b'a'; 2 << 20];
    let bomb = gpg2.run(
        &[
            "--trust-model",
            "always",
            "--encrypt",
            "-z",
            "9",
            "-r",
            &key2.fingerprint(),
        ],
        &big,
    );
    assert!(bomb.len() < 64 * 1024, "compressed to {}", bomb.len());
    assert!(matches!(
        key2.open(&bomb, 1 << 20, &[]),
        Err(OpenError::TooLarge { .. })
    ));

    // Truncated armor and plain garbage.
    let good = gpg2.run(
        &[
            "--trust-model",
            "always",
            "--armor",
            "--encrypt",
            "-r",
            &key2.fingerprint(),
        ],
        b"hello",
    );
    let cut = &good[..good.len() / 2];
    assert!(key2.open(cut, 1 << 20, &[]).is_err());
    assert!(matches!(
        key2.open(b"hello world", 1 << 20, &[]),
        Err(OpenError::Malformed(_))
    ));

    // Signed but not encrypted.
    let signed_only = gpg.run(&["--armor", "--sign", "-u", "someone@example.net"], b"x");
    assert!(matches!(
        key.open(&signed_only, 1 << 20, &[]),
        Err(OpenError::NotEncrypted)
    ));
}

/// The fingerprints (primary and subkeys) GnuPG lists for `who`.
fn gpg_fingerprints(gpg: &Gpg, who: &str) -> Vec<String> {
    let out = gpg.run(&["--with-colons", "--list-keys", who], b"");
    String::from_utf8_lossy(&out)
        .lines()
        .filter(|l| l.starts_with("fpr:"))
        .filter_map(|l| l.split(':').nth(9).map(str::to_owned))
        .collect()
}
