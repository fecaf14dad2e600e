//! `spin:postgres/postgres@4.x` over [`crate::guest::data::outbound_pg`]: bound
//! at 4.2.0, which also serves guests built against 4.0.0 (spin-sdk 5's
//! `pg4`) and 4.1.0. UUIDs, JSONB, NUMERIC, ranges, arrays and intervals;
//! a server's error in its parts (SQLSTATE code, detail, hint, ...); the
//! connection builder, whose CA root is trusted besides the system's for
//! that connection's TLS; and the async functions of spin-sdk 6 and later,
//! whose query rows go to the guest on a stream as the server sends them.

use std::pin::Pin;
use std::task::{Context, Poll};

use wasmtime::StoreContextMut;
use wasmtime::component::{
    Accessor, Destination, FutureReader, Resource, StreamProducer, StreamReader, StreamResult,
};

use super::Platform;
use super::postgres::{connection, open_pg_async, parameters, rows, values};
use super::postgres_v4 as v4;
use crate::guest::data::outbound_pg::{
    BoundKind, CaRoot, DbError, Interval, PgConnection, PgError, PgRange, PgType, PgValue,
    QueryError, Rows,
};
use crate::guest::host::{Held, HostState, MAX_CONNECTIONS_PER_INSTANCE};

/// A `connection-builder`: the address, and the CA root once set.
pub struct Builder {
    address: String,
    ca_root: Option<CaRoot>,
    /// The instance's place for it.
    _held: tokio::sync::OwnedSemaphorePermit,
}

impl From<PgError> for v4::Error {
    fn from(e: PgError) -> Self {
        match e {
            PgError::ConnectionFailed(m) | PgError::Denied(m) => v4::Error::ConnectionFailed(m),
            PgError::BadParameter(m) => v4::Error::BadParameter(m),
            PgError::QueryFailed(QueryError::Text(m)) => {
                v4::Error::QueryFailed(v4::QueryError::Text(m))
            }
            PgError::QueryFailed(QueryError::Db(e)) => {
                let DbError {
                    as_text,
                    severity,
                    code,
                    message,
                    detail,
                    extras,
                } = *e;
                v4::Error::QueryFailed(v4::QueryError::DbError(v4::DbError {
                    as_text,
                    severity,
                    code,
                    message,
                    detail,
                    extras,
                }))
            }
            PgError::ValueConversionFailed(m) => v4::Error::ValueConversionFailed(m),
            PgError::Other(m) => v4::Error::Other(m),
        }
    }
}

fn kind(k: v4::RangeBoundKind) -> BoundKind {
    match k {
        v4::RangeBoundKind::Inclusive => BoundKind::Inclusive,
        v4::RangeBoundKind::Exclusive => BoundKind::Exclusive,
    }
}

fn wit_kind(k: BoundKind) -> v4::RangeBoundKind {
    match k {
        BoundKind::Inclusive => v4::RangeBoundKind::Inclusive,
        BoundKind::Exclusive => v4::RangeBoundKind::Exclusive,
    }
}

type WitRange<T> = (
    Option<(T, v4::RangeBoundKind)>,
    Option<(T, v4::RangeBoundKind)>,
);

fn range<T>((lo, hi): WitRange<T>) -> PgRange<T> {
    (lo.map(|(v, k)| (v, kind(k))), hi.map(|(v, k)| (v, kind(k))))
}

fn wit_range<T>((lo, hi): PgRange<T>) -> WitRange<T> {
    (
        lo.map(|(v, k)| (v, wit_kind(k))),
        hi.map(|(v, k)| (v, wit_kind(k))),
    )
}

parameters!(v4,
    P::Date(v) => PgValue::Date(v),
    P::Time(v) => PgValue::Time(v),
    P::Datetime(v) => PgValue::Datetime(v),
    P::Timestamp(v) => PgValue::Timestamp(v),
    P::Uuid(v) => PgValue::Uuid(v),
    P::Jsonb(v) => PgValue::Jsonb(v),
    P::Decimal(v) => PgValue::Decimal(v),
    P::RangeInt32(v) => PgValue::RangeInt32(range(v)),
    P::RangeInt64(v) => PgValue::RangeInt64(range(v)),
    P::RangeDecimal(v) => PgValue::RangeDecimal(range(v)),
    P::ArrayInt32(v) => PgValue::ArrayInt32(v),
    P::ArrayInt64(v) => PgValue::ArrayInt64(v),
    P::ArrayDecimal(v) => PgValue::ArrayDecimal(v),
    P::ArrayStr(v) => PgValue::ArrayStr(v),
    P::Interval(i) => PgValue::Interval(Interval {
        micros: i.micros,
        days: i.days,
        months: i.months,
    }),
);

