//! The queries of PVWA's lists: accounts (`search`, `searchType`, `filter=safeName eq X`,
//! `offset`, `limit`, `sort`), safes (`search`, `offset`, `limit`) and safe members (`filter`,
//! `search`, `offset`, `limit`); names regardless of case, as psPAS and PVWA write them; and the `nextLink` that
//! continues a list.

use utoipa::IntoParams;

use crate::domain::FieldError;
use crate::domain::access::{MemberType, SafeMember};
use crate::service::safes::search::{AccountSearch, SearchType, SortBy};

/// Pages hold at most this many accounts; a larger `limit` is cut to it (follow `nextLink`).
pub const MAX_LIMIT: i64 = 100;
/// PVWA's default page size.
pub const DEFAULT_LIMIT: i64 = 50;
/// A `search` holds at most this many words, each of at most [`MAX_SEARCH_WORD_CHARS`]: every
/// word is one more condition of the list's query, and the database bounds both (SQLite's
/// expression depth and `LIKE` pattern length, PostgreSQL's bound parameters).
pub const MAX_SEARCH_WORDS: usize = 10;
pub const MAX_SEARCH_WORD_CHARS: usize = 100;

/// The parameters of `GET /PasswordVault/API/Accounts` (names regardless of case).
#[derive(Debug, Clone, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccountsQuery {
    /// Words, each of which must appear in the name, address, user name, platform or safe name
    /// (regardless of case); at most 10, of at most 100 characters each.
    pub search: Option<String>,
    /// `contains` (the default) or `startswith`: how each word must match.
    #[param(rename = "searchType")]
    pub search_type: Option<String>,
    /// `safeName eq <name>` (the name may be in double quotes); only this filter is supported.
    #[param(example = "safeName eq Finance")]
    pub filter: Option<String>,
    /// How many accounts to skip (default 0).
    #[param(minimum = 0)]
    pub offset: Option<i64>,
    /// Page size, 1 to 1000 (default 50); pages hold at most 100: follow `nextLink`.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// A property (`name`, `address`, `userName`, `safeName`, `platformId`, `createdTime`) and
    /// optionally `asc` or `desc`, as `name desc`; later properties are ignored.
    pub sort: Option<String>,
    /// Not supported (there are no saved filters): refused, rather than answering every
    /// account.
    #[param(rename = "savedFilter")]
    pub saved_filter: Option<String>,
}

impl AccountsQuery {
    /// Reads a raw query string; unknown parameters are ignored, as PVWA does.
    pub fn parse(query: &str) -> Self {
        let mut parsed = Self::default();
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            let value = value.into_owned();
            match key.to_ascii_lowercase().as_str() {
                "search" => parsed.search = Some(value),
                "searchtype" => parsed.search_type = Some(value),
                "filter" => parsed.filter = Some(value),
                "offset" => parsed.offset = Some(number(&value)),
                "limit" => parsed.limit = Some(number(&value)),
                "sort" => parsed.sort = Some(value),
                "savedfilter" => parsed.saved_filter = Some(value),
                _ => {}
            }
        }
        parsed
    }

    /// The search for the service, or every parameter at fault.
    pub fn to_search(&self) -> Result<AccountSearch, Vec<FieldError>> {
        let mut errors = Vec::new();
        let search_type = match self.search_type.as_deref().map(str::to_ascii_lowercase) {
            None => SearchType::Contains,
            Some(kind) if kind == "contains" => SearchType::Contains,
            Some(kind) if kind == "startswith" => SearchType::StartsWith,
            Some(_) => {
                errors.push(FieldError::new(
                    "searchType",
                    "must be contains or startswith",
                ));
                SearchType::Contains
            }
        };
        let safe_name = match self.filter.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(filter) => safe_name_filter(filter).or_else(|| {
                errors.push(FieldError::new(
                    "filter",
                    "only `safeName eq <name>` is supported",
                ));
                None
            }),
        };
        if self.saved_filter.is_some() {
            errors.push(FieldError::new(
                "savedFilter",
                "is not supported: use search and filter",
            ));
        }
        let offset = self.offset.unwrap_or(0);
        if offset < 0 {
            errors.push(FieldError::new("offset", "must be a number, 0 or more"));
        }
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=1000).contains(&limit) {
            errors.push(FieldError::new("limit", "must be a number from 1 to 1000"));
        }
        let (sort, descending) = match self.sort.as_deref() {
            None => Some((SortBy::Name, false)),
            Some(sort) => parse_sort(sort),
        }
        .unwrap_or_else(|| {
            errors.push(FieldError::new(
                "sort",
                "must be name, address, userName, safeName, platformId or createdTime, \
                 optionally followed by asc or desc",
            ));
            (SortBy::Name, false)
        });
        let words = search_words(self.search.as_deref()).unwrap_or_else(|error| {
            errors.push(error);
            Vec::new()
        });
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(AccountSearch {
            words,
            search_type,
            safe_name,
            sort,
            descending,
            offset,
            limit: limit.min(MAX_LIMIT),
        })
    }

    /// The `nextLink` after a page of `shown` accounts out of `total`, relative to
    /// `/PasswordVault` with no leading `/` (psPAS requests `$BaseURI/$nextLink`); `None` after
    /// the last page.
    pub fn next_link(&self, search: &AccountSearch, shown: usize, total: i64) -> Option<String> {
        let next = search.offset + i64::try_from(shown).ok()?;
        if shown == 0 || next >= total {
            return None;
        }
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (key, value) in [
            ("search", &self.search),
            ("searchType", &self.search_type),
            ("filter", &self.filter),
            ("sort", &self.sort),
        ] {
            if let Some(value) = value {
                query.append_pair(key, value);
            }
        }
        query.append_pair("offset", &next.to_string());
        query.append_pair("limit", &search.limit.to_string());
        Some(format!("api/Accounts?{}", query.finish()))
    }
}

