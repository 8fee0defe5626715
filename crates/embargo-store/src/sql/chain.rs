//! The hash chain: each event's hash covers the previous hash and the event's
//! own content (sequence number, case, time, actor, kind, payload).

use super::{
    Conn,
    pending::{Insert, Pending},
};
use crate::{ChainBreak, StoreError};
use embargo_core::{CaseId, Event};
use sha2::{Digest, Sha256};
use sqlx::Row;

/// The hash before the first event.
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The newest event's number and hash.
pub(crate) struct Head {
    seq: i64,
    hash: String,
}

fn hash(
    prev: &str,
    seq: i64,
    case_id: &str,
    at: &str,
    actor: &str,
    kind: &str,
    payload: &str,
) -> String {
    let mut h = Sha256::new();
    for part in [prev, &seq.to_string(), case_id, at, actor, kind, payload] {
        // Length-prefix every field so no two different rows hash alike.
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

pub(crate) async fn head(conn: &mut Conn) -> Result<Head, StoreError> {
    let row = sqlx::query("SELECT seq, hash FROM chain_head WHERE id = 1")
        .fetch_optional(&mut *conn)
        .await?;
    Ok(match row {
        Some(r) => Head {
            seq: r.try_get(0)?,
            hash: r.try_get(1)?,
        },
        None => Head {
            seq: 0,
            hash: GENESIS.to_owned(),
        },
    })
}

pub(crate) async fn set_head(conn: &mut Conn, head: &Head) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO chain_head (id, seq, hash) VALUES (1, $1, $2)
         ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
    )
    .bind(head.seq)
    .bind(&head.hash)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The event's row of `events`, chained onto `head`, queued in `pending`
/// (the writer sends a batch's events in one statement); the new head.
pub(crate) fn append(
    pending: &mut Pending,
    head: &Head,
    case_id: &CaseId,
    event: &Event,
    payload: String,
) -> Head {
    let seq = head.seq + 1;
    let at = event.at.to_string();
    let kind = event.data.kind();
    let h = hash(
        &head.hash,
        seq,
        case_id.as_str(),
        &at,
        event.actor.as_str(),
        kind,
        &payload,
    );
    pending.insert(
        EVENTS,
        vec![
            seq.into(),
            case_id.as_str().into(),
            at.into(),
            event.actor.as_str().into(),
            kind.into(),
            payload.into(),
            head.hash.clone().into(),
            h.clone().into(),
        ],
    );
    Head { seq, hash: h }
}

const EVENTS: Insert = Insert {
    into: "INSERT INTO events (seq, case_id, at, actor, kind, payload, prev_hash, hash)",
    tail: "",
};

pub(crate) async fn verify(conn: &mut Conn) -> Result<Result<u64, ChainBreak>, StoreError> {
    let rows = sqlx::query(
        "SELECT seq, case_id, at, actor, kind, payload, prev_hash, hash FROM events ORDER BY seq",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut prev = GENESIS.to_owned();
    let mut expected_seq = 1i64;
    for r in &rows {
        let seq: i64 = r.try_get(0)?;
        let case_id: String = r.try_get(1)?;
        let kind: String = r.try_get(4)?;
        let brk = |problem: String| ChainBreak {
            seq,
            case_id: Some(case_id.clone()),
            kind: Some(kind.clone()),
            problem,
        };
        if seq != expected_seq {
            return Ok(Err(ChainBreak {
                seq: expected_seq,
                case_id: None,
                kind: None,
                problem: format!("is missing (the next stored event is {seq})"),
            }));
        }
        let prev_hash: String = r.try_get(6)?;
        if prev_hash != prev {
            return Ok(Err(brk(
                "does not follow the event before it (moved, or its predecessor changed)".into(),
            )));
        }
        let stored: String = r.try_get(7)?;
        let at: String = r.try_get(2)?;
        let actor: String = r.try_get(3)?;
        let payload: String = r.try_get(5)?;
        if hash(&prev, seq, &case_id, &at, &actor, &kind, &payload) != stored {
            return Ok(Err(brk(
                "its content does not match its hash (edited)".into()
            )));
        }
        prev = stored;
        expected_seq += 1;
    }
    let head = head(conn).await?;
    let last = expected_seq - 1;
    if head.seq != last || head.hash != prev {
        return Ok(Err(ChainBreak {
            seq: head.seq,
            case_id: None,
            kind: None,
            problem: format!(
                "the log ends at event {last} but its head records event {} (events removed from the end)",
                head.seq
            ),
        }));
    }
    Ok(Ok(u64::try_from(last).unwrap_or(0)))
}
