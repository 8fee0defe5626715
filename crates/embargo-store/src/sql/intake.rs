//! Inbound messages kept raw, the quarantine, reporters' status links and
//! attachments.
//!
//! A message that becomes a case or a reply is recorded by the writer in the
//! same transaction as its events (see `Store::receive`); one that cannot be
//! processed is recorded here with the reason. Either way the raw bytes are
//! kept, sealed with the master key.

use super::{
    Conn, DbRow, Store, dialect,
    pending::{Insert, Pending},
};
use crate::{Attachment, InboundEntry, Keys, NewInbound, StoreError};
use embargo_core::CaseId;
use sqlx::{Connection, Row};

fn raw_label(channel: &str, received_at: i64, source: &str) -> String {
    format!("inbound:{channel}:{received_at}:{source}")
}

/// The case (or `quarantined`) that a message with this reference became, if
/// the channel delivered it before (as written, or as waiting in `pending`).
pub(crate) async fn seen(
    conn: &mut Conn,
    pending: Option<&Pending>,
    master: Option<&Keys>,
    channel: &str,
    reference: Option<&str>,
) -> Result<Option<String>, StoreError> {
    let Some(reference) = reference else {
        return Ok(None);
    };
    let master = master.ok_or(StoreError::NoKey)?;
    let lookup = master.lookup(reference);
    if let Some(seen) = pending.and_then(|p| p.reference(channel, &lookup)) {
        return Ok(Some(seen.to_owned()));
    }
    let row =
        sqlx::query("SELECT outcome, case_id FROM inbound WHERE channel = $1 AND reference = $2")
            .bind(channel)
            .bind(lookup)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(match row {
        None => None,
        Some(r) => {
            let case: Option<String> = r.try_get(1)?;
            let outcome: String = r.try_get(0)?;
            Some(case.unwrap_or(outcome))
        }
    })
}

/// Queues the inbound row (and the reporter's link, for a new case) in
/// `pending`, and notes its reference there, so that a second delivery in
/// the same batch is seen before the batch is written.
pub(crate) fn record(
    pending: &mut Pending,
    master: &Keys,
    inbound: &NewInbound,
    outcome: &str,
    case_id: Option<&CaseId>,
    reason: Option<&str>,
) -> Result<(), StoreError> {
    let sealed = master.seal_bytes(
        &raw_label(&inbound.channel, inbound.received_at, &inbound.source),
        &inbound.raw,
    )?;
    let reference = inbound.reference.as_deref().map(|r| master.lookup(r));
    if let Some(lookup) = &reference {
        let seen_as = case_id.map_or(outcome, CaseId::as_str);
        pending.note_reference(&inbound.channel, lookup.clone(), seen_as.to_owned());
    }
    pending.insert(
        INBOUND,
        vec![
            inbound.received_at.into(),
            inbound.channel.as_str().into(),
            inbound.source.as_str().into(),
            reference.into(),
            outcome.into(),
            case_id.map(CaseId::as_str).into(),
            reason.into(),
            i64::try_from(inbound.raw.len()).unwrap_or(i64::MAX).into(),
            sealed.into(),
        ],
    );
    // An email's own Message-ID threads later replies onto its case.
    if let (Some(mid), Some(case), "email") =
        (&inbound.reference, case_id, inbound.channel.as_str())
    {
        pending.insert(
            MAIL_THREADS,
            vec![master.lookup(mid).into(), case.as_str().into()],
        );
    }
    if let (Some(hash), Some(case)) = (&inbound.reporter_link, case_id) {
        pending.insert(
            REPORTER_LINKS,
            vec![
                hash.as_str().into(),
                case.as_str().into(),
                inbound.received_at.into(),
            ],
        );
    }
    Ok(())
}

const INBOUND: Insert = Insert {
    into: "INSERT INTO inbound (received_at, channel, source, reference, outcome, case_id, reason, size, raw)",
    tail: "",
};
const MAIL_THREADS: Insert = Insert {
    into: "INSERT INTO mail_threads (message_id, case_id)",
    tail: "ON CONFLICT (message_id) DO NOTHING",
};
const REPORTER_LINKS: Insert = Insert {
    into: "INSERT INTO reporter_links (token_hash, case_id, created_at)",
    tail: "",
};

fn entry(r: &DbRow) -> Result<InboundEntry, StoreError> {
    Ok(InboundEntry {
        id: r.try_get(0)?,
        received_at: r.try_get(1)?,
        channel: r.try_get(2)?,
        source: r.try_get(3)?,
        outcome: r.try_get(4)?,
        case_id: r.try_get(5)?,
        reason: r.try_get(6)?,
        size: r.try_get(7)?,
    })
}

macro_rules! entry_columns {
    () => {
        "id, received_at, channel, source, outcome, case_id, reason, size"
    };
}

impl Store {
    fn master(&self) -> Result<&Keys, StoreError> {
        self.master.as_deref().ok_or(StoreError::NoKey)
    }

