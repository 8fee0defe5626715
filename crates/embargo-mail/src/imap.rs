//! An IMAP mailbox, read the way the poller needs it: its unseen messages
//! one by one (fetched with `BODY.PEEK[]`, so reading marks nothing), and
//! each marked `\Seen` only when the caller has stored it. A message that
//! was not stored stays unseen and comes again on the next poll.
//!
//! Also the canary's header: a message embargo sends to the mailbox it
//! watches, recognised here when it comes back.

use std::{sync::Arc, time::Duration};

use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite};

/// How to reach a mailbox.
pub struct Account<'a> {
    /// The IMAP server.
    pub host: &'a str,
    /// Its port.
    pub port: u16,
    /// Implicit TLS (993); plain only for a server on this machine.
    pub tls: bool,
    /// The account.
    pub username: &'a str,
    /// Its password.
    pub password: &'a str,
    /// The mailbox read.
    pub mailbox: &'a str,
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug> Stream for T {}

/// A mailbox selected for reading.
pub struct Mailbox {
    session: async_imap::Session<Box<dyn Stream>>,
}

async fn connect(
    a: &Account<'_>,
    tls: Arc<tokio_rustls::rustls::ClientConfig>,
) -> Result<Box<dyn Stream>, String> {
    let tcp = tokio::time::timeout(
        Duration::from_secs(20),
        tokio::net::TcpStream::connect((a.host, a.port)),
    )
    .await
    .map_err(|_| format!("connecting to {}:{} timed out", a.host, a.port))?
    .map_err(|e| format!("cannot connect to {}:{}: {e}", a.host, a.port))?;
    if !a.tls {
        return Ok(Box::new(tcp));
    }
    let name = tokio_rustls::rustls::pki_types::ServerName::try_from(a.host.to_owned())
        .map_err(|e| format!("`{}` is not a host name: {e}", a.host))?;
    let stream = tokio_rustls::TlsConnector::from(tls)
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS with {}: {e}", a.host))?;
    Ok(Box::new(stream))
}

impl Mailbox {
    /// Connects (TLS with `tls` unless the account says plain), logs in and
    /// selects the mailbox. Errors are sentences for the channel's health.
    pub async fn open(
        a: &Account<'_>,
        tls: Arc<tokio_rustls::rustls::ClientConfig>,
    ) -> Result<Self, String> {
        let stream = connect(a, tls).await?;
        let mut client = async_imap::Client::new(stream);
        client
            .read_response()
            .await
            .map_err(|e| format!("IMAP greeting: {e}"))?
            .ok_or("the IMAP server closed the connection")?;
        let mut session = client
            .login(a.username, a.password)
            .await
            .map_err(|(e, _)| format!("IMAP login as {}: {e}", a.username))?;
        session
            .select(a.mailbox)
            .await
            .map_err(|e| format!("IMAP select {}: {e}", a.mailbox))?;
        Ok(Self { session })
    }

    /// The UIDs of the unseen messages, oldest first.
    pub async fn unseen(&mut self) -> Result<Vec<u32>, String> {
        let mut uids: Vec<u32> = self
            .session
            .uid_search("UNSEEN")
            .await
            .map_err(|e| format!("IMAP search: {e}"))?
            .into_iter()
            .collect();
        uids.sort_unstable();
        Ok(uids)
    }

    /// Message `uid` as it was sent, without marking it seen.
    pub async fn fetch(&mut self, uid: u32) -> Result<Option<Vec<u8>>, String> {
        let mut fetches = self
            .session
            .uid_fetch(uid.to_string(), "BODY.PEEK[]")
            .await
            .map_err(|e| format!("IMAP fetch: {e}"))?;
        let mut raw = None;
        while let Some(f) = fetches.next().await {
            let f = f.map_err(|e| format!("IMAP fetch: {e}"))?;
            if let Some(b) = f.body() {
                raw = Some(b.to_vec());
            }
        }
        Ok(raw)
    }

    /// Marks message `uid` handled (`\Seen`): call it once it is stored.
    pub async fn mark_seen(&mut self, uid: u32) -> Result<(), String> {
        let mut stored = self
            .session
            .uid_store(uid.to_string(), "+FLAGS (\\Seen)")
            .await
            .map_err(|e| format!("IMAP store: {e}"))?;
        while let Some(r) = stored.next().await {
            r.map_err(|e| format!("IMAP store: {e}"))?;
        }
        Ok(())
    }

    /// Logs out (a failure here loses nothing).
    pub async fn close(mut self) {
        let _ = self.session.logout().await;
    }
}

/// The header a canary carries.
pub const CANARY_HEADER: &str = "X-Embargo-Canary";

/// The canary token of a message, if it is one of ours (read from its
/// header block only).
pub fn canary_token(raw: &[u8]) -> Option<String> {
    let head_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(raw.len().min(8192));
    let head = String::from_utf8_lossy(raw.get(..head_end)?);
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case(CANARY_HEADER)
            .then(|| v.trim().to_owned())
    })
}
