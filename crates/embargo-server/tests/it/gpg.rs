//! GnuPG as the reporter's OpenPGP client (Debian `gnupg`), each reporter
//! with a home directory of their own.

use std::{
    io::Write,
    process::{Command, Stdio},
};

pub(crate) struct Gpg {
    home: tempfile::TempDir,
}

impl Gpg {
    pub(crate) fn new() -> Self {
        Self {
            home: tempfile::tempdir().unwrap(),
        }
    }

    pub(crate) fn run(&self, args: &[&str], input: &[u8]) -> Vec<u8> {
        let mut child = Command::new("gpg")
            .arg("--homedir")
            .arg(self.home.path())
            .args(["--batch", "--yes", "--no-tty", "--trust-model", "always"])
            .args(["--pinentry-mode", "loopback", "--passphrase", ""])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("gpg is installed (scripts/test installs gnupg)");
        child.stdin.take().unwrap().write_all(input).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// Imports the team's key and makes the reporter's own (GnuPG's default
    /// Ed25519 + Cv25519); returns the reporter's armored public key.
    pub(crate) fn reporter(&self, team_key: &str, email: &str) -> String {
        self.run(&["--import"], team_key.as_bytes());
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
        String::from_utf8(self.run(&["--export", "--armor", email], b"")).unwrap()
    }

    /// Encrypts (and signs, when `signer` is given) to the team, armored.
    pub(crate) fn encrypt(&self, team_fpr: &str, signer: Option<&str>, text: &[u8]) -> String {
        let mut args = vec!["--armor", "--encrypt", "-r", team_fpr];
        if let Some(s) = signer {
            args.extend(["--sign", "-u", s]);
        }
        String::from_utf8(self.run(&args, text)).unwrap()
    }

    /// The fingerprint of the first key in an armored block.
    pub(crate) fn fingerprint_of(&self, armored: &str) -> String {
        let out = String::from_utf8(self.run(
            &["--with-colons", "--import-options", "show-only", "--import"],
            armored.as_bytes(),
        ))
        .unwrap();
        out.lines()
            .find(|l| l.starts_with("fpr:"))
            .and_then(|l| l.split(':').nth(9))
            .unwrap()
            .to_owned()
    }
}