/// The parameters of `GET /PasswordVault/API/Safes` and of a safe's members (names regardless
/// of case; members take no `search`).
#[derive(Debug, Clone, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SafesQuery {
    /// Words, each of which must appear in the safe's name or description (any case); at most
    /// 10, of at most 100 characters each.
    pub search: Option<String>,
    /// How many to skip (default 0).
    #[param(minimum = 0)]
    pub offset: Option<i64>,
    /// Page size, 1 to 1000 (default 25); pages hold at most 100.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// A checked page: where it starts and how many it holds at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub offset: i64,
    pub limit: i64,
}

/// PVWA's default page of safes and members.
pub const DEFAULT_SAFE_LIMIT: i64 = 25;

impl SafesQuery {
    /// Reads a raw query string; unknown parameters are ignored, as PVWA does.
    pub fn parse(query: &str) -> Self {
        let mut parsed = Self::default();
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            match key.to_ascii_lowercase().as_str() {
                "search" => parsed.search = Some(value.into_owned()),
                "offset" => parsed.offset = Some(number(&value)),
                "limit" => parsed.limit = Some(number(&value)),
                _ => {}
            }
        }
        parsed
    }

    /// The search words and the page, or every parameter at fault.
    pub fn to_window(&self) -> Result<(Vec<String>, Window), Vec<FieldError>> {
        let mut errors = Vec::new();
        let offset = self.offset.unwrap_or(0);
        if offset < 0 {
            errors.push(FieldError::new("offset", "must be a number, 0 or more"));
        }
        let limit = self.limit.unwrap_or(DEFAULT_SAFE_LIMIT);
        if !(1..=1000).contains(&limit) {
            errors.push(FieldError::new("limit", "must be a number from 1 to 1000"));
        }
        let words = search_words(self.search.as_deref()).unwrap_or_else(|error| {
            errors.push(error);
            Vec::new()
        });
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok((
            words,
            Window {
                offset,
                limit: limit.min(MAX_LIMIT),
            },
        ))
    }

    /// The `nextLink` of the safe list after `shown` safes out of `total` (see
    /// [`AccountsQuery::next_link`]).
    pub fn next_link(&self, window: Window, shown: usize, total: i64) -> Option<String> {
        let next = window.offset + i64::try_from(shown).ok()?;
        if shown == 0 || next >= total {
            return None;
        }
        let mut query = form_urlencoded::Serializer::new(String::new());
        if let Some(search) = &self.search {
            query.append_pair("search", search);
        }
        query.append_pair("offset", &next.to_string());
        query.append_pair("limit", &window.limit.to_string());
        Some(format!("api/Safes?{}", query.finish()))
    }
}

/// The members list's parameters (paged as safes are, by [`SafesQuery`]); `filter` and
/// `search` as Get-PASSafeMember writes them
/// (`ConvertTo-FilterString`: `memberType eq User AND membershipExpired eq false AND
/// includePredefinedUsers eq true`; names and values regardless of case).
#[derive(Debug, Clone, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MembersQuery {
    /// Words, each of which must appear in the member's name (any case); at most 10, of at
    /// most 100 characters each.
    pub search: Option<String>,
    /// How many to skip (default 0).
    #[param(minimum = 0)]
    pub offset: Option<i64>,
    /// Page size, 1 to 1000 (default 25); pages hold at most 100.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// Clauses joined by `AND` (or by spaces alone): `memberType eq User|Group`,
    /// `membershipExpired eq true|false`
    /// (memberships never expire here, so `true` keeps none), `includePredefinedUsers eq
    /// true|false` (there are none; accepted).
    #[param(example = "memberType eq User AND membershipExpired eq false")]
    pub filter: Option<String>,
}

