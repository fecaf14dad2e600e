//! Spin's outbound PostgreSQL interfaces over
//! [`crate::guest::data::outbound_pg`]: `fermyon:spin/postgres@2.0.0` (spin-sdk
//! 2–5's `pg`, with `rdbms-types`) and `spin:postgres/postgres@3.0.0`
//! (spin-sdk 4–5's `pg3`: dates and times too), both blocking for the
//! guest and async in the host; and what every version shares (opening,
//! the `connection` resource). A connection opens only to hosts in the
//! component's `allowed_outbound_hosts`; others are `connection-failed`,
//! and logged once per instance. The types neither version has (UUIDs,
//! JSONB, ...) read as `unsupported` there, as in Spin.

use wasmtime::component::{Accessor, Resource};

use super::{Platform, postgres_v2 as v2, postgres_v3 as v3, rdbms_types as rdbms};
use crate::guest::data::outbound_pg::{CaRoot, PgConnection, PgError, PgType, PgValue};
use std::sync::Arc;

use tokio::sync::OwnedSemaphorePermit;

use crate::guest::host::{Held, HostState, MAX_CONNECTIONS_PER_INSTANCE, Warning};
use crate::model::outbound_hosts::AllowedHosts;

/// The error conversion of the 2.0 and 3.0 generated types (a query's
/// error is its text).
macro_rules! errors {
    ($v:ident) => {
        impl From<PgError> for $v::Error {
            fn from(e: PgError) -> Self {
                match e {
                    PgError::ConnectionFailed(m) | PgError::Denied(m) => {
                        $v::Error::ConnectionFailed(m)
                    }
                    PgError::BadParameter(m) => $v::Error::BadParameter(m),
                    PgError::QueryFailed(q) => $v::Error::QueryFailed(q.into_text()),
                    PgError::ValueConversionFailed(m) => $v::Error::ValueConversionFailed(m),
                    PgError::Other(m) => $v::Error::Other(m),
                }
            }
        }
    };
}

errors!(rdbms);
errors!(v3);

/// `From<$v::ParameterValue> for PgValue` for one version, `$extra`
/// matching the variants beyond those of 2.0's (less its unsigned ones).
macro_rules! parameters {
    ($v:ident, $($extra:tt)*) => {
        impl From<$v::ParameterValue> for PgValue {
            fn from(p: $v::ParameterValue) -> Self {
                use $v::ParameterValue as P;
                match p {
                    P::Boolean(v) => PgValue::Boolean(v),
                    P::Int8(v) => PgValue::Int8(v),
                    P::Int16(v) => PgValue::Int16(v),
                    P::Int32(v) => PgValue::Int32(v),
                    P::Int64(v) => PgValue::Int64(v),
                    P::Floating32(v) => PgValue::Floating32(v),
                    P::Floating64(v) => PgValue::Floating64(v),
                    P::Str(v) => PgValue::Str(v),
                    P::Binary(v) => PgValue::Binary(v),
                    P::DbNull => PgValue::Null,
                    $($extra)*
                }
            }
        }
    };
}

/// `$value` and `$type`, a row value and a column type in one version:
/// `$values` and `$types` match what is beyond 2.0's.
macro_rules! values {
    ($value:ident, $type:ident, $v:ident, { $($values:tt)* }, { $($types:tt)* }) => {
        fn $value(v: PgValue) -> $v::DbValue {
            use $v::DbValue as D;
            match v {
                PgValue::Boolean(v) => D::Boolean(v),
                PgValue::Int8(v) => D::Int8(v),
                PgValue::Int16(v) => D::Int16(v),
                PgValue::Int32(v) => D::Int32(v),
                PgValue::Int64(v) => D::Int64(v),
                PgValue::Floating32(v) => D::Floating32(v),
                PgValue::Floating64(v) => D::Floating64(v),
                PgValue::Str(v) => D::Str(v),
                PgValue::Binary(v) => D::Binary(v),
                PgValue::Null => D::DbNull,
                $($values)*
            }
        }

        fn $type(t: PgType) -> $v::DbDataType {
            use $v::DbDataType as T;
            match t {
                PgType::Boolean => T::Boolean,
                PgType::Int16 => T::Int16,
                PgType::Int32 => T::Int32,
                PgType::Int64 => T::Int64,
                PgType::Floating32 => T::Floating32,
                PgType::Floating64 => T::Floating64,
                PgType::Str => T::Str,
                PgType::Binary => T::Binary,
                $($types)*
            }
        }
    };
}

pub(super) use {parameters, values};

parameters!(rdbms,
    P::Uint8(_) | P::Uint16(_) | P::Uint32(_) | P::Uint64(_) => PgValue::Unsigned,
);
parameters!(v3,
    P::Date(v) => PgValue::Date(v),
    P::Time(v) => PgValue::Time(v),
    P::Datetime(v) => PgValue::Datetime(v),
    P::Timestamp(v) => PgValue::Timestamp(v),
);

// 2.0 has no dates or times: they are `unsupported` there.
values!(v2_value, v2_type, rdbms, { _ => D::Unsupported, }, { _ => T::Other, });
values!(v3_value, v3_type, v3, {
    PgValue::Date(v) => D::Date(v),
    PgValue::Time(v) => D::Time(v),
    PgValue::Datetime(v) => D::Datetime(v),
    PgValue::Timestamp(v) => D::Timestamp(v),
    _ => D::Unsupported,
}, {
    PgType::Date => T::Date,
    PgType::Time => T::Time,
    PgType::Datetime => T::Datetime,
    _ => T::Other,
});

