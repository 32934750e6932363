//! Column values: how diesel reads and writes the domain's ids, names and paths
//! (stored as TEXT) and the service's times (stored as TIMESTAMP, always UTC), so
//! rows hold typed values and no layer above parses a column again. A stored
//! value that does not parse is a corrupted database: a deserialization error
//! naming the type and the value (diesel adds the column), which ends as an
//! internal error in the log.
//!
//! The domain knows nothing of diesel; the impls live here (the orphan rule
//! allows them anywhere in the crate). Each backend gets its own text impls, so
//! reading an id parses the database's bytes in place and writing one to
//! PostgreSQL formats it straight into the buffer; `MultiBackend` hands each to
//! the backend in use.

use std::fmt::Display;
use std::io::Write;
use std::str::FromStr;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, Queryable};
use diesel::expression::AsExpression;
// What diesel's own `AsExpression` derive expands to; the derive cannot be put
// on domain types without making the domain depend on diesel.
use diesel::internal::derives::as_expression::Bound;
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::{Nullable, Text, Timestamp};
use diesel::sqlite::{Sqlite, SqliteValue};

use super::connection::{MultiBackend, MultiRawValue};
use super::rows::RecordOutcome;
use crate::domain::{
    AccountId, AccountKind, AccountStatus, ActivityId, AuditEntryId, Category, CheckInCode,
    CheckInId, CheckInStatus, Direction, EarningRuleId, GrantId, LedgerId, OrgPath, OrganisationId,
    OrganisationKind, Phase, Role, RuleCategory, ServiceRecordId, ServiceStatus, SessionId,
    TransferId, TransferKind, UserId, UserStatus, VolunteerId, VolunteerStatus,
};

/// Parses a stored text column; `type_name` names what it should have been.
fn parse<T>(text: &str, type_name: &str) -> deserialize::Result<T>
where
    T: FromStr,
    T::Err: Display,
{
    text.parse()
        .map_err(|e| format!("corrupt {type_name} {text:?}: {e}").into())
}

/// Makes each type a TEXT column on both backends: read, written, selected,
/// inserted and compared in filters. `$text` turns a value into what SQLite
/// binds: `to_string` (an owned String) or `as_str` (borrowed, no allocation).
macro_rules! text_columns {
    ($text:ident => $($ty:ty),+ $(,)?) => {$(
        impl FromSql<Text, Pg> for $ty {
            fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
                parse(std::str::from_utf8(value.as_bytes())?, stringify!($ty))
            }
        }

        impl FromSql<Text, Sqlite> for $ty {
            fn from_sql(mut value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
                parse(value.read_text(), stringify!($ty))
            }
        }

        impl FromSql<Text, MultiBackend> for $ty {
            fn from_sql(value: MultiRawValue<'_>) -> deserialize::Result<Self> {
                value.from_sql::<Self, Text>()
            }
        }

        impl ToSql<Text, Pg> for $ty {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                write!(out, "{self}")?;
                Ok(IsNull::No)
            }
        }

        impl ToSql<Text, Sqlite> for $ty {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
                out.set_value(self.$text());
                Ok(IsNull::No)
            }
        }

        impl ToSql<Text, MultiBackend> for $ty {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
                out.set_value((Text, self));
                Ok(IsNull::No)
            }
        }

        nullable_column!($ty, Text);
    )+};
}

/// What diesel's `AsExpression` and `FromSqlRow` derives give a type whose
/// `FromSql`/`ToSql` for `$sql` exist: a value or a reference to one may be bound
/// where a `$sql` or nullable `$sql` is expected, and it may be a selected field.
macro_rules! nullable_column {
    ($ty:ty, $sql:ty) => {
        impl<DB> Queryable<$sql, DB> for $ty
        where
            DB: Backend,
            Self: FromSql<$sql, DB>,
        {
            type Row = Self;

            fn build(row: Self) -> deserialize::Result<Self> {
                Ok(row)
            }
        }

        impl<DB> ToSql<Nullable<$sql>, DB> for $ty
        where
            DB: Backend,
            Self: ToSql<$sql, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
                ToSql::<$sql, DB>::to_sql(self, out)
            }
        }

        impl AsExpression<$sql> for $ty {
            type Expression = Bound<$sql, Self>;

            fn as_expression(self) -> Self::Expression {
                Bound::new(self)
            }
        }

        impl AsExpression<Nullable<$sql>> for $ty {
            type Expression = Bound<Nullable<$sql>, Self>;

            fn as_expression(self) -> Self::Expression {
                Bound::new(self)
            }
        }

        impl<'a> AsExpression<$sql> for &'a $ty {
            type Expression = Bound<$sql, Self>;

            fn as_expression(self) -> Self::Expression {
                Bound::new(self)
            }
        }

        impl<'a> AsExpression<Nullable<$sql>> for &'a $ty {
            type Expression = Bound<Nullable<$sql>, Self>;

            fn as_expression(self) -> Self::Expression {
                Bound::new(self)
            }
        }
    };
}

