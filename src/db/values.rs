//! Stored values typed at the boundary. Every enumerated column (a request's type and status, a
//! user's role and status, a decision, an event, a certificate's source and revocation reason, an
//! access request's type and operation) is read and written as its enum, stored as the enum's
//! snake_case text: the same text on SQLite and PostgreSQL, and the text the migrations' `CHECK`
//! constraints name. No code above this module compares a stored string.
//!
//! Each type derives diesel's `AsExpression` and `FromSqlRow` (for `Text`) where it is defined;
//! the conversions for both backends of [`DbConnection`](super::DbConnection), and for the
//! connection's own `MultiBackend`, are written once here by [`stored_as_text!`].

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::pg::Pg;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Text;
use diesel::sqlite::Sqlite;

use super::MultiBackend;
use crate::domain::access::{AccessType, OperationType};
use crate::domain::certificate::CertificateSource;
use crate::domain::request::{Decision, EventKind, RequestStatus, RequestType};
use crate::domain::user::{Role, UserStatus};
use crate::pki::RevocationReason;

/// An enum stored as one of a fixed set of texts.
pub trait StoredText: Copy + Sized + 'static {
    /// Every value, each with its own text.
    const ALL: &'static [Self];
    /// The text stored for this value.
    fn stored(self) -> &'static str;

    /// The value stored as `text`, if any.
    fn from_stored(text: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|value| value.stored() == text)
    }
}

fn parse<T: StoredText>(text: &str) -> deserialize::Result<T> {
    T::from_stored(text).ok_or_else(|| {
        format!(
            "unexpected stored value `{text}` for {}",
            std::any::type_name::<T>()
        )
        .into()
    })
}

/// Implements [`StoredText`] and diesel's `FromSql`/`ToSql` for `Text` on SQLite, PostgreSQL and
/// the two-backend connection. The variant list must be complete: the `match` it generates
/// fails to compile when a variant is added to the enum but not here.
macro_rules! stored_as_text {
    ($($ty:ident { $($variant:ident),+ $(,)? })+) => { $(
        impl StoredText for $ty {
            const ALL: &'static [Self] = &[$($ty::$variant),+];

            fn stored(self) -> &'static str {
                match self {
                    $($ty::$variant)|+ => self.as_str(),
                }
            }
        }

        impl FromSql<Text, Sqlite> for $ty {
            fn from_sql(bytes: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
                parse(&<String as FromSql<Text, Sqlite>>::from_sql(bytes)?)
            }
        }

        impl FromSql<Text, Pg> for $ty {
            fn from_sql(bytes: <Pg as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
                parse(&<String as FromSql<Text, Pg>>::from_sql(bytes)?)
            }
        }

        impl FromSql<Text, MultiBackend> for $ty {
            fn from_sql(
                bytes: <MultiBackend as Backend>::RawValue<'_>,
            ) -> deserialize::Result<Self> {
                bytes.from_sql::<Self, Text>()
            }
        }

        impl ToSql<Text, Sqlite> for $ty {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
                <str as ToSql<Text, Sqlite>>::to_sql(self.stored(), out)
            }
        }

        impl ToSql<Text, Pg> for $ty {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                <str as ToSql<Text, Pg>>::to_sql(self.stored(), out)
            }
        }

        impl ToSql<Text, MultiBackend> for $ty {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
                out.set_value((Text, self));
                Ok(IsNull::No)
            }
        }
    )+ };
}

stored_as_text! {
    RequestType { Certificate, Access }
    RequestStatus { Pending, Approved, Rejected, Expired, Invalid }
    Decision { Confirm, Reject }
    EventKind {
        Submitted, Confirmed, Level2Opened, Approved, Issued, Rejected, Cancelled, Invalidated,
        Used, Revoked,
    }
    Role { Admin, Approver, Developer, Customer }
    UserStatus { Active, Suspended, Deleted }
    CertificateSource { Issued, Imported }
    RevocationReason {
        KeyCompromise, Superseded, AffiliationChanged, CessationOfOperation, Unspecified,
    }
    AccessType { OneTime, Multiple }
    OperationType { Open, GetFile, GetPassword, All }
}

