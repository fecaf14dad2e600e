//! Spin's outbound PostgreSQL interfaces over
//! [`crate::data::outbound_pg`]: `fermyon:spin/postgres@2.0.0` (spin-sdk
//! 2–5's `pg`, with `rdbms-types`) and `spin:postgres/postgres@3.0.0`
//! (spin-sdk 4–5's `pg3`: dates and times too); both blocking for the guest
//! and async in the host. A connection opens only to hosts in the
//! component's `allowed_outbound_hosts`; others are `connection-failed`,
//! and logged.

use wasmtime::component::Resource;

use super::{postgres_v2 as v2, postgres_v3 as v3, rdbms_types as rdbms};
use crate::data::outbound_pg::{PgConnection, PgError, PgType, PgValue, RowSet};
use crate::host::HostState;

/// The error conversion of one version's generated types.
macro_rules! errors {
    ($v:ident) => {
        impl From<PgError> for $v::Error {
            fn from(e: PgError) -> Self {
                match e {
                    PgError::ConnectionFailed(m) | PgError::Denied(m) => {
                        $v::Error::ConnectionFailed(m)
                    }
                    PgError::BadParameter(m) => $v::Error::BadParameter(m),
                    PgError::QueryFailed(m) => $v::Error::QueryFailed(m),
                    PgError::ValueConversionFailed(m) => $v::Error::ValueConversionFailed(m),
                    PgError::Other(m) => $v::Error::Other(m),
                }
            }
        }
    };
}

errors!(rdbms);
errors!(v3);

impl From<rdbms::ParameterValue> for PgValue {
    fn from(p: rdbms::ParameterValue) -> Self {
        use rdbms::ParameterValue as P;
        match p {
            P::Boolean(v) => PgValue::Boolean(v),
            P::Int8(v) => PgValue::Int8(v),
            P::Int16(v) => PgValue::Int16(v),
            P::Int32(v) => PgValue::Int32(v),
            P::Int64(v) => PgValue::Int64(v),
            P::Uint8(_) | P::Uint16(_) | P::Uint32(_) | P::Uint64(_) => PgValue::Unsigned,
            P::Floating32(v) => PgValue::Floating32(v),
            P::Floating64(v) => PgValue::Floating64(v),
            P::Str(v) => PgValue::Str(v),
            P::Binary(v) => PgValue::Binary(v),
            P::DbNull => PgValue::Null,
        }
    }
}

impl From<v3::ParameterValue> for PgValue {
    fn from(p: v3::ParameterValue) -> Self {
        use v3::ParameterValue as P;
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
            P::Date(v) => PgValue::Date(v),
            P::Time(v) => PgValue::Time(v),
            P::Datetime(v) => PgValue::Datetime(v),
            P::Timestamp(v) => PgValue::Timestamp(v),
            P::DbNull => PgValue::Null,
        }
    }
}

/// A row value in the 2.0 types: no dates or times (`unsupported`).
fn v2_value(v: PgValue) -> rdbms::DbValue {
    use rdbms::DbValue as D;
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
        _ => D::Unsupported,
    }
}

fn v2_type(t: PgType) -> rdbms::DbDataType {
    use rdbms::DbDataType as T;
    match t {
        PgType::Boolean => T::Boolean,
        PgType::Int16 => T::Int16,
        PgType::Int32 => T::Int32,
        PgType::Int64 => T::Int64,
        PgType::Floating32 => T::Floating32,
        PgType::Floating64 => T::Floating64,
        PgType::Str => T::Str,
        PgType::Binary => T::Binary,
        _ => T::Other,
    }
}

fn v3_value(v: PgValue) -> v3::DbValue {
    use v3::DbValue as D;
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
        PgValue::Date(v) => D::Date(v),
        PgValue::Time(v) => D::Time(v),
        PgValue::Datetime(v) => D::Datetime(v),
        PgValue::Timestamp(v) => D::Timestamp(v),
        PgValue::Null => D::DbNull,
        PgValue::Unsigned | PgValue::Unsupported => D::Unsupported,
    }
}

fn v3_type(t: PgType) -> v3::DbDataType {
    use v3::DbDataType as T;
    match t {
        PgType::Boolean => T::Boolean,
        PgType::Int16 => T::Int16,
        PgType::Int32 => T::Int32,
        PgType::Int64 => T::Int64,
        PgType::Floating32 => T::Floating32,
        PgType::Floating64 => T::Floating64,
        PgType::Str => T::Str,
        PgType::Binary => T::Binary,
        PgType::Date => T::Date,
        PgType::Time => T::Time,
        PgType::Datetime => T::Datetime,
        PgType::Other => T::Other,
    }
}

/// A row set in one version's types, by its value and type conversions.
macro_rules! rows {
    ($name:ident, $v:ident, $value:ident, $type:ident) => {
        fn $name(set: RowSet) -> $v::RowSet {
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

rows!(v2_rows, rdbms, v2_value, v2_type);
rows!(v3_rows, v3, v3_value, v3_type);

impl HostState {
    /// Opens a connection for the guest; a denied address is logged
    /// (never with its password).
    async fn open_pg(&mut self, address: &str) -> Result<Resource<PgConnection>, PgError> {
        if self.holds_most::<PgConnection>() {
            return Err(PgError::ConnectionFailed(format!(
                "too many connections: an instance holds at most {}",
                crate::host::MAX_CONNECTIONS_PER_INSTANCE
            )));
        }
        let allowed = self.outbound.allowed.clone();
        let conn = PgConnection::open(address, &allowed)
            .await
            .inspect_err(|e| {
                if let PgError::Denied(why) = e {
                    tracing::warn!(
                        component = %self.outbound.component,
                        request_id = %self.outbound.request_id(),
                        "PostgreSQL {why}; denied (allowed_outbound_hosts)"
                    );
                }
            })?;
        self.table
            .push(conn)
            .map_err(|e| PgError::Other(format!("too many open connections: {e}")))
    }

    fn pg(&self, conn: &Resource<PgConnection>) -> Result<PgConnection, PgError> {
        self.table
            .get(conn)
            .cloned()
            .map_err(|e| PgError::Other(format!("bad PostgreSQL connection handle: {e}")))
    }
}

/// One version's `connection` resource over [`PgConnection`]: `$types`
/// holds its parameter, row-set and error types, `$rows` converts rows.
macro_rules! connection {
    ($v:ident, $types:ident, $rows:ident) => {
        impl $v::HostConnection for HostState {
            async fn open(
                &mut self,
                address: String,
            ) -> Result<Resource<PgConnection>, $types::Error> {
                Ok(self.open_pg(&address).await?)
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

impl rdbms::Host for HostState {}
impl v2::Host for HostState {}
impl v3::Host for HostState {}

connection!(v2, rdbms, v2_rows);
connection!(v3, v3, v3_rows);
