//! Helpers for tests that need a database of their own. Not part of the
//! product: here only because this is the one crate that speaks SQL.

use std::str::FromStr;

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};

use crate::StoreError;

/// The URL of `base` with `search_path` set to `schema`; [`crate::Store::connect`]
/// creates the schema and its tables on first use.
pub fn postgres_url_with_schema(base: &str, schema: &str) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options[search_path]={schema}")
}

/// Drops a schema made for a test, with everything in it.
pub async fn drop_postgres_schema(base: &str, schema: &str) -> Result<(), StoreError> {
    let options = PgConnectOptions::from_str(base)?;
    let mut conn = PgConnection::connect_with(&options).await?;
    let sql = format!(
        "DROP SCHEMA IF EXISTS \"{}\" CASCADE",
        schema.replace('"', "\"\"")
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(())
}
