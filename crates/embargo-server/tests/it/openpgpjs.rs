//! OpenPGP.js (npm, `scripts/test` installs it into `target/npm`) as an
//! implementation independent of embargo's: it decrypts what the browser
//! sent and encrypts to the intake key as other clients would.

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use serde_json::Value;

pub(crate) struct OpenPgpJs {
    lib: PathBuf,
    script: PathBuf,
    dir: tempfile::TempDir,
}

impl OpenPgpJs {
    /// The installed library, or `None` outside CI when it is missing (in
    /// CI a missing library fails the test).
    pub(crate) fn find() -> Option<Self> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let lib = std::env::var_os("OPENPGP_JS")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target/npm/node_modules/openpgp"));
        if !lib.join("dist/node/openpgp.mjs").is_file() {
            assert!(
                std::env::var_os("CI").is_none(),
                "{} is required in CI (scripts/test installs it from npm)",
                lib.display()
            );
            eprintln!("skipped: OpenPGP.js is not installed");
            return None;
        }
        Some(Self {
            lib,
            script: root.join("scripts/openpgpjs.mjs"),
            dir: tempfile::tempdir().unwrap(),
        })
    }

    fn run(&self, args: &[&Path], command: &str, input: &[u8]) -> Vec<u8> {
        let mut child = Command::new("node")
            .arg(&self.script)
            .arg(command)
            .args(args)
            .env("OPENPGP_JS", &self.lib)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("node is installed (scripts/test installs nodejs)");
        child.stdin.take().unwrap().write_all(input).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "openpgpjs {command}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// Decrypts each message with `secret_key` (armored): per message, the
    /// plaintext, or the library's error.
    pub(crate) fn decrypt(
        &self,
        secret_key: &str,
        messages: &[&[u8]],
    ) -> Vec<Result<Vec<u8>, String>> {
        self.decrypt_lines(secret_key, messages)
            .into_iter()
            .map(|v| {
                if v["ok"] == true {
                    use base64::Engine;
                    Ok(base64::engine::general_purpose::STANDARD
                        .decode(v["data"].as_str().unwrap())
                        .unwrap())
                } else {
                    Err(v["error"].as_str().unwrap_or_default().to_owned())
                }
            })
            .collect()
    }

    /// What the script reports per message: `ok`, `data` (base64) or
    /// `error`, and the encrypted packet's `seipd` version and `aead` mode.
    pub(crate) fn decrypt_lines(&self, secret_key: &str, messages: &[&[u8]]) -> Vec<Value> {
        let key = self.file("secret.asc", secret_key.as_bytes());
        let files: Vec<PathBuf> = messages
            .iter()
            .enumerate()
            .map(|(i, m)| self.file(&format!("message-{i}"), m))
            .collect();
        let mut args = vec![key.as_path()];
        args.extend(files.iter().map(PathBuf::as_path));
        let out = String::from_utf8(self.run(&args, "decrypt", b"")).unwrap();
        out.lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    /// The AEAD ciphersuites a public key asks for, as OpenPGP.js reads
    /// them (`[["aes256", "ocb"], …]`), and whether it offers SEIPDv2.
    pub(crate) fn prefs(&self, public_key: &str) -> Value {
        let key = self.file("public.asc", public_key.as_bytes());
        serde_json::from_slice(&self.run(&[&key], "prefs", b"")).unwrap()
    }

    /// `plaintext` encrypted to `public_key`, armored, as OpenPGP.js
    /// chooses from the key's preferences.
    pub(crate) fn encrypt(&self, public_key: &str, plaintext: &[u8]) -> String {
        let key = self.file("public.asc", public_key.as_bytes());
        String::from_utf8(self.run(&[&key], "encrypt", plaintext)).unwrap()
    }
}
