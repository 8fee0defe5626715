//! A real local mail system for the tests: OpenSMTPD (Debian `opensmtpd`)
//! accepts SMTP on a loopback port and hands every message by LMTP to
//! Dovecot (Debian `dovecot-imapd`, `dovecot-lmtpd`), which files it in the
//! recipient's mailbox and serves it over IMAP. Any address logs in to IMAP
//! with the password `secret`. Both run from a temporary directory on free
//! ports and stop on drop. `scripts/test` installs the packages.

use std::{
    net::{TcpListener, TcpStream},
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

pub(crate) const PASSWORD: &str = "secret";

/// OpenSMTPD keeps one control socket and queue per machine, so one
/// instance runs at a time: tests that need mail take turns.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub(crate) struct MailServer {
    _turn: std::sync::MutexGuard<'static, ()>,
    dir: tempfile::TempDir,
    smtpd: Option<Child>,
    pub smtp_port: u16,
    pub imap_port: u16,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_port(port: u16) {
    for _ in 0..200 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("nothing listens on {port}");
}

fn user_id(name: &str, flag: &str) -> u32 {
    let out = Command::new("id").args([flag, name]).output().unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap_or_else(|_| {
            panic!("no `{name}` user: run ./scripts/test, which installs dovecot-imapd")
        })
}

impl MailServer {
    pub(crate) fn start() -> MailServer {
        let turn = ONE_AT_A_TIME
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let dir = tempfile::Builder::new()
            .prefix("ms")
            .tempdir_in("/tmp")
            .unwrap();
        let path = |p: &str| -> PathBuf { dir.path().join(p) };
        for d in ["run", "state", "home"] {
            std::fs::create_dir(path(d)).unwrap();
        }
        std::os::unix::fs::chown(
            path("home"),
            Some(user_id("dovecot", "-u")),
            Some(user_id("dovecot", "-g")),
        )
        .unwrap();
        let (smtp_port, imap_port, lmtp_port) = (free_port(), free_port(), free_port());
        let root = dir.path().display();
        std::fs::write(
            path("dovecot.conf"),
            format!(
                "base_dir = {root}/run\nstate_dir = {root}/state\nlog_path = {root}/dovecot.log\n\
                 protocols = imap lmtp\nlisten = 127.0.0.1\nssl = no\ndisable_plaintext_auth = no\n\
                 auth_mechanisms = plain login\ndefault_internal_user = dovecot\n\
                 default_login_user = dovenull\nfirst_valid_uid = 1\n\
                 passdb {{\n  driver = static\n  args = password={PASSWORD}\n}}\n\
                 userdb {{\n  driver = static\n  args = uid=dovecot gid=dovecot home={root}/home/%u\n}}\n\
                 mail_location = maildir:~/Maildir\n\
                 service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {imap_port}\n  }}\n  inet_listener imaps {{\n    port = 0\n  }}\n}}\n\
                 service lmtp {{\n  inet_listener lmtp {{\n    address = 127.0.0.1\n    port = {lmtp_port}\n  }}\n}}\n"
            ),
        )
        .unwrap();
        // OpenSMTPD wants its tables and configuration private.
        std::fs::write(path("vusers"), "@ dovecot\n").unwrap();
        std::fs::write(
            path("smtpd.conf"),
            format!(
                "table vusers file:{root}/vusers\nlisten on 127.0.0.1 port {smtp_port}\n\
                 action \"deliver\" lmtp \"127.0.0.1:{lmtp_port}\" rcpt-to virtual <vusers>\n\
                 match from any for any action \"deliver\"\n"
            ),
        )
        .unwrap();
        for f in ["smtpd.conf", "vusers"] {
            std::fs::set_permissions(path(f), std::os::unix::fs::PermissionsExt::from_mode(0o600))
                .unwrap();
        }
        let mut server = MailServer {
            _turn: turn,
            dir,
            smtpd: None,
            smtp_port,
            imap_port,
        };
        server.start_dovecot();
        let smtpd = Command::new("smtpd")
            .args(["-d", "-f"])
            .arg(server.dir.path().join("smtpd.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("smtpd is missing: run ./scripts/test, which installs opensmtpd");
        server.smtpd = Some(smtpd);
        wait_port(smtp_port);
        server
    }

    fn conf(&self) -> PathBuf {
        self.dir.path().join("dovecot.conf")
    }

    /// Starts (or restarts) Dovecot.
    pub(crate) fn start_dovecot(&mut self) {
        let status = Command::new("dovecot")
            .arg("-c")
            .arg(self.conf())
            .status()
            .expect("dovecot is missing: run ./scripts/test, which installs dovecot-imapd");
        assert!(status.success());
        wait_port(self.imap_port);
    }

    /// Stops Dovecot: IMAP goes away (and mail waits in OpenSMTPD's queue).
    pub(crate) fn stop_dovecot(&mut self) {
        let _ = Command::new("dovecot")
            .arg("-c")
            .arg(self.conf())
            .arg("stop")
            .status();
        for _ in 0..200 {
            if TcpStream::connect(("127.0.0.1", self.imap_port)).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("dovecot did not stop");
    }

    /// Sends a message by SMTP, as a reporter's mail client would.
    pub(crate) fn send(&self, from: &str, to: &str, raw: &[u8]) {
        use std::io::{BufRead, BufReader, Write};
        let stream = TcpStream::connect(("127.0.0.1", self.smtp_port)).unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut writer = stream;
        let expect = |code: &str, reader: &mut BufReader<TcpStream>| loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            assert!(
                line.starts_with(code),
                "SMTP said {line:?}, expected {code}"
            );
            if line.as_bytes().get(3) != Some(&b'-') {
                break;
            }
        };
        expect("220", &mut reader);
        for (cmd, code) in [
            ("EHLO reporter.example.net".to_owned(), "250"),
            (format!("MAIL FROM:<{from}>"), "250"),
            (format!("RCPT TO:<{to}>"), "250"),
            ("DATA".to_owned(), "354"),
        ] {
            write!(writer, "{cmd}\r\n").unwrap();
            expect(code, &mut reader);
        }
        // Dot-stuffing, then the end of data.
        let text = String::from_utf8_lossy(raw).replace("\r\n.", "\r\n..");
        writer.write_all(text.as_bytes()).unwrap();
        if !text.ends_with("\r\n") {
            writer.write_all(b"\r\n").unwrap();
        }
        writer.write_all(b".\r\n").unwrap();
        expect("250", &mut reader);
        writer.write_all(b"QUIT\r\n").unwrap();
    }

    /// The messages in `user`'s inbox (read from Dovecot's maildir), waiting
    /// up to 15 s for at least `count`.
    pub(crate) fn mailbox(&self, user: &str, count: usize) -> Vec<String> {
        let dir = self.dir.path().join("home").join(user).join("Maildir");
        let mut last = Vec::new();
        for _ in 0..600 {
            let mut out = Vec::new();
            for sub in ["new", "cur"] {
                if let Ok(entries) = std::fs::read_dir(dir.join(sub)) {
                    for e in entries.flatten() {
                        out.push(std::fs::read_to_string(e.path()).unwrap_or_default());
                    }
                }
            }
            if out.len() >= count {
                return out;
            }
            last = out;
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("{user} has {} messages, expected {count}", last.len());
    }

    /// The first message in `user`'s mailbox that contains `needle`
    /// (waits up to 15 s for it).
    pub(crate) fn message_to(&self, user: &str, needle: &str) -> String {
        for _ in 0..600 {
            if let Some(m) = self
                .mailbox(user, 0)
                .into_iter()
                .find(|m| m.contains(needle))
            {
                return m;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("no message to {user} contains {needle}");
    }

    /// `[smtp]` for embargo.toml.
    pub(crate) fn smtp_config(&self) -> String {
        format!(
            "[smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\ntimeout_seconds = 10\n",
            self.smtp_port
        )
    }
}

impl Drop for MailServer {
    fn drop(&mut self) {
        let _ = Command::new("dovecot")
            .arg("-c")
            .arg(self.conf())
            .arg("stop")
            .stderr(Stdio::null())
            .status();
        if let Some(mut c) = self.smtpd.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A TCP relay to the mail server `target`, for a mail server the test can
/// stall and count connections to: its first connection is held for
/// `first` (forever when `None`) before it is relayed, every later one is
/// relayed at once. Its port, and how many connections have come.
pub(crate) fn relay(target: u16, first: Option<Duration>) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let seen = connections.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming() {
            let Ok(conn) = conn else { return };
            let is_first = seen.fetch_add(1, Ordering::SeqCst) == 0;
            match (is_first, first) {
                (true, None) => {
                    held.push(conn);
                    continue;
                }
                (true, Some(wait)) => {
                    std::thread::spawn(move || {
                        std::thread::sleep(wait);
                        pipe(conn, target);
                    });
                }
                (false, _) => pipe(conn, target),
            }
        }
    });
    (port, connections)
}

/// Relays `conn` to `target` both ways until either side closes.
fn pipe(conn: TcpStream, target: u16) {
    let Ok(upstream) = TcpStream::connect(("127.0.0.1", target)) else {
        return;
    };
    let (mut a, mut b) = (conn.try_clone().unwrap(), upstream.try_clone().unwrap());
    let (mut c, mut d) = (conn, upstream);
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut a, &mut b);
        let _ = b.shutdown(std::net::Shutdown::Write);
    });
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut d, &mut c);
        let _ = c.shutdown(std::net::Shutdown::Write);
    });
}
