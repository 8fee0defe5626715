//! Moving a deployment from SQLite to PostgreSQL (`embargo migrate`): every
//! table copied as it is stored, so the log is byte for byte the same and
//! its chain verifies on the copy.

use sqlx::{QueryBuilder, Row};

use crate::{StoreError, postgres, sqlite};

/// Rows per insert: well under PostgreSQL's 65,535 bound values for the
/// widest table.
const ROWS_PER_INSERT: usize = 500;

/// What a copy did, table by table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Copied {
    /// Each table with the rows it holds on both sides now.
    pub tables: Vec<(String, u64)>,
    /// The chain's head on both: the newest event's number and hash.
    pub head: Option<(i64, String)>,
}

/// A column of the target and how its values travel.
struct Column {
    name: String,
    kind: Kind,
}

#[derive(Clone, Copy)]
enum Kind {
    Int,
    Text,
    Bytes,
}

/// Copies every table of `from` into `to`, which must hold no case, event
/// or person yet; `progress` hears each table's name, rows done and rows in
/// all, as it goes. The counts of every table and the chain's head are
/// compared at the end.
pub(crate) async fn copy(
    from: &sqlite::Store,
    to: &postgres::Store,
    progress: &mut (dyn FnMut(&str, u64, u64) + Send),
) -> Result<Copied, StoreError> {
    for table in ["events", "cases", "people", "inbound"] {
        let n: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(&to.pool)
                .await?;
        if n > 0 {
            return Err(StoreError::NotEmpty(format!(
                "{table} has {n} rows; embargo migrate copies into a new, empty database"
            )));
        }
    }
    let tables = tables(to).await?;
    // One snapshot of the source (a read transaction in WAL mode), one
    // transaction on the target: the copy is all of one moment, or nothing.
    let mut source = from.pool.begin().await?;
    let mut tx = to.pool.begin_with(postgres::dialect::BEGIN_WRITE).await?;
    let mut copied = Vec::with_capacity(tables.len());
    for (table, columns) in &tables {
        // What the target's own start wrote there (the key check, the read
        // model's mark, the quarantine's zero) gives way to the source's.
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DELETE FROM {table}")))
            .execute(&mut *tx)
            .await?;
        let total: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(&mut *source)
                .await?;
        let total = u64::try_from(total).unwrap_or_default();
        let names = columns
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        // In the source's own order (its rowid), a batch at a time.
        let mut done = 0u64;
        let mut after = i64::MIN;
        progress(table, 0, total);
        loop {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT rowid, {names} FROM {table} WHERE rowid > $1 ORDER BY rowid LIMIT $2"
            )))
            .bind(after)
            .bind(i64::try_from(ROWS_PER_INSERT).unwrap_or(500))
            .fetch_all(&mut *source)
            .await?;
            let Some(last) = rows.last() else { break };
            after = last.try_get(0)?;
            let mut insert = QueryBuilder::new(format!("INSERT INTO {table} ({names}) "));
            let mut failed = None;
            insert.push_values(&rows, |mut values, row| {
                for (i, column) in columns.iter().enumerate() {
                    let bound = match column.kind {
                        Kind::Int => row.try_get::<Option<i64>, _>(i + 1).map(|v| {
                            values.push_bind(v);
                        }),
                        Kind::Text => row.try_get::<Option<String>, _>(i + 1).map(|v| {
                            values.push_bind(v);
                        }),
                        Kind::Bytes => row.try_get::<Option<Vec<u8>>, _>(i + 1).map(|v| {
                            values.push_bind(v);
                        }),
                    };
                    if let Err(e) = bound {
                        failed.get_or_insert(e);
                    }
                }
            });
            if let Some(e) = failed {
                return Err(e.into());
            }
            insert.build().execute(&mut *tx).await?;
            done += u64::try_from(rows.len()).unwrap_or_default();
            progress(table, done, total);
        }
        copied.push((table.clone(), done));
    }
    // Identity columns go on from the highest id copied.
    for (table, columns) in &tables {
        if columns.iter().any(|c| c.name == "id") && identity(&mut tx, table).await? {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
            )))
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    // The check: every table's count, and the chain's head, on both sides.
    for (table, n) in &copied {
        let there: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(&to.pool)
                .await?;
        if u64::try_from(there).ok() != Some(*n) {
            return Err(StoreError::Corrupt(format!(
                "{table}: {n} rows copied, {there} in the target"
            )));
        }
    }
    let head_of = "SELECT seq, hash FROM chain_head WHERE id = 1";
    let head: Option<(i64, String)> = sqlx::query_as(head_of).fetch_optional(&mut *source).await?;
    let copied_head: Option<(i64, String)> =
        sqlx::query_as(head_of).fetch_optional(&to.pool).await?;
    if head != copied_head {
        return Err(StoreError::Corrupt(
            "the chain's head differs between the source and the copy".into(),
        ));
    }
    Ok(Copied {
        tables: copied,
        head,
    })
}

/// The target's tables with the columns the source has too (not the
/// `rowid` PostgreSQL keeps for key rotations, which it makes itself),
/// tables others refer to first.
async fn tables(to: &postgres::Store) -> Result<Vec<(String, Vec<Column>)>, StoreError> {
    let rows = sqlx::query(
        "SELECT c.table_name::text, c.column_name::text, c.data_type::text
         FROM information_schema.columns c
         JOIN information_schema.tables t
           ON t.table_schema = c.table_schema AND t.table_name = c.table_name
         WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
           AND c.table_name <> 'schema_migrations' AND c.column_name <> 'rowid'
         ORDER BY c.table_name, c.ordinal_position",
    )
    .fetch_all(&to.pool)
    .await?;
    let referenced: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT ccu.table_name::text
         FROM information_schema.referential_constraints r
         JOIN information_schema.constraint_column_usage ccu
           ON ccu.constraint_name = r.unique_constraint_name
         WHERE r.constraint_schema = current_schema()",
    )
    .fetch_all(&to.pool)
    .await?;
    let mut tables: Vec<(String, Vec<Column>)> = Vec::new();
    for r in &rows {
        let table: String = r.try_get(0)?;
        let name: String = r.try_get(1)?;
        let kind = match r.try_get::<String, _>(2)?.as_str() {
            "bigint" => Kind::Int,
            "text" => Kind::Text,
            "bytea" => Kind::Bytes,
            other => {
                return Err(StoreError::Corrupt(format!(
                    "{table}.{name}: a column of type {other}, which the copy does not know"
                )));
            }
        };
        match tables.last_mut() {
            Some((t, columns)) if *t == table => columns.push(Column { name, kind }),
            _ => tables.push((table, vec![Column { name, kind }])),
        }
    }
    // A table others refer to goes first (people, projects); those that
    // refer to them, and the quarantine's count after `inbound` (its
    // trigger counts as rows arrive; the copied count replaces that),
    // follow in name order.
    tables.sort_by_key(|(t, _)| (!referenced.contains(t), t == "quarantine_total"));
    Ok(tables)
}

/// Whether `table.id` is an identity column (its sequence goes on).
async fn identity(conn: &mut sqlx::PgConnection, table: &str) -> Result<bool, StoreError> {
    let yes: Option<String> = sqlx::query_scalar(
        "SELECT is_identity::text FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = $1 AND column_name = 'id'",
    )
    .bind(table)
    .fetch_optional(conn)
    .await?;
    Ok(yes.as_deref() == Some("YES"))
}
