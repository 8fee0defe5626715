//! Master key rotation, online: everything sealed with the master key (the
//! cases' data keys, the lookup key, TOTP seeds, channel settings, raw
//! inbound messages, job payloads) is sealed again under a new key in short
//! transactions while the server goes on serving.
//!
//! 1. [`Store::begin_master_rotation`] names the new key in `key_check`.
//!    From then on every transaction that seals reads that row first
//!    ([`sync`]) and seals with the new key, in this process or another.
//! 2. [`Store::rotation_step`] moves a batch of values and says where the
//!    next begins. A value already under the new key is left alone, so a
//!    rotation killed at any point resumes by starting again.
//! 3. [`Store::finish_master_rotation`] moves what is left and names the new
//!    key as the only one, in one transaction; after it the old key opens
//!    nothing that the database needs.

use sqlx::Row;

use super::{Conn, DbRow, Store, dialect};
use crate::{
    Keys, Rotation, RotationCursor, RotationStep, StoreError,
    seal::{self, KeyState, Resealed, Sealed},
};

/// A column sealed with the master key, and how its label is made.
struct SealedColumn {
    table: &'static str,
    column: &'static str,
    /// The columns the label is made of, after `rowid` and the value.
    label_columns: &'static str,
    text: bool,
    label: fn(&DbRow) -> Result<String, sqlx::Error>,
}

const SEALED: &[SealedColumn] = &[
    SealedColumn {
        table: "case_keys",
        column: "wrapped",
        label_columns: "case_id",
        text: true,
        label: |r| Ok(seal::case_key_label(&r.try_get::<String, _>(2)?)),
    },
    SealedColumn {
        table: "store_keys",
        column: "wrapped",
        label_columns: "name",
        text: true,
        label: |r| Ok(seal::store_key_label(&r.try_get::<String, _>(2)?)),
    },
    SealedColumn {
        table: "people",
        column: "totp_secret",
        label_columns: "id",
        text: true,
        label: |r| Ok(format!("totp:{}", r.try_get::<String, _>(2)?)),
    },
    SealedColumn {
        table: "channels",
        column: "settings",
        label_columns: "name",
        text: false,
        label: |r| Ok(format!("channel:{}", r.try_get::<String, _>(2)?)),
    },
    SealedColumn {
        table: "inbound",
        column: "raw",
        label_columns: "channel, received_at, source",
        text: false,
        label: |r| {
            Ok(format!(
                "inbound:{}:{}:{}",
                r.try_get::<String, _>(2)?,
                r.try_get::<i64, _>(3)?,
                r.try_get::<String, _>(4)?
            ))
        },
    },
    SealedColumn {
        table: "outbox",
        column: "payload",
        label_columns: "key",
        text: false,
        label: |r| Ok(format!("outbox:{}", r.try_get::<String, _>(2)?)),
    },
];

/// The database's key state, if it has one yet.
pub(crate) async fn state(conn: &mut Conn) -> Result<Option<KeyState>, StoreError> {
    let row: Option<(String, Option<String>)> =
        sqlx::query_as("SELECT check_value, next_check FROM key_check WHERE id = 1")
            .fetch_optional(&mut *conn)
            .await?;
    Ok(row.map(|(check, next)| KeyState { check, next }))
}

/// Makes `keys` seal with the key the database names, inside the caller's
/// transaction: a rotation that another process begins or finishes is
/// followed before anything is sealed.
pub(crate) async fn sync(conn: &mut Conn, keys: &Keys) -> Result<(), StoreError> {
    match state(conn).await? {
        Some(state) => keys.sync(&state),
        None => Ok(()),
    }
}

