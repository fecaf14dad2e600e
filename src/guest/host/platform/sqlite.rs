//! `fermyon:spin/sqlite@2.0.0` (spin-sdk 2–5's `spin_sdk::sqlite`) and
//! `spin:sqlite/sqlite@3.1.0` (spin-sdk 6 and later, sync and async
//! functions) over [`crate::guest::data::sqlite`]: a connection opens only a database
//! the component declares, and its statements run off the async workers.

use wasmtime::component::{Accessor, FutureReader, Resource, StreamReader};

use super::{Platform, sqlite_v2 as v2, sqlite_v3 as v3};
use crate::guest::data::sqlite::{Rows, SqlError, SqliteConnection, Value};
use crate::guest::host::{Held, HostState, MAX_CONNECTIONS_PER_INSTANCE, Warning};
use tokio::sync::OwnedSemaphorePermit;

/// The conversions between one version's generated types and
/// [`crate::guest::data::sqlite`]'s (the two versions' types are identical but distinct).
macro_rules! conversions {
    ($v:ident) => {
        impl From<SqlError> for $v::Error {
            fn from(e: SqlError) -> Self {
                match e {
                    SqlError::NoSuchDatabase => $v::Error::NoSuchDatabase,
                    SqlError::AccessDenied => $v::Error::AccessDenied,
                    SqlError::InvalidConnection => $v::Error::InvalidConnection,
                    SqlError::Io(why) => $v::Error::Io(why),
                }
            }
        }

        impl From<$v::Value> for Value {
            fn from(v: $v::Value) -> Self {
                match v {
                    $v::Value::Integer(i) => Value::Integer(i),
                    $v::Value::Real(f) => Value::Real(f),
                    $v::Value::Text(s) => Value::Text(s),
                    $v::Value::Blob(b) => Value::Blob(b),
                    $v::Value::Null => Value::Null,
                }
            }
        }

        impl From<Value> for $v::Value {
            fn from(v: Value) -> Self {
                match v {
                    Value::Integer(i) => $v::Value::Integer(i),
                    Value::Real(f) => $v::Value::Real(f),
                    Value::Text(s) => $v::Value::Text(s),
                    Value::Blob(b) => $v::Value::Blob(b),
                    Value::Null => $v::Value::Null,
                }
            }
        }

        impl From<Vec<Value>> for $v::RowResult {
            fn from(values: Vec<Value>) -> Self {
                $v::RowResult {
                    values: values.into_iter().map(Into::into).collect(),
                }
            }
        }

        impl From<Rows> for $v::QueryResult {
            fn from(rows: Rows) -> Self {
                $v::QueryResult {
                    columns: rows.columns,
                    rows: rows.rows.into_iter().map(Into::into).collect(),
                }
            }
        }
    };
}

conversions!(v2);
conversions!(v3);

impl HostState {
    /// Whether the component may open another connection now: what to
    /// open it with and the instance's place for it, or the error (an
    /// undeclared database is logged, once per instance).
    fn sqlite_opener(
        &mut self,
        database: &str,
    ) -> Result<
        (
            crate::guest::data::sqlite::SqliteAccess,
            OwnedSemaphorePermit,
        ),
        SqlError,
    > {
        let Some(held) = self.slot(Held::Sqlite) else {
            return Err(SqlError::Io(format!(
                "too many open connections: an instance holds at most {MAX_CONNECTIONS_PER_INSTANCE}"
            )));
        };
        if !self.sqlite.labels.iter().any(|l| l == database)
            && self.first_warning(Warning::SqliteDenied)
        {
            tracing::warn!(
                component = %self.outbound.component,
                request_id = %self.outbound.request_id(),
                database = %database,
                "SQLite database not in sqlite_databases; access denied (logged once per instance)"
            );
        }
        Ok((self.sqlite.clone(), held))
    }

    /// Opens a database the component declared, off the async workers.
    async fn open_sqlite(
        &mut self,
        database: &str,
    ) -> Result<Resource<SqliteConnection>, SqlError> {
        let (access, held) = self.sqlite_opener(database)?;
        let conn = access.open(database, held).await?;
        self.table
            .push(conn)
            .map_err(|e| SqlError::Io(e.to_string()))
    }

    fn last_insert_rowid_of(&self, handle: &Resource<SqliteConnection>) -> i64 {
        self.sqlite_connection(handle)
            .map_or(0, |c| c.last_insert_rowid())
    }

    fn changes_of(&self, handle: &Resource<SqliteConnection>) -> u64 {
        self.sqlite_connection(handle).map_or(0, |c| c.changes())
    }

