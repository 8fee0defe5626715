//! Mail out by SMTP: plain text, or PGP/MIME (RFC 3156) encrypted to the
//! recipient's key with the real Subject protected inside (the
//! `protected-headers` convention) and a neutral one outside.

use embargo_pgp::Certificate;
use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, MessageBuilder, MultiPart, SinglePart, header::ContentType},
    transport::smtp::{PoolConfig, authentication::Credentials},
};
use rand::RngCore;
use std::sync::{Arc, Mutex};

/// Why a message was not sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// No SMTP server is configured.
    #[error("no SMTP server is configured ([smtp] host)")]
    NotConfigured,
    /// The case has no address to write to.
    #[error("the case has no reporter address")]
    NoAddress,
    /// The message could not be built.
    #[error("cannot build the message: {0}")]
    Build(String),
    /// The SMTP server refused or failed.
    #[error("the SMTP server refused or failed: {0}")]
    Send(String),
}

/// How to reach the SMTP server (the configuration's `[smtp]` section).
#[derive(Clone, Debug, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Smtp {
    /// Host name; unset means no mail is sent (reporters still have their
    /// status page).
    pub host: Option<String>,
    /// Port.
    pub port: u16,
    /// `tls` (implicit TLS), `starttls`, or `none` (only for a relay on this machine).
    pub security: String,
    /// Login, if the server wants one.
    pub username: Option<String>,
    /// Password for `username`.
    pub password: Option<String>,
    /// Seconds the whole exchange with the server may take.
    pub timeout_seconds: u16,
}

impl Default for Smtp {
    fn default() -> Self {
        Self {
            host: None,
            port: 587,
            security: "starttls".into(),
            username: None,
            password: None,
            timeout_seconds: 30,
        }
    }
}

/// One message to send.
pub struct Outgoing<'a> {
    /// The display name of the sender (the address is the team's).
    pub from_name: &'a str,
    /// The recipients.
    pub to: &'a [String],
    /// Replies go to the team's address.
    pub reply_to_sender: bool,
    /// Its Message-ID (see [`Sender::message_id_for`]).
    pub message_id: &'a str,
    /// The message it answers: In-Reply-To and References.
    pub in_reply_to: Option<&'a str>,
    /// The Subject (inside, when sealed).
    pub subject: &'a str,
    /// The text.
    pub text: &'a str,
    /// Encrypted to this key, with this Subject outside; `None` in clear.
    pub sealed_to: Option<(&'a Certificate, &'a str)>,
    /// One extra header (the canary's).
    pub header: Option<(&'static str, &'a str)>,
}

/// Sends as the team's address through one SMTP server.
///
/// Clones share one pool of connections to the server: a message after
/// another reuses the connection (its greeting, STARTTLS and login done
/// once) rather than opening its own. A connection is checked (`NOOP`)
/// before it is reused and closed after [`IDLE`] without use.
#[derive(Clone, Debug)]
pub struct Sender {
    smtp: Smtp,
    address: String,
    /// Built on the first send (its pool's sweeper is a task of the
    /// runtime); dropped when a send ran out of time, since a connection
    /// left in the middle of an exchange must not carry the next message.
    transport: Arc<Mutex<Pooled>>,
}

/// The shared transport, if built. lettre's pool closes its connections
/// from a task it spawns when dropped, which needs a runtime: the last
/// sender may go with the application state after its runtime has stopped
/// (a test's server, the end of `serve`), so that drop gets one of its own.
#[derive(Debug, Default)]
struct Pooled(Option<AsyncSmtpTransport<Tokio1Executor>>);

impl Drop for Pooled {
    fn drop(&mut self) {
        let Some(transport) = self.0.take() else {
            return;
        };
        if tokio::runtime::Handle::try_current().is_ok() {
            return drop(transport);
        }
        match tokio::runtime::Builder::new_current_thread().build() {
            // The spawned close never runs: dropping the runtime drops it
            // and so the connections, which closes their sockets.
            Ok(rt) => {
                let _inside = rt.enter();
                drop(transport);
            }
            Err(_) => std::mem::forget(transport),
        }
    }
}

/// How long an unused connection to the SMTP server stays open.
pub const IDLE: std::time::Duration = std::time::Duration::from_secs(60);

/// At most this many connections to the SMTP server stay open.
const POOLED: u32 = 4;

impl Sender {
    /// A sender from `address` through `smtp`.
    pub fn new(smtp: Smtp, address: String) -> Self {
        Self {
            smtp,
            address,
            transport: Arc::default(),
        }
    }

    fn domain(&self) -> &str {
        self.address
            .rsplit_once('@')
            .map_or("embargo.invalid", |(_, d)| d)
    }

    /// A fresh Message-ID in the team's domain.
    pub fn message_id(&self) -> String {
        let mut bytes = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        format!("<{}@{}>", hex::encode(bytes), self.domain())
    }

    /// The Message-ID of the mail sent under `key`: the same for every
    /// attempt, so a repeat after a crash is the same message to the
    /// recipient.
    pub fn message_id_for(&self, key: &str) -> String {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(key.as_bytes());
        format!(
            "<{}@{}>",
            hex::encode(digest.get(..16).unwrap_or_default()),
            self.domain()
        )
    }