values!(v4_value, v4_type, v4, {
    PgValue::Date(v) => D::Date(v),
    PgValue::Time(v) => D::Time(v),
    PgValue::Datetime(v) => D::Datetime(v),
    PgValue::Timestamp(v) => D::Timestamp(v),
    PgValue::Uuid(v) => D::Uuid(v),
    PgValue::Jsonb(v) => D::Jsonb(v),
    PgValue::Decimal(v) => D::Decimal(v),
    PgValue::RangeInt32(v) => D::RangeInt32(wit_range(v)),
    PgValue::RangeInt64(v) => D::RangeInt64(wit_range(v)),
    PgValue::RangeDecimal(v) => D::RangeDecimal(wit_range(v)),
    PgValue::ArrayInt32(v) => D::ArrayInt32(v),
    PgValue::ArrayInt64(v) => D::ArrayInt64(v),
    PgValue::ArrayDecimal(v) => D::ArrayDecimal(v),
    PgValue::ArrayStr(v) => D::ArrayStr(v),
    PgValue::Interval(i) => D::Interval(v4::Interval {
        micros: i.micros,
        days: i.days,
        months: i.months,
    }),
    PgValue::Unsupported(raw) => D::Unsupported(raw),
    // Never in a row: only 2.0's parameters have unsigned integers.
    PgValue::Unsigned => D::Unsupported(Vec::new()),
}, {
    PgType::Date => T::Date,
    PgType::Time => T::Time,
    PgType::Datetime => T::Datetime,
    PgType::Uuid => T::Uuid,
    PgType::Jsonb => T::Jsonb,
    PgType::Decimal => T::Decimal,
    PgType::RangeInt32 => T::RangeInt32,
    PgType::RangeInt64 => T::RangeInt64,
    PgType::RangeDecimal => T::RangeDecimal,
    PgType::ArrayInt32 => T::ArrayInt32,
    PgType::ArrayInt64 => T::ArrayInt64,
    PgType::ArrayDecimal => T::ArrayDecimal,
    PgType::ArrayStr => T::ArrayStr,
    PgType::Interval => T::Interval,
    PgType::Other(name) => T::Other(name),
});

fn v4_column((name, t): (String, PgType)) -> v4::Column {
    v4::Column {
        name,
        data_type: v4_type(t),
    }
}

rows!(v4_rows, v4, v4_value, v4_type);

impl v4::Host for HostState {}

connection!(v4, v4, v4_rows);

impl HostState {
    fn builder(&mut self, b: &Resource<Builder>) -> Result<&mut Builder, PgError> {
        self.table
            .get_mut(b)
            .map_err(|e| PgError::Other(format!("bad connection-builder handle: {e}")))
    }

    fn builder_parts(
        &mut self,
        b: &Resource<Builder>,
    ) -> Result<(String, Option<CaRoot>), PgError> {
        let builder = self.builder(b)?;
        Ok((builder.address.clone(), builder.ca_root.clone()))
    }
}

impl v4::HostConnectionBuilder for HostState {
    async fn new(&mut self, address: String) -> wasmtime::Result<Resource<Builder>> {
        let Some(held) = self.slot(Held::PostgresBuilder) else {
            wasmtime::bail!(
                "the guest holds {MAX_CONNECTIONS_PER_INSTANCE} PostgreSQL connection builders, \
                 the most an instance may"
            );
        };
        Ok(self.table.push(Builder {
            address,
            ca_root: None,
            _held: held,
        })?)
    }

    async fn set_ca_root(
        &mut self,
        b: Resource<Builder>,
        certificate: String,
    ) -> Result<(), v4::Error> {
        let root = CaRoot::from_pem(&certificate)?;
        self.builder(&b)?.ca_root = Some(root);
        Ok(())
    }

    async fn build(&mut self, b: Resource<Builder>) -> Result<Resource<PgConnection>, v4::Error> {
        let (address, ca_root) = self.builder_parts(&b)?;
        Ok(self.open_pg(&address, ca_root.as_ref()).await?)
    }

    async fn drop(&mut self, b: Resource<Builder>) -> wasmtime::Result<()> {
        self.table.delete(b)?;
        Ok(())
    }
}