/// Moves up to `limit` values from `from` on; returns the step.
async fn move_batch(
    conn: &mut Conn,
    keys: &Keys,
    from: RotationCursor,
    limit: u32,
) -> Result<RotationStep, StoreError> {
    let mut step = RotationStep {
        examined: 0,
        moved: 0,
        next: Some(from),
    };
    let mut cursor = from;
    while let Some(col) = SEALED.get(cursor.table) {
        let left = i64::from(limit) - i64::try_from(step.examined).unwrap_or(i64::MAX);
        if left <= 0 {
            break;
        }
        let sql = format!(
            "SELECT rowid, {col_name}, {labels} FROM {table} \
             WHERE rowid > $1 AND {col_name} IS NOT NULL ORDER BY rowid LIMIT $2",
            col_name = col.column,
            labels = col.label_columns,
            table = col.table,
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(cursor.after)
            .bind(left)
            .fetch_all(&mut *conn)
            .await?;
        let full = i64::try_from(rows.len()).unwrap_or(i64::MAX) == left;
        for row in &rows {
            let rowid: i64 = row.try_get(0)?;
            let label = (col.label)(row)?;
            step.examined += 1;
            cursor.after = rowid;
            let resealed = if col.text {
                let stored: String = row.try_get(1)?;
                if !seal::is_sealed(&stored) {
                    continue;
                }
                keys.reseal(&label, Sealed::Text(&stored))?
            } else {
                let stored: Vec<u8> = row.try_get(1)?;
                keys.reseal(&label, Sealed::Bytes(&stored))?
            };
            let Some(resealed) = resealed else { continue };
            let sql = format!(
                "UPDATE {table} SET {column} = $1 WHERE rowid = $2",
                table = col.table,
                column = col.column
            );
            let update = sqlx::query(sqlx::AssertSqlSafe(sql));
            let update = match resealed {
                Resealed::Text(t) => update.bind(t),
                Resealed::Bytes(b) => update.bind(b),
            };
            update.bind(rowid).execute(&mut *conn).await?;
            step.moved += 1;
        }
        if full {
            break;
        }
        cursor = RotationCursor {
            table: cursor.table + 1,
            after: 0,
        };
    }
    step.next = (cursor.table < SEALED.len()).then_some(cursor);
    Ok(step)
}

impl Store {
    fn keys(&self) -> Result<&Keys, StoreError> {
        self.master.as_deref().ok_or(StoreError::NoKey)
    }

    /// Where the master key stands.
    pub async fn master_key_rotation(&self) -> Result<Rotation, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let state = state(&mut conn).await?.ok_or(StoreError::NoKey)?;
        Ok(match state.next {
            None => Rotation::Idle { check: state.check },
            Some(to) => Rotation::Running {
                from: state.check,
                to,
            },
        })
    }

    /// Begins moving to the key with check value `to` (a key this store
    /// was opened with): from now on everything is sealed with it. Begun
    /// already with the same key: nothing to do. Returns whether the
    /// rotation is running (false: the database is under `to` already).
    pub async fn begin_master_rotation(&self, to: &str) -> Result<bool, StoreError> {
        let keys = self.keys()?;
        let mut tx = self.pool.begin_with(dialect::BEGIN_WRITE).await?;
        let current = state(&mut tx).await?.ok_or(StoreError::NoKey)?;
        if current.check == to {
            return Ok(false);
        }
        match &current.next {
            Some(next) if next != to => {
                return Err(StoreError::Rotation(format!(
                    "another rotation (to the key {}…) is unfinished: finish it first",
                    &next[..12.min(next.len())]
                )));
            }
            _ => {}
        }
        let next = KeyState {
            check: current.check.clone(),
            next: Some(to.to_owned()),
        };
        keys.sync(&next)?;
        // The lookup hashes stay as they are: their key is kept, wrapped,
        // the first time a rotation leaves the key it was derived from.
        sqlx::query(
            "INSERT INTO store_keys (name, wrapped) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(seal::LOOKUP_KEY)
        .bind(seal::seal_store_key(
            keys,
            seal::LOOKUP_KEY,
            &keys.lookup_key(),
        )?)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE key_check SET next_check = $1 WHERE id = 1")
            .bind(to)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Moves up to `limit` values to the new key, from `from` (the start
    /// when `None`), in one short transaction.
    pub async fn rotation_step(
        &self,
        from: Option<RotationCursor>,
        limit: u32,
    ) -> Result<RotationStep, StoreError> {
        let keys = self.keys()?;
        let mut tx = self.pool.begin_with(dialect::BEGIN_WRITE).await?;
        sync(&mut tx, keys).await?;
        let step = move_batch(&mut tx, keys, from.unwrap_or_default(), limit.max(1)).await?;
        tx.commit().await?;
        Ok(step)
    }

    /// How many values the rotation has to look at in all (for progress).
    pub async fn rotation_size(&self) -> Result<u64, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let mut total = 0u64;
        for col in SEALED {
            let sql = format!(
                "SELECT COUNT(*) FROM {} WHERE {} IS NOT NULL",
                col.table, col.column
            );
            let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .fetch_one(&mut *conn)
                .await?;
            total += u64::try_from(n).unwrap_or(0);
        }
        Ok(total)
    }

    /// How many sealed values the key that seals does not open (during a
    /// rotation: what is left under the old key).
    pub async fn sealed_under_other_keys(&self) -> Result<u64, StoreError> {
        let keys = self.keys()?;
        let mut conn = self.pool.acquire().await?;
        sync(&mut conn, keys).await?;
        let mut left = 0u64;
        for col in SEALED {
            let sql = format!(
                "SELECT rowid, {c}, {l} FROM {t} WHERE {c} IS NOT NULL",
                c = col.column,
                l = col.label_columns,
                t = col.table
            );
            for row in sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(&mut *conn)
                .await?
            {
                let label = (col.label)(&row)?;
                let opens = if col.text {
                    let stored: String = row.try_get(1)?;
                    !seal::is_sealed(&stored)
                        || keys.opens_with_write_key(&label, Sealed::Text(&stored))
                } else {
                    let stored: Vec<u8> = row.try_get(1)?;
                    keys.opens_with_write_key(&label, Sealed::Bytes(&stored))
                };
                if !opens {
                    left += 1;
                }
            }
        }
        Ok(left)
    }

    /// Moves whatever is left and makes the new key the only one, in one
    /// transaction. Returns how many values were left to move.
    pub async fn finish_master_rotation(&self) -> Result<u64, StoreError> {
        let keys = self.keys()?;
        let mut tx = self.pool.begin_with(dialect::BEGIN_WRITE).await?;
        let current = state(&mut tx).await?.ok_or(StoreError::NoKey)?;
        let Some(to) = current.next.clone() else {
            return Ok(0);
        };
        keys.sync(&current)?;
        let mut moved = 0;
        let mut cursor = Some(RotationCursor::default());
        while let Some(from) = cursor {
            let step = move_batch(&mut tx, keys, from, 10_000).await?;
            moved += step.moved;
            cursor = step.next;
        }
        sqlx::query("UPDATE key_check SET check_value = $1, next_check = NULL WHERE id = 1")
            .bind(&to)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        keys.sync(&KeyState {
            check: to,
            next: None,
        })?;
        Ok(moved)
    }
}
