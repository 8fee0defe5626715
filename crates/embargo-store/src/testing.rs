//! For test suites and benches that run the store on PostgreSQL: a new
//! empty database on a cluster, and what a database keeps at rest.

use sqlx::{Connection, PgConnection};

use crate::StoreError;

/// Makes the database `name` on the cluster that `admin_url` (any database
/// URL there, such as `…/postgres`) reaches, if it is not there yet; the
/// new database's URL.
pub async fn postgres_database(admin_url: &str, name: &str) -> Result<String, StoreError> {
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(StoreError::Unavailable(format!(
            "not a database name for tests: {name}"
        )));
    }
    let mut conn = PgConnection::connect(admin_url).await?;
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_optional(&mut conn)
        .await?;
    if exists.is_none() {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await?;
    }
    let (base, _) = admin_url
        .rsplit_once('/')
        .ok_or_else(|| StoreError::Unavailable("a database URL ends in /NAME".into()))?;
    Ok(format!("{base}/{name}"))
}

/// Every byte the database at `url` keeps in its tables: the value of
/// every text and byte column of every table (what a dump, or its data
/// files, would hold in clear).
pub async fn postgres_at_rest(url: &str) -> Result<Vec<u8>, StoreError> {
    let mut conn = PgConnection::connect(url).await?;
    let columns: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, data_type::text
         FROM information_schema.columns
         WHERE table_schema = 'public' AND data_type IN ('text', 'bytea')",
    )
    .fetch_all(&mut conn)
    .await?;
    let mut bytes = Vec::new();
    for (table, column, kind) in columns {
        let value = if kind == "text" {
            format!("convert_to(\"{column}\", 'UTF8')")
        } else {
            format!("\"{column}\"")
        };
        let values: Vec<Option<Vec<u8>>> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT {value} FROM \"{table}\""
        )))
        .fetch_all(&mut conn)
        .await?;
        for v in values.into_iter().flatten() {
            bytes.extend(v);
            bytes.push(b'\n');
        }
    }
    Ok(bytes)
}