text_columns!(to_string =>
    AccountId, ActivityId, AuditEntryId, CheckInId, EarningRuleId, GrantId, LedgerId, OrganisationId,
    ServiceRecordId, SessionId, TransferId, UserId, VolunteerId,
);

text_columns!(as_str =>
    AccountKind, AccountStatus, Category, CheckInCode, CheckInStatus, Direction, OrganisationKind, OrgPath, Phase,
    RecordOutcome, Role, RuleCategory, ServiceStatus, TransferKind, UserStatus, VolunteerStatus,
);

/// A stored time: TIMESTAMP columns hold UTC without a zone, and rows give and
/// take it as `DateTime<Utc>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UtcTime(pub DateTime<Utc>);

impl From<DateTime<Utc>> for UtcTime {
    fn from(t: DateTime<Utc>) -> Self {
        Self(t)
    }
}

impl From<UtcTime> for DateTime<Utc> {
    fn from(t: UtcTime) -> Self {
        t.0
    }
}

impl<DB> FromSql<Timestamp, DB> for UtcTime
where
    DB: Backend,
    NaiveDateTime: FromSql<Timestamp, DB>,
{
    fn from_sql(value: DB::RawValue<'_>) -> deserialize::Result<Self> {
        <NaiveDateTime as FromSql<Timestamp, DB>>::from_sql(value).map(|t| Self(t.and_utc()))
    }
}

impl ToSql<Timestamp, Pg> for UtcTime {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        ToSql::<Timestamp, Pg>::to_sql(&self.0.naive_utc(), &mut out.reborrow())
    }
}

impl ToSql<Timestamp, Sqlite> for UtcTime {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        // The text diesel writes for a `NaiveDateTime`: one format for every
        // row, so SQLite's text comparisons order times correctly.
        out.set_value(self.0.naive_utc().format("%F %T%.f").to_string());
        Ok(IsNull::No)
    }
}

impl ToSql<Timestamp, MultiBackend> for UtcTime {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
        out.set_value((Timestamp, self));
        Ok(IsNull::No)
    }
}

nullable_column!(UtcTime, Timestamp);

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use diesel::dsl::sql;
    use diesel::prelude::*;
    use diesel::sqlite::SqliteConnection;

    use super::*;

    fn sqlite() -> SqliteConnection {
        SqliteConnection::establish(":memory:").unwrap()
    }

    #[test]
    fn values_round_trip_through_text() {
        let conn = &mut sqlite();
        let id = AccountId::generate();
        let read: AccountId = diesel::select(id.into_sql::<Text>())
            .get_result(conn)
            .unwrap();
        assert_eq!(read, id);
        let text: String = diesel::select(sql::<Text>("").bind::<Text, _>(&id))
            .get_result(conn)
            .unwrap();
        assert_eq!(text, id.to_string());
        let path = OrgPath::root(OrganisationId::generate());
        let read: OrgPath = diesel::select((&path).into_sql::<Text>())
            .get_result(conn)
            .unwrap();
        assert_eq!(read, path);
        let kind: TransferKind = diesel::select(TransferKind::HoursCredit.into_sql::<Text>())
            .get_result(conn)
            .unwrap();
        assert_eq!(kind, TransferKind::HoursCredit);
    }

    #[test]
    fn a_value_that_does_not_parse_is_reported_with_the_value() {
        let conn = &mut sqlite();
        let err = diesel::select(sql::<Text>("'not-a-uuid' AS id"))
            .get_result::<AccountId>(conn)
            .unwrap_err();
        let logged = crate::error::AppError::from(err);
        assert_eq!(logged.code, crate::error::ErrorCode::Internal);
        let diesel::result::Error::DeserializationError(e) = diesel::select(sql::<Text>("'gone'"))
            .get_result::<AccountStatus>(conn)
            .unwrap_err()
        else {
            panic!("not a deserialization error");
        };
        let cause = std::error::Error::source(&*e).unwrap().to_string();
        assert!(
            cause.contains("AccountStatus") && cause.contains("\"gone\""),
            "{cause}"
        );
    }

    #[test]
    fn times_are_written_as_diesel_writes_naive_times() {
        let conn = &mut sqlite();
        for t in [
            Utc.with_ymd_and_hms(2026, 3, 14, 9, 30, 0).unwrap(),
            Utc.timestamp_opt(1_773_480_600, 123_456_000).unwrap(),
        ] {
            let ours: String = diesel::select(sql::<Text>("").bind::<Timestamp, _>(UtcTime(t)))
                .get_result(conn)
                .unwrap();
            let diesels: String =
                diesel::select(sql::<Text>("").bind::<Timestamp, _>(t.naive_utc()))
                    .get_result(conn)
                    .unwrap();
            assert_eq!(ours, diesels);
            let read: UtcTime = diesel::select(UtcTime(t).into_sql::<Timestamp>())
                .get_result(conn)
                .unwrap();
            assert_eq!(read.0, t);
        }
    }
}
