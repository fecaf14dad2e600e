//! The values and column types of Spin's PostgreSQL interfaces (the union
//! of what `fermyon:spin/postgres@2.0.0`, `spin:postgres@3.0.0` and
//! `spin:postgres@4.x` carry) and their conversions to and from what
//! tokio-postgres reads and writes, made as Spin makes them: UUIDs and
//! NUMERIC as text, JSONB as its bytes, ranges as two optional bounds,
//! arrays with NULL elements, INTERVAL as micros, days and months, and
//! any other column as its raw bytes (`unsupported`).

use bytes::{Buf, BufMut};
use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use rust_decimal::Decimal;
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};

use super::PgError;
pub use super::ranges::{BoundKind, PgRange};
use super::ranges::{RangeDecimal, int_range, range_of, range_to};

/// An INTERVAL, in PostgreSQL's own three parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    pub micros: i64,
    pub days: i32,
    pub months: i32,
}

/// A value, in a row or as a parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum PgValue {
    Boolean(bool),
    Int8(i8),
    Int16(i16),
    Int32(i32),
    Int64(i64),
    /// Only as a parameter of the 2.0 interface, which Postgres refuses.
    Unsigned,
    Floating32(f32),
    Floating64(f64),
    Str(String),
    Binary(Vec<u8>),
    Date((i32, u8, u8)),
    Time((u8, u8, u8, u32)),
    Datetime((i32, u8, u8, u8, u8, u8, u32)),
    /// Unix seconds (a parameter only; rows carry `Datetime`).
    Timestamp(i64),
    Uuid(String),
    /// The JSON text.
    Jsonb(Vec<u8>),
    /// In base 10.
    Decimal(String),
    RangeInt32(PgRange<i32>),
    RangeInt64(PgRange<i64>),
    RangeDecimal(PgRange<String>),
    ArrayInt32(Vec<Option<i32>>),
    ArrayInt64(Vec<Option<i64>>),
    ArrayDecimal(Vec<Option<String>>),
    ArrayStr(Vec<Option<String>>),
    Interval(Interval),
    Null,
    /// A column of a type with no value of its own here: its raw bytes.
    Unsupported(Vec<u8>),
}

impl PgValue {
    /// About what the value takes in memory, for the result bound.
    pub fn size(&self) -> usize {
        let strings = |v: &[Option<String>]| -> usize {
            v.iter()
                .map(|s| 24 + s.as_ref().map_or(0, String::len))
                .sum()
        };
        32 + match self {
            PgValue::Str(s) | PgValue::Uuid(s) | PgValue::Decimal(s) => s.len(),
            PgValue::Binary(b) | PgValue::Jsonb(b) | PgValue::Unsupported(b) => b.len(),
            PgValue::RangeDecimal((lo, hi)) => {
                lo.as_ref().map_or(0, |b| b.0.len()) + hi.as_ref().map_or(0, |b| b.0.len())
            }
            PgValue::ArrayInt32(v) => v.len() * 8,
            PgValue::ArrayInt64(v) => v.len() * 16,
            PgValue::ArrayDecimal(v) | PgValue::ArrayStr(v) => strings(v),
            _ => 0,
        }
    }
}

/// A column's type, as Spin names it (`Other` carries PostgreSQL's name).
#[derive(Debug, Clone, PartialEq)]
pub enum PgType {
    Boolean,
    Int16,
    Int32,
    Int64,
    Floating32,
    Floating64,
    Str,
    Binary,
    Date,
    Time,
    Datetime,
    Uuid,
    Jsonb,
    Decimal,
    RangeInt32,
    RangeInt64,
    RangeDecimal,
    ArrayInt32,
    ArrayInt64,
    ArrayDecimal,
    ArrayStr,
    Interval,
    Other(String),
}

