//! Path normalisation: PVWA clients spell paths in any case; the routes are lowercase.

use super::PREFIX;

/// The routed form of a path under `/PasswordVault`, or `None` for any other path.
pub(super) fn canonical_path(path: &str) -> Option<String> {
    let head = path.get(..PREFIX.len())?;
    let rest = &path[PREFIX.len()..];
    if !head.eq_ignore_ascii_case(PREFIX) || !(rest.is_empty() || rest.starts_with('/')) {
        return None;
    }
    let mut canonical = String::with_capacity(path.len());
    let mut previous = String::new();
    for segment in path.trim_end_matches('/').split('/').skip(1) {
        canonical.push('/');
        let lower = segment.to_ascii_lowercase();
        let is_name = names_something(&previous, &lower);
        canonical.push_str(if is_name { segment } else { &lower });
        previous = if is_name { String::new() } else { lower };
    }
    Some(canonical)
}

/// Whether the segment after `previous` names something (a request id, a safe name, an
/// account id, a bulk action id), so keeps its case: safe names are shown back as sent. The
/// fixed words that may follow those segments (`IncomingRequests/Confirm/Bulk`,
/// `Accounts/AdvancedSearchProperties`) are routes, so lowercased.
fn names_something(previous: &str, lower: &str) -> bool {
    match previous {
        "myrequests" | "safes" | "bulkactions" => true,
        "incomingrequests" => !matches!(lower, "confirm" | "reject"),
        "accounts" => lower != "advancedsearchproperties",
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_segments_are_lowercased_and_request_ids_kept() {
        let cases = [
            (
                "/PasswordVault/API/MyRequests",
                Some("/passwordvault/api/myrequests"),
            ),
            (
                "/passwordvault/api/MyRequests/My_Safe_4/",
                Some("/passwordvault/api/myrequests/My_Safe_4"),
            ),
            (
                "/PASSWORDVAULT/Api/IncomingRequests/Fin_2/Confirm",
                Some("/passwordvault/api/incomingrequests/Fin_2/confirm"),
            ),
            (
                "/PasswordVault/API/IncomingRequests/Confirm/Bulk",
                Some("/passwordvault/api/incomingrequests/confirm/bulk"),
            ),
            (
                "/PasswordVault/api/Safes/Fin Ops/Members",
                Some("/passwordvault/api/safes/Fin Ops/members"),
            ),
            (
                "/PasswordVault/API/Accounts/AdvancedSearchProperties",
                Some("/passwordvault/api/accounts/advancedsearchproperties"),
            ),
            (
                "/PasswordVault/API/Accounts/12_34/Password/Retrieve",
                Some("/passwordvault/api/accounts/12_34/password/retrieve"),
            ),
            (
                "/PasswordVault/API/BulkActions/7",
                Some("/passwordvault/api/bulkactions/7"),
            ),
            (
                "/PasswordVault/WebServices/PIMServices.svc/Server",
                Some("/passwordvault/webservices/pimservices.svc/server"),
            ),
            ("/PasswordVaultX/api", None),
            ("/api/v3/myrequests", None),
            ("/pass", None),
        ];
        for (path, expected) in cases {
            assert_eq!(canonical_path(path).as_deref(), expected, "{path}");
        }
    }
}