    /// The open database behind a guest's handle.
    fn sqlite_connection(
        &self,
        handle: &Resource<SqliteConnection>,
    ) -> Result<SqliteConnection, SqlError> {
        self.table
            .get(handle)
            .cloned()
            .map_err(|_| SqlError::InvalidConnection)
    }
}

/// Runs a statement on the connection behind a guest's handle.
async fn execute(
    conn: Result<SqliteConnection, SqlError>,
    statement: String,
    parameters: Vec<Value>,
) -> Result<Rows, SqlError> {
    let conn = conn?;
    conn.execute(statement, parameters).await.inspect_err(|e| {
        tracing::debug!(database = %conn.label(), "SQLite statement failed: {e:?}");
    })
}

impl v2::Host for HostState {}

impl v2::HostConnection for HostState {
    async fn open(&mut self, database: String) -> Result<Resource<SqliteConnection>, v2::Error> {
        Ok(self.open_sqlite(&database).await?)
    }

    async fn execute(
        &mut self,
        connection: Resource<SqliteConnection>,
        statement: String,
        parameters: Vec<v2::Value>,
    ) -> Result<v2::QueryResult, v2::Error> {
        let conn = self.sqlite_connection(&connection);
        let parameters = parameters.into_iter().map(Into::into).collect();
        execute(conn, statement, parameters)
            .await
            .map(Into::into)
            .map_err(Into::into)
    }

    fn drop(&mut self, connection: Resource<SqliteConnection>) -> wasmtime::Result<()> {
        self.table.delete(connection)?;
        Ok(())
    }
}

impl v3::Host for HostState {}

impl v3::HostConnection for HostState {
    async fn open(&mut self, database: String) -> Result<Resource<SqliteConnection>, v3::Error> {
        Ok(self.open_sqlite(&database).await?)
    }

    async fn execute(
        &mut self,
        connection: Resource<SqliteConnection>,
        statement: String,
        parameters: Vec<v3::Value>,
    ) -> Result<v3::QueryResult, v3::Error> {
        let conn = self.sqlite_connection(&connection);
        let parameters = parameters.into_iter().map(Into::into).collect();
        execute(conn, statement, parameters)
            .await
            .map(Into::into)
            .map_err(Into::into)
    }

    fn last_insert_rowid(&mut self, connection: Resource<SqliteConnection>) -> i64 {
        self.last_insert_rowid_of(&connection)
    }

    fn changes(&mut self, connection: Resource<SqliteConnection>) -> u64 {
        self.changes_of(&connection)
    }

    fn drop(&mut self, connection: Resource<SqliteConnection>) -> wasmtime::Result<()> {
        self.table.delete(connection)?;
        Ok(())
    }
}

impl<U> v3::HostConnectionWithStore<U> for Platform {
    async fn open_async(
        accessor: &Accessor<U, Self>,
        database: String,
    ) -> Result<Resource<SqliteConnection>, v3::Error> {
        let (opener, held) = accessor.with(|mut access| access.get().sqlite_opener(&database))?;
        let conn = opener.open(&database, held).await?;
        accessor.with(|mut access| {
            access
                .get()
                .table
                .push(conn)
                .map_err(|e| v3::Error::Io(e.to_string()))
        })
    }

    /// The rows on a stream, then `ok` on the future (they are read whole
    /// first, so an error comes before any row).
    async fn execute_async(
        accessor: &Accessor<U, Self>,
        connection: Resource<SqliteConnection>,
        statement: String,
        parameters: Vec<v3::Value>,
    ) -> wasmtime::Result<
        Result<
            (
                Vec<String>,
                StreamReader<v3::RowResult>,
                FutureReader<Result<(), v3::Error>>,
            ),
            v3::Error,
        >,
    > {
        let conn = accessor.with(|mut access| access.get().sqlite_connection(&connection));
        let parameters = parameters.into_iter().map(Into::into).collect();
        let rows = match execute(conn, statement, parameters).await {
            Ok(rows) => rows,
            Err(e) => return Ok(Err(e.into())),
        };
        accessor.with(|mut access| {
            let values: Vec<v3::RowResult> = rows.rows.into_iter().map(Into::into).collect();
            let stream = StreamReader::new(&mut access, values)?;
            let done = FutureReader::new(&mut access, async { wasmtime::error::Ok(Ok(())) })?;
            Ok(Ok((rows.columns, stream, done)))
        })
    }

    async fn last_insert_rowid_async(
        accessor: &Accessor<U, Self>,
        connection: Resource<SqliteConnection>,
    ) -> i64 {
        accessor.with(|mut access| access.get().last_insert_rowid_of(&connection))
    }

    async fn changes_async(
        accessor: &Accessor<U, Self>,
        connection: Resource<SqliteConnection>,
    ) -> u64 {
        accessor.with(|mut access| access.get().changes_of(&connection))
    }
}