/// The Spin type of a column of PostgreSQL type `t`.
pub fn data_type(t: &Type) -> PgType {
    match *t {
        Type::BOOL => PgType::Boolean,
        Type::BYTEA => PgType::Binary,
        Type::FLOAT4 => PgType::Floating32,
        Type::FLOAT8 => PgType::Floating64,
        Type::INT2 => PgType::Int16,
        Type::INT4 => PgType::Int32,
        Type::INT8 => PgType::Int64,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR => PgType::Str,
        Type::TIMESTAMP | Type::TIMESTAMPTZ => PgType::Datetime,
        Type::DATE => PgType::Date,
        Type::TIME => PgType::Time,
        Type::UUID => PgType::Uuid,
        Type::JSONB => PgType::Jsonb,
        Type::NUMERIC => PgType::Decimal,
        Type::INT4_RANGE => PgType::RangeInt32,
        Type::INT8_RANGE => PgType::RangeInt64,
        Type::NUM_RANGE => PgType::RangeDecimal,
        Type::INT4_ARRAY => PgType::ArrayInt32,
        Type::INT8_ARRAY => PgType::ArrayInt64,
        Type::NUMERIC_ARRAY => PgType::ArrayDecimal,
        Type::TEXT_ARRAY | Type::VARCHAR_ARRAY | Type::BPCHAR_ARRAY => PgType::ArrayStr,
        Type::INTERVAL => PgType::Interval,
        _ => PgType::Other(t.name().to_owned()),
    }
}

/// Column `i` of `row`, converted as Spin converts it.
pub fn value(row: &tokio_postgres::Row, i: usize) -> Result<PgValue, PgError> {
    fn get<'a, T: FromSql<'a>>(
        row: &'a tokio_postgres::Row,
        i: usize,
        make: impl FnOnce(T) -> PgValue,
    ) -> Result<PgValue, PgError> {
        let value: Option<T> = row
            .try_get(i)
            .map_err(|e| PgError::ValueConversionFailed(format!("column {i}: {e}")))?;
        Ok(value.map_or(PgValue::Null, make))
    }
    let decimals = |v: Vec<Option<Decimal>>| {
        PgValue::ArrayDecimal(v.into_iter().map(|d| d.map(|d| d.to_string())).collect())
    };
    match *row.columns()[i].type_() {
        Type::BOOL => get(row, i, PgValue::Boolean),
        Type::BYTEA => get(row, i, PgValue::Binary),
        Type::FLOAT4 => get(row, i, PgValue::Floating32),
        Type::FLOAT8 => get(row, i, PgValue::Floating64),
        Type::INT2 => get(row, i, PgValue::Int16),
        Type::INT4 => get(row, i, PgValue::Int32),
        Type::INT8 => get(row, i, PgValue::Int64),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR => get(row, i, PgValue::Str),
        Type::TIMESTAMP => get(row, i, |v: NaiveDateTime| PgValue::Datetime(datetime(v))),
        Type::TIMESTAMPTZ => get(row, i, |v: chrono::DateTime<chrono::Utc>| {
            PgValue::Datetime(datetime(v.naive_utc()))
        }),
        Type::DATE => get(row, i, |v: NaiveDate| PgValue::Date(date(v))),
        Type::TIME => get(row, i, |v: NaiveTime| PgValue::Time(time(v))),
        Type::UUID => get(row, i, |v: uuid::Uuid| PgValue::Uuid(v.to_string())),
        Type::JSONB => get(row, i, |v: serde_json::Value| {
            PgValue::Jsonb(serde_json::to_vec(&v).unwrap_or_default())
        }),
        Type::NUMERIC => get(row, i, |v: Decimal| PgValue::Decimal(v.to_string())),
        Type::INT4_RANGE => get(row, i, |v| PgValue::RangeInt32(range_of(v, |n| *n))),
        Type::INT8_RANGE => get(row, i, |v| PgValue::RangeInt64(range_of(v, |n| *n))),
        Type::NUM_RANGE => get(row, i, |v: postgres_range::Range<RangeDecimal>| {
            PgValue::RangeDecimal(range_of(v, |d| d.0.to_string()))
        }),
        Type::INT4_ARRAY => get(row, i, PgValue::ArrayInt32),
        Type::INT8_ARRAY => get(row, i, PgValue::ArrayInt64),
        Type::NUMERIC_ARRAY => get(row, i, decimals),
        Type::TEXT_ARRAY | Type::VARCHAR_ARRAY | Type::BPCHAR_ARRAY => {
            get(row, i, PgValue::ArrayStr)
        }
        Type::INTERVAL => get(row, i, PgValue::Interval),
        _ => get(row, i, |Raw(bytes)| PgValue::Unsupported(bytes)),
    }
}

