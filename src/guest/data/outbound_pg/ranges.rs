//! PostgreSQL ranges as Spin's interfaces carry them: two optional bounds,
//! each inclusive or exclusive, converted to and from `postgres_range`'s
//! ranges (integer ranges made canonical as the server makes them,
//! NUMERIC ranges kept as given).

use postgres_range::{BoundSided, BoundType, Normalizable, RangeBound};
use rust_decimal::Decimal;
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};

use super::PgError;

/// Whether a range's bound includes its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoundKind {
    Inclusive,
    Exclusive,
}

/// A range's lower and upper bound; `None` is unbounded (an empty range
/// reads as two `None`, as in Spin).
pub type PgRange<T> = (Option<(T, BoundKind)>, Option<(T, BoundKind)>);

fn kind_of(t: BoundType) -> BoundKind {
    match t {
        BoundType::Inclusive => BoundKind::Inclusive,
        BoundType::Exclusive => BoundKind::Exclusive,
    }
}

fn bound_type(k: BoundKind) -> BoundType {
    match k {
        BoundKind::Inclusive => BoundType::Inclusive,
        BoundKind::Exclusive => BoundType::Exclusive,
    }
}

/// A range read from the server, its bounds' values mapped by `f`.
pub(super) fn range_of<T: Normalizable + PartialOrd, U>(
    range: postgres_range::Range<T>,
    f: impl Fn(&T) -> U,
) -> PgRange<U> {
    fn bound<S: BoundSided, T, U>(b: &RangeBound<S, T>, f: &impl Fn(&T) -> U) -> (U, BoundKind) {
        (f(&b.value), kind_of(b.type_))
    }
    (
        range.lower().map(|b| bound(b, &f)),
        range.upper().map(|b| bound(b, &f)),
    )
}

/// A guest's range as a parameter, its bounds' values made by `f`.
pub(super) fn range_to<T: Normalizable + PartialOrd, U>(
    (lower, upper): &PgRange<U>,
    f: impl Fn(&U) -> Result<T, PgError>,
) -> Result<postgres_range::Range<T>, PgError> {
    fn bound<S: BoundSided, T: PartialOrd, U>(
        b: &Option<(U, BoundKind)>,
        f: &impl Fn(&U) -> Result<T, PgError>,
    ) -> Result<Option<RangeBound<S, T>>, PgError> {
        b.as_ref()
            .map(|(v, k)| Ok(RangeBound::new(f(v)?, bound_type(*k))))
            .transpose()
    }
    Ok(postgres_range::Range::new(
        bound(lower, &f)?,
        bound(upper, &f)?,
    ))
}

/// An integer range as a parameter. The client library makes it
/// canonical (an exclusive lower or an inclusive upper bound moves up by
/// one, and asserts that it can): a bound that would pass the largest
/// value is refused here instead.
pub(super) fn int_range<T>(range: &PgRange<T>, max: T) -> Result<postgres_range::Range<T>, PgError>
where
    T: Copy + PartialEq + PartialOrd + Normalizable + std::fmt::Display,
{
    let past_max = matches!(range.0, Some((v, BoundKind::Exclusive)) if v == max)
        || matches!(range.1, Some((v, BoundKind::Inclusive)) if v == max);
    if past_max {
        return Err(PgError::ValueConversionFailed(format!(
            "an integer range bound past {max} cannot be made canonical; \
             leave that side unbounded"
        )));
    }
    range_to(range, |n| Ok(*n))
}

/// A NUMERIC that may be a range's bound (kept as given: NUMERIC ranges
/// are not discrete).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub(super) struct RangeDecimal(pub(super) Decimal);

impl Normalizable for RangeDecimal {
    fn normalize<S: BoundSided>(bound: RangeBound<S, Self>) -> RangeBound<S, Self> {
        bound
    }
}

impl ToSql for RangeDecimal {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        self.0.to_sql(ty, out)
    }

    fn accepts(ty: &Type) -> bool {
        <Decimal as ToSql>::accepts(ty)
    }

    to_sql_checked!();
}

impl<'a> FromSql<'a> for RangeDecimal {
    fn from_sql(
        ty: &Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Decimal::from_sql(ty, raw).map(RangeDecimal)
    }

    fn accepts(ty: &Type) -> bool {
        <Decimal as FromSql>::accepts(ty)
    }
}
