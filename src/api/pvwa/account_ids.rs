//! Account ids as PVWA writes them: `<safe id>_<account id>` (`12_34`). The bare account id
//! (`34`) is still read, as earlier releases wrote it in `AccountDetails.AccountID`.

use std::fmt;

/// An account id read from a PVWA client: the account, and the safe the client named with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PvwaAccountId {
    /// The safe the id names, when it names one; a lookup must find the account in that safe.
    pub safe_id: Option<i64>,
    pub account_id: i64,
}

impl PvwaAccountId {
    /// The id PVWA clients see for an account of a safe.
    pub fn of(safe_id: i64, account_id: i64) -> Self {
        Self {
            safe_id: Some(safe_id),
            account_id,
        }
    }

    /// Reads `<safe id>_<account id>` or a bare account id; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let positive = |part: &str| {
            (!part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
                .then(|| part.parse::<i64>().ok())
                .flatten()
                .filter(|id| *id > 0)
        };
        match text.split_once('_') {
            Some((safe, account)) => Some(Self {
                safe_id: Some(positive(safe)?),
                account_id: positive(account)?,
            }),
            None => Some(Self {
                safe_id: None,
                account_id: positive(text)?,
            }),
        }
    }

    /// Whether an account of `safe_id` is the one this id names.
    pub fn names_safe(&self, safe_id: i64) -> bool {
        self.safe_id.is_none_or(|named| named == safe_id)
    }
}

impl fmt::Display for PvwaAccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.safe_id {
            Some(safe_id) => write!(f, "{safe_id}_{}", self.account_id),
            None => write!(f, "{}", self.account_id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_forms_and_writes_the_pvwa_one() {
        assert_eq!(
            PvwaAccountId::parse("12_34"),
            Some(PvwaAccountId::of(12, 34))
        );
        assert_eq!(
            PvwaAccountId::parse(" 34 "),
            Some(PvwaAccountId {
                safe_id: None,
                account_id: 34
            })
        );
        assert_eq!(PvwaAccountId::of(12, 34).to_string(), "12_34");
        for bad in [
            "",
            "_",
            "12_",
            "_34",
            "1_2_3",
            "-1",
            "0",
            "12_0",
            "a_1",
            "1.5",
            "+3",
            "99999999999999999999",
        ] {
            assert_eq!(PvwaAccountId::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_named_safe_must_match() {
        let id = PvwaAccountId::of(12, 34);
        assert!(id.names_safe(12));
        assert!(!id.names_safe(13));
        assert!(PvwaAccountId::parse("34").is_some_and(|id| id.names_safe(13)));
    }
}