/// The parameters as tokio-postgres takes them; a value that cannot be
/// converted is `value-conversion-failed`.
pub fn to_sql(params: &[PgValue]) -> Result<Vec<Box<dyn ToSql + Send + Sync>>, PgError> {
    params.iter().map(parameter).collect()
}

fn parameter(p: &PgValue) -> Result<Box<dyn ToSql + Send + Sync>, PgError> {
    let bad = |what: String| PgError::ValueConversionFailed(what);
    Ok(match p {
        PgValue::Boolean(v) => Box::new(*v),
        PgValue::Int8(v) => Box::new(*v),
        PgValue::Int16(v) => Box::new(*v),
        PgValue::Int32(v) => Box::new(*v),
        PgValue::Int64(v) => Box::new(*v),
        PgValue::Unsigned => {
            return Err(bad("Postgres does not support unsigned integers".into()));
        }
        PgValue::Floating32(v) => Box::new(*v),
        PgValue::Floating64(v) => Box::new(*v),
        PgValue::Str(v) => Box::new(v.clone()),
        PgValue::Binary(v) => Box::new(v.clone()),
        PgValue::Date((y, m, d)) => Box::new(naive_date(*y, *m, *d)?),
        PgValue::Time((h, m, s, ns)) => Box::new(naive_time(*h, *m, *s, *ns)?),
        PgValue::Datetime((y, mo, d, h, mi, s, ns)) => Box::new(NaiveDateTime::new(
            naive_date(*y, *mo, *d)?,
            naive_time(*h, *mi, *s, *ns)?,
        )),
        PgValue::Timestamp(secs) => Box::new(
            chrono::DateTime::<chrono::Utc>::from_timestamp(*secs, 0)
                .ok_or_else(|| bad(format!("invalid epoch timestamp {secs}")))?,
        ),
        PgValue::Uuid(v) => {
            Box::new(uuid::Uuid::parse_str(v).map_err(|e| bad(format!("invalid UUID {v}: {e}")))?)
        }
        PgValue::Jsonb(v) => Box::new(
            serde_json::from_slice::<serde_json::Value>(v)
                .map_err(|e| bad(format!("invalid JSON {}: {e}", String::from_utf8_lossy(v))))?,
        ),
        PgValue::Decimal(v) => Box::new(decimal(v)?),
        PgValue::RangeInt32(v) => Box::new(int_range(v, i32::MAX)?),
        PgValue::RangeInt64(v) => Box::new(int_range(v, i64::MAX)?),
        PgValue::RangeDecimal(v) => Box::new(range_to(v, |d| decimal(d).map(RangeDecimal))?),
        PgValue::ArrayInt32(v) => Box::new(v.clone()),
        PgValue::ArrayInt64(v) => Box::new(v.clone()),
        PgValue::ArrayDecimal(v) => Box::new(
            v.iter()
                .map(|d| d.as_deref().map(decimal).transpose())
                .collect::<Result<Vec<_>, _>>()?,
        ),
        PgValue::ArrayStr(v) => Box::new(v.clone()),
        PgValue::Interval(v) => Box::new(*v),
        PgValue::Null => Box::new(Null),
        PgValue::Unsupported(_) => return Err(bad("unsupported is not a parameter".into())),
    })
}

fn decimal(text: &str) -> Result<Decimal, PgError> {
    Decimal::from_str_exact(text)
        .map_err(|e| PgError::ValueConversionFailed(format!("invalid decimal {text}: {e}")))
}

fn naive_date(y: i32, m: u8, d: u8) -> Result<NaiveDate, PgError> {
    NaiveDate::from_ymd_opt(y, m.into(), d.into())
        .ok_or_else(|| PgError::ValueConversionFailed(format!("invalid date y={y}, m={m}, d={d}")))
}

fn naive_time(h: u8, m: u8, s: u8, ns: u32) -> Result<NaiveTime, PgError> {
    NaiveTime::from_hms_nano_opt(h.into(), m.into(), s.into(), ns)
        .ok_or_else(|| PgError::ValueConversionFailed(format!("invalid time {h}:{m}:{s}:{ns}")))
}

fn date(v: NaiveDate) -> (i32, u8, u8) {
    (v.year(), v.month() as u8, v.day() as u8)
}