/// Defines a unit type that writes one stored value into the SQL text as a literal instead of
/// binding it. For a comparison with a column that a partial index's `WHERE` names (`status =
/// 'pending'`, `source = 'issued'`): SQLite's planner, compiled with its stability guarantee,
/// never reads a bound value, so only a literal lets it use such an index. Each type has a query
/// id of its own, so diesel keeps the statement prepared.
macro_rules! stored_literal {
    ($($(#[$doc:meta])* $name:ident = $ty:ident::$variant:ident;)+) => { $(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, diesel::query_builder::QueryId)]
        pub struct $name;

        impl diesel::expression::Expression for $name {
            type SqlType = Text;
        }

        impl<DB: Backend> diesel::query_builder::QueryFragment<DB> for $name {
            fn walk_ast<'b>(
                &'b self,
                mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
            ) -> diesel::QueryResult<()> {
                out.push_sql("'");
                out.push_sql($ty::$variant.stored());
                out.push_sql("'");
                Ok(())
            }
        }

        impl<QS> diesel::expression::AppearsOnTable<QS> for $name {}

        impl<QS> diesel::expression::SelectableExpression<QS> for $name {}

        impl diesel::expression::ValidGrouping<()> for $name {
            type IsAggregate = diesel::expression::is_aggregate::Never;
        }
    )+ };
}

stored_literal! {
    /// `'issued'`, a certificate's source, as SQL text.
    IssuedSource = CertificateSource::Issued;
    /// `'pending'`, a request's stored status, as SQL text.
    PendingStatus = RequestStatus::Pending;
    /// `'key_compromise'`, a revocation's reason, as SQL text.
    KeyCompromiseReason = RevocationReason::KeyCompromise;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn distinct_and_round_trip<T: StoredText + PartialEq + std::fmt::Debug>() {
        for (i, value) in T::ALL.iter().enumerate() {
            assert_eq!(T::from_stored(value.stored()), Some(*value));
            assert!(
                T::ALL[i + 1..]
                    .iter()
                    .all(|other| other.stored() != value.stored()),
                "{value:?} shares its stored text"
            );
        }
        assert_eq!(T::from_stored("no such value"), None);
    }

    /// A literal is written between single quotes unescaped: no stored text may hold one.
    #[test]
    fn stored_texts_need_no_escaping_as_sql_literals() {
        fn plain<T: StoredText>() {
            for value in T::ALL {
                let text = value.stored();
                assert!(
                    text.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                    "{text}"
                );
            }
        }
        plain::<RequestStatus>();
        plain::<CertificateSource>();
        plain::<RevocationReason>();
    }

    #[test]
    fn every_stored_value_reads_back_as_itself() {
        distinct_and_round_trip::<RequestType>();
        distinct_and_round_trip::<RequestStatus>();
        distinct_and_round_trip::<Decision>();
        distinct_and_round_trip::<EventKind>();
        distinct_and_round_trip::<Role>();
        distinct_and_round_trip::<UserStatus>();
        distinct_and_round_trip::<CertificateSource>();
        distinct_and_round_trip::<RevocationReason>();
        distinct_and_round_trip::<AccessType>();
        distinct_and_round_trip::<OperationType>();
    }

    /// The texts the migrations' `CHECK` constraints allow, so a renamed variant cannot store
    /// something the database refuses.
    #[test]
    fn stored_texts_are_the_ones_the_schema_allows() {
        let texts = |all: &[&'static str]| all.to_vec();
        assert_eq!(
            RequestStatus::ALL
                .iter()
                .map(|s| s.stored())
                .collect::<Vec<_>>(),
            texts(&["pending", "approved", "rejected", "expired", "invalid"])
        );
        assert_eq!(
            RequestType::ALL
                .iter()
                .map(|s| s.stored())
                .collect::<Vec<_>>(),
            texts(&["certificate", "access"])
        );
        assert_eq!(
            Decision::ALL.iter().map(|s| s.stored()).collect::<Vec<_>>(),
            texts(&["confirm", "reject"])
        );
        assert_eq!(
            CertificateSource::ALL
                .iter()
                .map(|s| s.stored())
                .collect::<Vec<_>>(),
            texts(&["issued", "imported"])
        );
    }
}