    /// Keeps a message that could not be processed, with the reason. Returns
    /// its number, or `AlreadyReceived` if the channel delivered the same
    /// reference before (a redelivery is not quarantined twice).
    pub async fn quarantine(&self, inbound: NewInbound, reason: &str) -> Result<i64, StoreError> {
        let master = self.master()?;
        let mut conn = self.pool.begin_with(dialect::BEGIN_WRITE).await?;
        super::keys::sync(&mut conn, master).await?;
        if let Some(seen) = seen(
            &mut conn,
            None,
            Some(master),
            &inbound.channel,
            inbound.reference.as_deref(),
        )
        .await?
        {
            return Err(StoreError::AlreadyReceived(seen));
        }
        let inbound = NewInbound {
            reporter_link: None,
            ..inbound
        };
        let mut pending = Pending::default();
        record(
            &mut pending,
            master,
            &inbound,
            "quarantined",
            None,
            Some(reason),
        )?;
        // Only the inbound row waits (no case, no link), and this
        // transaction holds the write lock: the newest id is its own.
        pending.flush(&mut conn).await?;
        let id: i64 = sqlx::query_scalar("SELECT MAX(id) FROM inbound")
            .fetch_one(&mut *conn)
            .await?;
        conn.commit().await?;
        Ok(id)
    }

    /// Whether this channel delivered this reference before, and what it became.
    pub async fn already_received(
        &self,
        channel: &str,
        reference: &str,
    ) -> Result<Option<String>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        seen(
            &mut conn,
            None,
            self.master.as_deref(),
            channel,
            Some(reference),
        )
        .await
    }

    /// The quarantine, newest first.
    pub async fn quarantined(&self, limit: i64) -> Result<Vec<InboundEntry>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            entry_columns!(),
            " FROM inbound WHERE outcome = 'quarantined' ORDER BY received_at DESC, id DESC LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(entry).collect()
    }

    /// The inbound messages that made or joined a case, oldest first.
    pub async fn inbound_for_case(
        &self,
        case_id: &CaseId,
    ) -> Result<Vec<InboundEntry>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            entry_columns!(),
            " FROM inbound WHERE case_id = $1 ORDER BY id"
        ))
        .bind(case_id.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(entry).collect()
    }

    /// One inbound message's entry and raw bytes.
    pub async fn inbound_raw(
        &self,
        id: i64,
    ) -> Result<Option<(InboundEntry, Vec<u8>)>, StoreError> {
        let master = self.master()?;
        let row = sqlx::query(concat!(
            "SELECT ",
            entry_columns!(),
            ", raw FROM inbound WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let e = entry(&row)?;
        let sealed: Vec<u8> = row.try_get(8)?;
        let raw = master.open_bytes(&raw_label(&e.channel, e.received_at, &e.source), &sealed)?;
        Ok(Some((e, raw)))
    }

    /// The case a reporter's status link (by its token's hash) opens.
    pub async fn reporter_link_case(&self, token_hash: &str) -> Result<Option<CaseId>, StoreError> {
        let case: Option<String> =
            sqlx::query_scalar("SELECT case_id FROM reporter_links WHERE token_hash = $1")
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await?;
        case.map(|c| CaseId::new(c).map_err(|e| StoreError::Corrupt(e.to_string())))
            .transpose()
    }

    /// Files a Message-ID under a case, for threading replies.
    pub async fn add_thread_id(
        &self,
        message_id: &str,
        case_id: &CaseId,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO mail_threads (message_id, case_id) VALUES ($1, $2) ON CONFLICT (message_id) DO NOTHING",
        )
        .bind(self.master()?.lookup(message_id))
        .bind(case_id.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The case the first of these Message-IDs belongs to.
    pub async fn thread_case(&self, message_ids: &[String]) -> Result<Option<CaseId>, StoreError> {
        let master = self.master()?;
        for id in message_ids {
            let case: Option<String> =
                sqlx::query_scalar("SELECT case_id FROM mail_threads WHERE message_id = $1")
                    .bind(master.lookup(id))
                    .fetch_optional(&self.pool)
                    .await?;
            if let Some(c) = case {
                return CaseId::new(c)
                    .map(Some)
                    .map_err(|e| StoreError::Corrupt(e.to_string()));
            }
        }
        Ok(None)
    }

    /// Stores a file sent with a report, sealed (name and content) with the
    /// case's own data key, like its events.
    pub async fn add_attachment(
        &self,
        case_id: &CaseId,
        name: &str,
        content_type: &str,
        content: &[u8],
    ) -> Result<i64, StoreError> {
        let master = self.master()?;
        let mut conn = self.pool.begin_with(dialect::BEGIN_WRITE).await?;
        super::keys::sync(&mut conn, master).await?;
        let dk = super::store::data_key_for_writing(&mut conn, Some(master), case_id).await?;
        let label = format!("attachment:{case_id}");
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO attachments (case_id, name, content_type, size, content)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(case_id.as_str())
        .bind(dk.seal_bytes(&label, name.as_bytes())?)
        .bind(content_type)
        .bind(i64::try_from(content.len()).unwrap_or(i64::MAX))
        .bind(dk.seal_bytes(&label, content)?)
        .fetch_one(&mut *conn)
        .await?;
        conn.commit().await?;
        Ok(id)
    }

    async fn case_key(&self, case_id: &CaseId) -> Result<crate::seal::DataKey, StoreError> {
        let master = self.master()?;
        let mut conn = self.pool.acquire().await?;
        super::store::data_key(&mut conn, Some(master), case_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("case {case_id} has no data key")))
    }

    /// The files sent with a case's report.
    pub async fn attachments(&self, case_id: &CaseId) -> Result<Vec<Attachment>, StoreError> {
        let label = format!("attachment:{case_id}");
        let rows = sqlx::query(
            "SELECT id, name, content_type, size FROM attachments WHERE case_id = $1 ORDER BY id",
        )
        .bind(case_id.as_str())
        .fetch_all(&self.pool)
        .await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let dk = self.case_key(case_id).await?;
        rows.iter()
            .map(|r| {
                let name: Vec<u8> = r.try_get(1)?;
                Ok(Attachment {
                    id: r.try_get(0)?,
                    name: String::from_utf8_lossy(&dk.open_bytes(&label, &name)?).into_owned(),
                    content_type: r.try_get(2)?,
                    size: r.try_get(3)?,
                })
            })
            .collect()
    }

    /// One attachment of a case, with its content.
    pub async fn attachment(
        &self,
        case_id: &CaseId,
        id: i64,
    ) -> Result<Option<(Attachment, Vec<u8>)>, StoreError> {
        let label = format!("attachment:{case_id}");
        let row = sqlx::query(
            "SELECT id, name, content_type, size, content FROM attachments WHERE case_id = $1 AND id = $2",
        )
        .bind(case_id.as_str())
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let dk = self.case_key(case_id).await?;
        let name: Vec<u8> = r.try_get(1)?;
        let content: Vec<u8> = r.try_get(4)?;
        Ok(Some((
            Attachment {
                id: r.try_get(0)?,
                name: String::from_utf8_lossy(&dk.open_bytes(&label, &name)?).into_owned(),
                content_type: r.try_get(2)?,
                size: r.try_get(3)?,
            },
            dk.open_bytes(&label, &content)?,
        )))
    }
}

impl Store {
    /// Marks a quarantined message as filed into `case_id` by the SRT.
    pub async fn release_quarantined(&self, id: i64, case_id: &CaseId) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE inbound SET outcome = 'released', case_id = $2 WHERE id = $1 AND outcome = 'quarantined'",
        )
        .bind(id)
        .bind(case_id.as_str())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}

