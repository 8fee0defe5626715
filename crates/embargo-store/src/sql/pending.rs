//! Rows a write batch has decided but not yet sent: one multi-row statement
//! per table when the batch (or a job that must read what came before it)
//! flushes them, instead of one statement per row. Each statement is a
//! hand-off to SQLite's thread and back, which is what a report cost most.
//!
//! Two kinds of rows wait here: inserts (an optional `ON CONFLICT` tail
//! makes them upserts), kept per table in the order their tables first
//! came, and counters (`n = n + delta`), summed per key, so that a batch of
//! a hundred reports moves `stage_totals` with one row. Nothing here reads
//! the database: whoever must read what is pending flushes first
//! ([`Pending::flush`]).

use super::Conn;
use crate::StoreError;
use std::collections::HashMap;

/// SQLite's limit on bound values in one statement (the bundled library's
/// `SQLITE_MAX_VARIABLE_NUMBER`, 32,766), with room to spare.
const MAX_VALUES: usize = 30_000;

/// One bound value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Value {
    Int(i64),
    MaybeInt(Option<i64>),
    Text(String),
    MaybeText(Option<String>),
    Blob(Vec<u8>),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Self {
        Value::MaybeInt(v)
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}

impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Self {
        Value::MaybeText(v)
    }
}

impl From<Option<&str>> for Value {
    fn from(v: Option<&str>) -> Self {
        Value::MaybeText(v.map(str::to_owned))
    }
}

impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Blob(v)
    }
}

/// An insert statement: `into` is `INSERT INTO t (a, b)`, `tail` what
/// follows the values (an `ON CONFLICT` clause, or nothing).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Insert {
    pub into: &'static str,
    pub tail: &'static str,
}

/// A counter table: `into` names the key columns then the counted ones,
/// `tail` adds `excluded`'s counts to the stored ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Counter {
    pub into: &'static str,
    pub tail: &'static str,
}

#[derive(Debug, Default)]
struct Rows {
    width: usize,
    rows: Vec<Vec<Value>>,
}

/// A counter table's rows: key and sums, in the order keys came, and
/// where each key is.
#[derive(Debug, Default)]
struct Sums {
    rows: Vec<(Vec<Value>, Vec<i64>)>,
    index: HashMap<Vec<Value>, usize>,
}

#[derive(Debug, Default)]
pub(crate) struct Pending {
    inserts: Vec<(Insert, Rows)>,
    counters: Vec<(Counter, Sums)>,
    /// `(channel, reference lookup)` of the inbound rows here, so that a
    /// second delivery in the same batch is seen before it is written.
    references: HashMap<(String, String), String>,
}

impl Pending {
    /// Whether nothing waits.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.inserts.is_empty() && self.counters.is_empty()
    }

    /// The case (or outcome) a pending inbound row of this channel and
    /// reference lookup was recorded with.
    pub(crate) fn reference(&self, channel: &str, lookup: &str) -> Option<&str> {
        self.references
            .get(&(channel.to_owned(), lookup.to_owned()))
            .map(String::as_str)
    }

    pub(crate) fn note_reference(&mut self, channel: &str, lookup: String, outcome: String) {
        self.references
            .insert((channel.to_owned(), lookup), outcome);
    }

    /// Queues one row of `stmt`.
    pub(crate) fn insert(&mut self, stmt: Insert, row: Vec<Value>) {
        let at = match self.inserts.iter().position(|(s, _)| *s == stmt) {
            Some(at) => at,
            None => {
                self.inserts.push((
                    stmt,
                    Rows {
                        width: row.len(),
                        rows: Vec::new(),
                    },
                ));
                self.inserts.len() - 1
            }
        };
        if let Some((_, rows)) = self.inserts.get_mut(at) {
            debug_assert_eq!(rows.width, row.len(), "{}", stmt.into);
            rows.rows.push(row);
        }
    }

    /// Adds `deltas` to the counter row `key` of `stmt`.
    pub(crate) fn count(&mut self, stmt: Counter, key: Vec<Value>, deltas: &[i64]) {
        let at = match self.counters.iter().position(|(s, _)| *s == stmt) {
            Some(at) => at,
            None => {
                self.counters.push((stmt, Sums::default()));
                self.counters.len() - 1
            }
        };
        let Some((_, sums)) = self.counters.get_mut(at) else {
            return;
        };
        match sums.index.get(&key) {
            Some(&i) => {
                if let Some((_, row)) = sums.rows.get_mut(i) {
                    for (s, d) in row.iter_mut().zip(deltas) {
                        *s += d;
                    }
                }
            }
            None => {
                sums.index.insert(key.clone(), sums.rows.len());
                sums.rows.push((key, deltas.to_vec()));
            }
        }
    }

    /// Sends everything that waits, each table's rows in as few
    /// statements as SQLite's limit on bound values allows, and empties
    /// the buffer.
    pub(crate) async fn flush(&mut self, conn: &mut Conn) -> Result<(), StoreError> {
        for (stmt, rows) in std::mem::take(&mut self.inserts) {
            let per = (MAX_VALUES / rows.width.max(1)).max(1);
            for chunk in rows.rows.chunks(per) {
                execute(conn, stmt.into, stmt.tail, chunk).await?;
            }
        }
        for (stmt, sums) in std::mem::take(&mut self.counters) {
            let rows: Vec<Vec<Value>> = sums
                .rows
                .into_iter()
                .filter(|(_, sums)| sums.iter().any(|s| *s != 0))
                .map(|(mut key, sums)| {
                    key.extend(sums.into_iter().map(Value::Int));
                    key
                })
                .collect();
            let width = rows.first().map_or(1, Vec::len);
            for chunk in rows.chunks((MAX_VALUES / width).max(1)) {
                execute(conn, stmt.into, stmt.tail, chunk).await?;
            }
        }
        self.references.clear();
        Ok(())
    }
}