/// A row set in one version's types, by its value and type conversions.
macro_rules! rows {
    ($name:ident, $v:ident, $value:ident, $type:ident) => {
        pub(super) fn $name(set: crate::guest::data::outbound_pg::RowSet) -> $v::RowSet {
            $v::RowSet {
                columns: set
                    .columns
                    .into_iter()
                    .map(|(name, t)| $v::Column {
                        name,
                        data_type: $type(t),
                    })
                    .collect(),
                rows: set
                    .rows
                    .into_iter()
                    .map(|row| row.into_iter().map($value).collect())
                    .collect(),
            }
        }
    };
}

pub(super) use rows;

rows!(v2_rows, rdbms, v2_value, v2_type);
rows!(v3_rows, v3, v3_value, v3_type);

impl HostState {
    /// Whether the instance may open another connection: the hosts it
    /// may reach, and its place for the connection.
    fn pg_may_open(&mut self) -> Result<(Arc<AllowedHosts>, OwnedSemaphorePermit), PgError> {
        let Some(held) = self.slot(Held::Postgres) else {
            return Err(PgError::ConnectionFailed(format!(
                "too many connections: an instance holds at most {MAX_CONNECTIONS_PER_INSTANCE}"
            )));
        };
        Ok((self.outbound.allowed.clone(), held))
    }

    /// Logs a denied address, once per instance (never its password).
    fn pg_denied(&mut self, error: &PgError) {
        if let PgError::Denied(why) = error
            && self.first_warning(Warning::PostgresDenied)
        {
            tracing::warn!(
                component = %self.outbound.component,
                request_id = %self.outbound.request_id(),
                "PostgreSQL {why}; denied (allowed_outbound_hosts; logged once per instance)"
            );
        }
    }

    fn pg_push(&mut self, conn: PgConnection) -> Result<Resource<PgConnection>, PgError> {
        self.table
            .push(conn)
            .map_err(|e| PgError::Other(format!("too many open connections: {e}")))
    }

    /// Opens a connection for the guest (blocking interfaces).
    pub(super) async fn open_pg(
        &mut self,
        address: &str,
        ca_root: Option<&CaRoot>,
    ) -> Result<Resource<PgConnection>, PgError> {
        let (allowed, held) = self.pg_may_open()?;
        let conn = PgConnection::open(address, &allowed, ca_root, held)
            .await
            .inspect_err(|e| self.pg_denied(e))?;
        self.pg_push(conn)
    }

    pub(super) fn pg(&self, conn: &Resource<PgConnection>) -> Result<PgConnection, PgError> {
        self.table
            .get(conn)
            .cloned()
            .map_err(|e| PgError::Other(format!("bad PostgreSQL connection handle: {e}")))
    }
}

/// Opens a connection for the guest (async interfaces: the store is not
/// held while the server answers).
pub(super) async fn open_pg_async<U>(
    accessor: &Accessor<U, Platform>,
    address: &str,
    ca_root: Option<&CaRoot>,
) -> Result<Resource<PgConnection>, PgError> {
    let (allowed, held) = accessor.with(|mut access| access.get().pg_may_open())?;
    match PgConnection::open(address, &allowed, ca_root, held).await {
        Ok(conn) => accessor.with(|mut access| access.get().pg_push(conn)),
        Err(e) => {
            accessor.with(|mut access| access.get().pg_denied(&e));
            Err(e)
        }
    }
}

/// One version's blocking `connection` resource over [`PgConnection`]:
/// `$types` holds its parameter, row-set and error types, `$rows`
/// converts rows.
macro_rules! connection {
    ($v:ident, $types:ident, $rows:ident) => {
        impl $v::HostConnection for HostState {
            async fn open(
                &mut self,
                address: String,
            ) -> Result<Resource<PgConnection>, $types::Error> {
                Ok(self.open_pg(&address, None).await?)
            }

            async fn query(
                &mut self,
                c: Resource<PgConnection>,
                statement: String,
                params: Vec<$types::ParameterValue>,
            ) -> Result<$types::RowSet, $types::Error> {
                let params: Vec<PgValue> = params.into_iter().map(Into::into).collect();
                Ok($rows(self.pg(&c)?.query(&statement, &params).await?))
            }

            async fn execute(
                &mut self,
                c: Resource<PgConnection>,
                statement: String,
                params: Vec<$types::ParameterValue>,
            ) -> Result<u64, $types::Error> {
                let params: Vec<PgValue> = params.into_iter().map(Into::into).collect();
                Ok(self.pg(&c)?.execute(&statement, &params).await?)
            }

            async fn drop(&mut self, c: Resource<PgConnection>) -> wasmtime::Result<()> {
                self.table.delete(c)?;
                Ok(())
            }
        }
    };
}

pub(super) use connection;

impl rdbms::Host for HostState {}
impl v2::Host for HostState {}
impl v3::Host for HostState {}

connection!(v2, rdbms, v2_rows);
connection!(v3, v3, v3_rows);