    /// The shared transport, built on first use.
    fn transport(&self) -> Result<AsyncSmtpTransport<Tokio1Executor>, MailError> {
        let mut slot = self.transport.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = slot.0.as_ref() {
            return Ok(t.clone());
        }
        let built = self.build_transport()?;
        slot.0 = Some(built.clone());
        Ok(built)
    }

    /// Forgets the shared transport: its connections close once no send
    /// holds them, and the next send opens new ones.
    fn forget_transport(&self) {
        let old = std::mem::take(&mut self.transport.lock().unwrap_or_else(|p| p.into_inner()).0);
        drop(old);
    }

    fn build_transport(&self) -> Result<AsyncSmtpTransport<Tokio1Executor>, MailError> {
        let cfg = &self.smtp;
        let host = cfg.host.as_deref().ok_or(MailError::NotConfigured)?;
        let builder = match cfg.security.as_str() {
            "none" => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
            "tls" => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
                .map_err(|e| MailError::Build(e.to_string()))?,
            _ => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                .map_err(|e| MailError::Build(e.to_string()))?,
        };
        let mut builder = builder
            .port(cfg.port)
            .timeout(Some(std::time::Duration::from_secs(u64::from(
                cfg.timeout_seconds,
            ))));
        if let (Some(u), Some(p)) = (&cfg.username, &cfg.password) {
            builder = builder.credentials(Credentials::new(u.clone(), p.clone()));
        }
        Ok(builder
            .pool_config(PoolConfig::new().max_size(POOLED).idle_timeout(IDLE))
            .build())
    }

    /// Builds and sends `m`.
    pub async fn send(&self, m: Outgoing<'_>) -> Result<(), MailError> {
        let transport = self.transport()?;
        let build = |e: &dyn std::fmt::Display| MailError::Build(e.to_string());
        let from: Mailbox = format!("{} <{}>", m.from_name, self.address)
            .parse()
            .map_err(|e| build(&e))?;
        let mut builder = Message::builder()
            .from(from.clone())
            .message_id(Some(m.message_id.to_owned()));
        if m.reply_to_sender {
            builder = builder.reply_to(from);
        }
        for to in m.to {
            builder = builder.to(to.parse().map_err(|e| build(&e))?);
        }
        if let Some(reference) = m.in_reply_to {
            let reference = format!("<{}>", reference.trim_matches(['<', '>']));
            builder = builder.in_reply_to(reference.clone()).references(reference);
        }
        let mut message = match m.sealed_to {
            Some((cert, outer)) => sealed(builder, cert, outer, m.subject, m.text)?,
            None => plain(builder, m.subject, m.text)?,
        };
        if let Some((name, value)) = m.header {
            message
                .headers_mut()
                .insert_raw(lettre::message::header::HeaderValue::new(
                    lettre::message::header::HeaderName::new_from_ascii_str(name),
                    value.to_owned(),
                ));
        }
        // lettre's timeout bounds each socket step it times, but not every
        // read (a server that accepts and never greets held a pass
        // forever): the whole exchange is bounded here.
        // A connection cut off there may be mid-exchange, with replies
        // still to come: its pool is forgotten so that no later message
        // goes over it.
        let limit = std::time::Duration::from_secs(u64::from(self.smtp.timeout_seconds));
        tokio::time::timeout(limit, transport.send(message))
            .await
            .map_err(|_| {
                self.forget_transport();
                MailError::Send(format!(
                    "the mail server did not finish within {} s",
                    self.smtp.timeout_seconds
                ))
            })?
            .map_err(|e| MailError::Send(e.to_string()))?;
        Ok(())
    }
}

/// A plain-text message.
fn plain(builder: MessageBuilder, subject: &str, text: &str) -> Result<Message, MailError> {
    builder
        .subject(subject)
        .header(ContentType::TEXT_PLAIN)
        .body(text.to_owned())
        .map_err(|e| MailError::Build(e.to_string()))
}

/// A PGP/MIME message (RFC 3156) encrypted to `cert`, its real Subject
/// protected inside, `outer_subject` outside.
fn sealed(
    builder: MessageBuilder,
    cert: &Certificate,
    outer_subject: &str,
    subject: &str,
    text: &str,
) -> Result<Message, MailError> {
    let build = |e: &dyn std::fmt::Display| MailError::Build(e.to_string());
    let inner = format!(
        "Content-Type: text/plain; charset=utf-8; protected-headers=\"v1\"\r\n\
         Subject: {subject}\r\n\r\n{}",
        text.replace('\n', "\r\n")
    );
    let armored = cert.encrypt(inner.as_bytes()).map_err(|e| build(&e))?;
    let control = ContentType::parse("application/pgp-encrypted").map_err(|e| build(&e))?;
    let payload = ContentType::parse("application/octet-stream; name=\"encrypted.asc\"")
        .map_err(|e| build(&e))?;
    builder
        .subject(outer_subject)
        .multipart(
            MultiPart::encrypted("application/pgp-encrypted".into())
                .singlepart(
                    SinglePart::builder()
                        .header(control)
                        .body(String::from("Version: 1\r\n")),
                )
                .singlepart(SinglePart::builder().header(payload).body(armored)),
        )
        .map_err(|e| build(&e))
}