impl Store {
    /// How many cases are held at `stage` and how many messages sit in
    /// quarantine, in one read: what the SRT's inbox shows beside its page.
    /// The quarantine's count is kept by the database with every inbound
    /// row (migration 0025), so this reads one row however full a flood
    /// made the quarantine.
    pub async fn waiting(&self, stage: &str) -> Result<(i64, i64), StoreError> {
        let row = sqlx::query(
            "SELECT COALESCE((SELECT n FROM stage_totals WHERE stage = $1), 0),
                    COALESCE((SELECT n FROM quarantine_total WHERE id = 1), 0)",
        )
        .bind(stage)
        .fetch_one(&self.pool)
        .await?;
        Ok((row.try_get(0)?, row.try_get(1)?))
    }
}

/// Replaces channel references stored in clear (before they were hashed)
/// with their keyed hashes, once: a database written by an older embargo.
pub(crate) async fn hash_clear_references(
    conn: &mut Conn,
    master: &Keys,
) -> Result<(), StoreError> {
    let done: Option<i64> = sqlx::query_scalar("SELECT id FROM lookup_hashed WHERE id = 1")
        .fetch_optional(&mut *conn)
        .await?;
    if done.is_some() {
        return Ok(());
    }
    let mut tx = conn.begin_with(dialect::BEGIN_WRITE).await?;
    let like = format!("{}%", crate::seal::LOOKUP_PREFIX);
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, reference FROM inbound WHERE reference IS NOT NULL AND reference NOT LIKE $1",
    )
    .bind(&like)
    .fetch_all(&mut *tx)
    .await?;
    for (id, reference) in rows {
        sqlx::query("UPDATE inbound SET reference = $1 WHERE id = $2")
            .bind(master.lookup(&reference))
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    let threads: Vec<(String, String)> =
        sqlx::query_as("SELECT message_id, case_id FROM mail_threads WHERE message_id NOT LIKE $1")
            .bind(&like)
            .fetch_all(&mut *tx)
            .await?;
    for (mid, case) in threads {
        sqlx::query(
            "INSERT INTO mail_threads (message_id, case_id) VALUES ($1, $2) ON CONFLICT (message_id) DO NOTHING",
        )
        .bind(master.lookup(&mid))
        .bind(&case)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM mail_threads WHERE message_id = $1")
            .bind(&mid)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("INSERT INTO lookup_hashed (id) VALUES (1)")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}