/// What the members' `filter` and `search` keep.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MembersFilter {
    pub member_type: Option<MemberType>,
    /// `membershipExpired eq true`: no membership expires, so nothing is kept.
    pub expired_only: bool,
    /// Words, each of which must appear in the member's name (any case).
    pub words: Vec<String>,
}

impl MembersFilter {
    /// Reads `filter` and `search` from a raw query string; a clause it cannot read is refused,
    /// naming `filter`, rather than ignored (it would answer every member).
    pub fn parse(query: &str) -> Result<Self, Vec<FieldError>> {
        let mut parsed = Self::default();
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            match key.to_ascii_lowercase().as_str() {
                "filter" => parsed.read_filter(&value)?,
                "search" => {
                    parsed.words = search_words(Some(&value))
                        .map_err(|error| vec![error])?
                        .iter()
                        .map(|word| word.to_lowercase())
                        .collect();
                }
                _ => {}
            }
        }
        Ok(parsed)
    }

    /// Clauses `<property> eq <value>`, joined by `AND` or, as psPAS writes them when its
    /// `ConvertTo-FilterString` is given no logical operator, by spaces alone.
    fn read_filter(&mut self, filter: &str) -> Result<(), Vec<FieldError>> {
        let refuse = || {
            vec![FieldError::new(
                "filter",
                "must be clauses joined by AND: memberType eq User|Group, membershipExpired eq \
                 true|false, includePredefinedUsers eq true|false",
            )]
        };
        let mut words = filter.split_whitespace().peekable();
        while words.peek().is_some() {
            let (Some(property), Some(operator), Some(value)) =
                (words.next(), words.next(), words.next())
            else {
                return Err(refuse());
            };
            if !operator.eq_ignore_ascii_case("eq") {
                return Err(refuse());
            }
            let value = value.trim_matches('"').to_ascii_lowercase();
            match (property.to_ascii_lowercase().as_str(), value.as_str()) {
                ("membertype", "user") => self.member_type = Some(MemberType::User),
                ("membertype", "group") => self.member_type = Some(MemberType::Group),
                ("membershipexpired", "true") => self.expired_only = true,
                ("membershipexpired" | "includepredefinedusers", "true" | "false") => {}
                _ => return Err(refuse()),
            }
            if words
                .next_if(|word| word.eq_ignore_ascii_case("and"))
                .is_some()
                && words.peek().is_none()
            {
                return Err(refuse());
            }
        }
        Ok(())
    }

    /// Whether `member` passes the filter and the search.
    pub fn keeps(&self, member: &SafeMember) -> bool {
        let name = member.name.to_lowercase();
        !self.expired_only
            && self
                .member_type
                .is_none_or(|kind| kind == member.member_type)
            && self.words.iter().all(|word| name.contains(word.as_str()))
    }
}

/// The words of a `search`, within [`MAX_SEARCH_WORDS`] and [`MAX_SEARCH_WORD_CHARS`].
fn search_words(search: Option<&str>) -> Result<Vec<String>, FieldError> {
    let words: Vec<String> = search
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let too_long = |word: &String| word.chars().count() > MAX_SEARCH_WORD_CHARS;
    if words.len() > MAX_SEARCH_WORDS || words.iter().any(too_long) {
        return Err(FieldError::new(
            "search",
            format!(
                "must be at most {MAX_SEARCH_WORDS} words of at most {MAX_SEARCH_WORD_CHARS} \
                 characters each"
            ),
        ));
    }
    Ok(words)
}

/// A number, or -1 (refused by the range checks) for anything else.
fn number(value: &str) -> i64 {
    value.trim().parse().unwrap_or(-1)
}

/// The safe name of `safeName eq <name>` (any case; the name may be in double quotes).
fn safe_name_filter(filter: &str) -> Option<String> {
    let (property, rest) = filter.split_once(char::is_whitespace)?;
    let (operator, value) = rest.trim_start().split_once(char::is_whitespace)?;
    if !property.eq_ignore_ascii_case("safeName") || !operator.eq_ignore_ascii_case("eq") {
        return None;
    }
    let value = value.trim();
    let value = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    (!value.is_empty()).then(|| value.to_owned())
}