impl<U> v4::HostConnectionBuilderWithStore<U> for Platform {
    async fn build_async(
        accessor: &Accessor<U, Self>,
        b: Resource<Builder>,
    ) -> Result<Resource<PgConnection>, v4::Error> {
        let (address, ca_root) = accessor.with(|mut access| access.get().builder_parts(&b))?;
        Ok(open_pg_async(accessor, &address, ca_root.as_ref()).await?)
    }
}

impl<U> v4::HostConnectionWithStore<U> for Platform {
    async fn open_async(
        accessor: &Accessor<U, Self>,
        address: String,
    ) -> Result<Resource<PgConnection>, v4::Error> {
        Ok(open_pg_async(accessor, &address, None).await?)
    }

    async fn execute_async(
        accessor: &Accessor<U, Self>,
        c: Resource<PgConnection>,
        statement: String,
        params: Vec<v4::ParameterValue>,
    ) -> Result<u64, v4::Error> {
        let conn = accessor.with(|mut access| access.get().pg(&c))?;
        let params: Vec<PgValue> = params.into_iter().map(Into::into).collect();
        Ok(conn.execute(&statement, &params).await?)
    }

    /// The columns, the rows on a stream as the server sends them, then
    /// how the query ended on the future.
    async fn query_async(
        accessor: &Accessor<U, Self>,
        c: Resource<PgConnection>,
        statement: String,
        params: Vec<v4::ParameterValue>,
    ) -> wasmtime::Result<
        Result<
            (
                Vec<v4::Column>,
                StreamReader<v4::Row>,
                FutureReader<Result<(), v4::Error>>,
            ),
            v4::Error,
        >,
    > {
        let conn = match accessor.with(|mut access| access.get().pg(&c)) {
            Ok(conn) => conn,
            Err(e) => return Ok(Err(e.into())),
        };
        let params: Vec<PgValue> = params.into_iter().map(Into::into).collect();
        let mut rows = match conn.query_rows(&statement, &params).await {
            Ok(rows) => rows,
            Err(e) => return Ok(Err(e.into())),
        };
        let columns = std::mem::take(&mut rows.columns)
            .into_iter()
            .map(v4_column)
            .collect();
        let (done, ended) = tokio::sync::oneshot::channel();
        accessor.with(|mut access| {
            let stream = StreamReader::new(
                &mut access,
                RowProducer {
                    rows,
                    done: Some(done),
                },
            )?;
            let ended = FutureReader::new(&mut access, async move {
                // A stream the guest dropped early ended well.
                wasmtime::error::Ok(ended.await.unwrap_or(Ok(())))
            })?;
            Ok(Ok((columns, stream, ended)))
        })
    }
}

/// Gives a query's rows to the guest one at a time as it reads, and how
/// the query ended to its future.
struct RowProducer {
    rows: Rows,
    done: Option<tokio::sync::oneshot::Sender<Result<(), v4::Error>>>,
}

impl RowProducer {
    fn end(&mut self, result: Result<(), PgError>) -> Poll<wasmtime::Result<StreamResult>> {
        if let Some(done) = self.done.take() {
            let _ = done.send(result.map_err(Into::into));
        }
        Poll::Ready(Ok(StreamResult::Dropped))
    }
}

impl<D> StreamProducer<D> for RowProducer {
    type Item = v4::Row;
    type Buffer = Option<v4::Row>;

    fn poll_produce<'a>(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        store: StoreContextMut<'a, D>,
        mut destination: Destination<'a, Self::Item, Self::Buffer>,
        finish: bool,
    ) -> Poll<wasmtime::Result<StreamResult>> {
        let me = self.get_mut();
        if me.done.is_none() {
            return Poll::Ready(Ok(StreamResult::Dropped));
        }
        // A zero-length read: rows come only when asked for.
        if destination.remaining(store) == Some(0) {
            return Poll::Ready(Ok(StreamResult::Completed));
        }
        match me.rows.poll_row(cx) {
            Poll::Pending if finish => Poll::Ready(Ok(StreamResult::Cancelled)),
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => me.end(Ok(())),
            Poll::Ready(Some(Err(e))) => me.end(Err(e)),
            Poll::Ready(Some(Ok(row))) => {
                destination.set_buffer(Some(row.into_iter().map(v4_value).collect()));
                Poll::Ready(Ok(StreamResult::Completed))
            }
        }
    }
}