fn time(v: NaiveTime) -> (u8, u8, u8, u32) {
    (
        v.hour() as u8,
        v.minute() as u8,
        v.second() as u8,
        v.nanosecond(),
    )
}

fn datetime(v: NaiveDateTime) -> (i32, u8, u8, u8, u8, u8, u32) {
    let (y, mo, d) = date(v.date());
    let (h, mi, s, ns) = time(v.time());
    (y, mo, d, h, mi, s, ns)
}

/// INTERVAL's binary form: microseconds, days, months.
impl ToSql for Interval {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.put_i64(self.micros);
        out.put_i32(self.days);
        out.put_i32(self.months);
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::INTERVAL
    }

    to_sql_checked!();
}

impl<'a> FromSql<'a> for Interval {
    fn from_sql(
        _: &Type,
        mut raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        if raw.len() != 16 {
            return Err(format!("an INTERVAL of {} bytes, not 16", raw.len()).into());
        }
        Ok(Interval {
            micros: raw.get_i64(),
            days: raw.get_i32(),
            months: raw.get_i32(),
        })
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::INTERVAL
    }
}

/// Any column's raw bytes: Spin's `unsupported` (or `db-null` when the
/// value is NULL).
struct Raw(Vec<u8>);

impl<'a> FromSql<'a> for Raw {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(raw.to_vec()))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// A NULL parameter, whatever the column's type.
#[derive(Debug)]
struct Null;

impl ToSql for Null {
    fn to_sql(
        &self,
        _: &Type,
        _: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        Ok(IsNull::Yes)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use postgres_range::BoundType;

    use super::*;

    #[test]
    fn decimal_ranges_keep_their_bounds_both_ways() {
        let range: PgRange<String> = (
            Some(("123.45".into(), BoundKind::Inclusive)),
            Some(("456.789789".into(), BoundKind::Exclusive)),
        );
        let pg = range_to(&range, |d| decimal(d).map(RangeDecimal)).unwrap();
        let lower = pg.lower().unwrap();
        assert_eq!(lower.value.0, Decimal::new(12345, 2));
        assert_eq!(lower.type_, BoundType::Inclusive);
        assert_eq!(range_of(pg, |d| d.0.to_string()), range);
    }

    #[test]
    fn bad_texts_are_conversion_errors_naming_the_value() {
        let err = |p: PgValue| match parameter(&p) {
            Err(PgError::ValueConversionFailed(why)) => why,
            Err(other) => panic!("{other:?}"),
            Ok(_) => panic!("{p:?} converted"),
        };
        assert!(err(PgValue::Decimal("1.2.3".into())).contains("invalid decimal 1.2.3"));
        assert!(err(PgValue::Uuid("nope".into())).contains("invalid UUID nope"));
        assert!(err(PgValue::Jsonb(b"{".to_vec())).contains("invalid JSON {"));
        assert!(err(PgValue::ArrayDecimal(vec![None, Some("x".into())])).contains("decimal x"));
        assert!(err(PgValue::Timestamp(i64::MAX)).contains("invalid epoch timestamp"));
    }

    #[test]
    fn an_integer_range_past_the_largest_value_is_an_error_not_a_panic() {
        for range in [
            (None, Some((i32::MAX, BoundKind::Inclusive))),
            (Some((i32::MAX, BoundKind::Exclusive)), None),
        ] {
            let why = match parameter(&PgValue::RangeInt32(range)) {
                Err(PgError::ValueConversionFailed(why)) => why,
                other => panic!("{range:?}: {:?}", other.err()),
            };
            assert!(why.contains("past 2147483647"), "{why}");
        }
        let fine = (None, Some((i64::MAX, BoundKind::Exclusive)));
        assert!(parameter(&PgValue::RangeInt64(fine)).is_ok());
    }

    #[test]
    fn an_interval_is_its_three_parts() {
        let mut out = bytes::BytesMut::new();
        let interval = Interval {
            micros: 3_600_000_000,
            days: -2,
            months: 14,
        };
        interval.to_sql(&Type::INTERVAL, &mut out).unwrap();
        assert_eq!(out.len(), 16);
        assert_eq!(Interval::from_sql(&Type::INTERVAL, &out).unwrap(), interval);
        assert!(Interval::from_sql(&Type::INTERVAL, &out[..8]).is_err());
    }
}