fn parse_sort(sort: &str) -> Option<(SortBy, bool)> {
    let first = sort.split(',').next()?;
    let mut words = first.split_whitespace();
    let property = match words.next()?.to_ascii_lowercase().as_str() {
        "name" => SortBy::Name,
        "address" => SortBy::Address,
        "username" => SortBy::UserName,
        "safename" => SortBy::SafeName,
        "platformid" => SortBy::PlatformId,
        "createdtime" => SortBy::CreatedTime,
        _ => return None,
    };
    let descending = match words.next().map(str::to_ascii_lowercase).as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => return None,
    };
    Some((property, descending))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(member_type: MemberType, name: &str) -> SafeMember {
        SafeMember {
            member_type,
            name: name.to_owned(),
            can_request: true,
            confirm_level: None,
        }
    }

    #[test]
    fn reads_the_members_filter_as_pspas_writes_it() {
        let filter = MembersFilter::parse(
            "filter=memberType%20eq%20User%20AND%20membershipExpired%20eq%20false%20AND%20includePredefinedUsers%20eq%20true&search=CAR",
        )
        .expect("valid");
        assert_eq!(filter.member_type, Some(MemberType::User));
        assert!(filter.keeps(&member(MemberType::User, "carol")));
        assert!(!filter.keeps(&member(MemberType::User, "dave")));
        assert!(!filter.keeps(&member(MemberType::Group, "carers")));
        let expired = MembersFilter::parse("filter=membershipExpired%20eq%20true").expect("valid");
        assert!(!expired.keeps(&member(MemberType::User, "carol")));
        assert!(
            MembersFilter::parse("")
                .expect("none")
                .keeps(&member(MemberType::Group, "ops"))
        );
        for bad in [
            "memberType eq Robot",
            "memberType ne User",
            "owner eq carol",
            "memberType eq",
            "memberType eq User OR x",
            "memberType eq User AND",
            "memberType eq User AND AND membershipExpired eq false",
        ] {
            let query = format!("filter={}", bad.replace(' ', "%20"));
            let errors = MembersFilter::parse(&query).expect_err(bad);
            assert_eq!(errors[0].field, "filter", "{bad}");
        }
    }

    /// psPAS 7's Get-PASSafeMember calls `ConvertTo-FilterString` without a logical operator,
    /// which then joins its clauses with two spaces.
    #[test]
    fn reads_clauses_joined_by_spaces_alone() {
        let filter = MembersFilter::parse(
            "filter=memberType%20eq%20Group%20%20membershipExpired%20eq%20False",
        )
        .expect("valid");
        assert_eq!(filter.member_type, Some(MemberType::Group));
        assert!(!filter.expired_only);
        assert!(filter.keeps(&member(MemberType::Group, "ops")));
        assert!(!filter.keeps(&member(MemberType::User, "carol")));
    }

    #[test]
    fn reads_pspas_queries() {
        let query = AccountsQuery::parse(
            "search=db01%20root&searchType=startswith&filter=safeName%20eq%20%22Fin%20Ops%22&limit=500&SORT=userName%20desc",
        );
        let search = query.to_search().expect("valid");
        assert_eq!(search.words, ["db01", "root"]);
        assert_eq!(search.search_type, SearchType::StartsWith);
        assert_eq!(search.safe_name.as_deref(), Some("Fin Ops"));
        assert_eq!(search.limit, MAX_LIMIT);
        assert_eq!((search.sort, search.descending), (SortBy::UserName, true));
        let link = query.next_link(&search, 100, 250).expect("more");
        assert!(link.starts_with("api/Accounts?search=db01+root&"), "{link}");
        assert!(link.ends_with("&offset=100&limit=100"), "{link}");
        assert_eq!(query.next_link(&search, 100, 100), None);
    }

    #[test]
    fn refuses_what_it_cannot_answer_naming_the_parameter() {
        for (raw, field) in [
            ("searchType=fuzzy", "searchType"),
            ("filter=modificationTime%20gte%201", "filter"),
            ("limit=0", "limit"),
            ("limit=x", "limit"),
            ("offset=-1", "offset"),
            ("sort=secret", "sort"),
            ("savedFilter=Favorites", "savedFilter"),
        ] {
            let errors = AccountsQuery::parse(raw)
                .to_search()
                .err()
                .unwrap_or_default();
            assert_eq!(errors.len(), 1, "{raw}");
            assert_eq!(errors[0].field, field, "{raw}");
        }
    }
}