async fn execute(
    conn: &mut Conn,
    into: &'static str,
    tail: &'static str,
    rows: &[Vec<Value>],
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut q = sqlx::QueryBuilder::new(into);
    q.push(" ");
    q.push_values(rows, |mut b, row| {
        for v in row {
            match v {
                Value::Int(v) => b.push_bind(*v),
                Value::MaybeInt(v) => b.push_bind(*v),
                Value::Text(v) => b.push_bind(v.clone()),
                Value::MaybeText(v) => b.push_bind(v.clone()),
                Value::Blob(v) => b.push_bind(v.clone()),
            };
        }
    });
    q.push(" ");
    q.push(tail);
    q.build().execute(&mut *conn).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Insert = Insert {
        into: "INSERT INTO t (a, b)",
        tail: "",
    };
    const C: Counter = Counter {
        into: "INSERT INTO c (k, n)",
        tail: "ON CONFLICT (k) DO UPDATE SET n = c.n + excluded.n",
    };

    /// A connection with two scratch tables, or `None` where this run has
    /// no database of this backend (PostgreSQL outside `scripts/test`).
    async fn db() -> Option<Conn> {
        let mut conn = super::super::scratch().await?;
        sqlx::raw_sql(
            "CREATE TEMP TABLE t (a BIGINT, b TEXT); \
             CREATE TEMP TABLE c (k TEXT PRIMARY KEY, n BIGINT NOT NULL)",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        Some(conn)
    }

    #[tokio::test]
    async fn rows_past_the_bound_value_limit_go_in_several_statements_and_all_arrive() {
        let Some(mut conn) = db().await else { return };
        let mut p = Pending::default();
        // 20,000 rows of two values: 40,000 values, over one statement's limit.
        for i in 0..20_000i64 {
            p.insert(T, vec![i.into(), format!("row {i}").into()]);
        }
        p.flush(&mut conn).await.unwrap();
        assert!(p.is_empty());
        let (n, sum): (i64, i64) = sqlx::query_as("SELECT COUNT(*), CAST(SUM(a) AS BIGINT) FROM t")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!((n, sum), (20_000, (0..20_000).sum()));
    }

    #[tokio::test]
    async fn counters_sum_per_key_and_add_to_what_is_stored() {
        let Some(mut conn) = db().await else { return };
        sqlx::query("INSERT INTO c (k, n) VALUES ('new', 5), ('old', 2)")
            .execute(&mut conn)
            .await
            .unwrap();
        let mut p = Pending::default();
        for _ in 0..3 {
            p.count(C, vec!["new".into()], &[1]);
        }
        p.count(C, vec!["old".into()], &[-1]);
        p.count(C, vec!["old".into()], &[1]);
        p.count(C, vec!["fresh".into()], &[1]);
        p.flush(&mut conn).await.unwrap();
        let rows: Vec<(String, i64)> = sqlx::query_as("SELECT k, n FROM c ORDER BY k")
            .fetch_all(&mut conn)
            .await
            .unwrap();
        assert_eq!(
            rows,
            vec![("fresh".into(), 1), ("new".into(), 8), ("old".into(), 2)]
        );
    }
}
