//! `fermyon:spin/sqlite@2.0.0` (spin-sdk 2–5's `spin_sdk::sqlite`) over
//! [`crate::sqlite`]: a connection opens only a database the component
//! declares, and its statements run off the async workers.

use wasmtime::component::Resource;

use super::sqlite_v2 as v2;
use crate::host::HostState;
use crate::sqlite::{SqlError, SqliteConnection, Value};

impl From<SqlError> for v2::Error {
    fn from(e: SqlError) -> Self {
        match e {
            SqlError::NoSuchDatabase => v2::Error::NoSuchDatabase,
            SqlError::AccessDenied => v2::Error::AccessDenied,
            SqlError::Io(why) => v2::Error::Io(why),
        }
    }
}

fn to_host(v: v2::Value) -> Value {
    match v {
        v2::Value::Integer(i) => Value::Integer(i),
        v2::Value::Real(f) => Value::Real(f),
        v2::Value::Text(s) => Value::Text(s),
        v2::Value::Blob(b) => Value::Blob(b),
        v2::Value::Null => Value::Null,
    }
}

fn to_guest(v: Value) -> v2::Value {
    match v {
        Value::Integer(i) => v2::Value::Integer(i),
        Value::Real(f) => v2::Value::Real(f),
        Value::Text(s) => v2::Value::Text(s),
        Value::Blob(b) => v2::Value::Blob(b),
        Value::Null => v2::Value::Null,
    }
}

impl v2::Host for HostState {}

impl v2::HostConnection for HostState {
    fn open(&mut self, database: String) -> Result<Resource<SqliteConnection>, v2::Error> {
        let conn = self.sqlite.open(&database).inspect_err(|e| {
            if let SqlError::AccessDenied = e {
                tracing::warn!(
                    component = %self.outbound.component,
                    request_id = %self.outbound.request_id(),
                    database = %database,
                    "SQLite database not in sqlite_databases; access denied"
                );
            }
        })?;
        self.table
            .push(conn)
            .map_err(|e| v2::Error::Io(e.to_string()))
    }

    async fn execute(
        &mut self,
        connection: Resource<SqliteConnection>,
        statement: String,
        parameters: Vec<v2::Value>,
    ) -> Result<v2::QueryResult, v2::Error> {
        let conn = self
            .table
            .get(&connection)
            .map_err(|_| v2::Error::InvalidConnection)?
            .clone();
        let parameters = parameters.into_iter().map(to_host).collect();
        let rows = conn.execute(statement, parameters).await.inspect_err(|e| {
            tracing::debug!(database = %conn.label(), "SQLite statement failed: {e:?}");
        })?;
        Ok(v2::QueryResult {
            columns: rows.columns,
            rows: rows
                .rows
                .into_iter()
                .map(|values| v2::RowResult {
                    values: values.into_iter().map(to_guest).collect(),
                })
                .collect(),
        })
    }

    fn drop(&mut self, connection: Resource<SqliteConnection>) -> wasmtime::Result<()> {
        self.table.delete(connection)?;
        Ok(())
    }
}
