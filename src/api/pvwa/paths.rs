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
        let is_request_id = previous == "myrequests" || previous == "incomingrequests";
        let lower = segment.to_ascii_lowercase();
        canonical.push_str(if is_request_id { segment } else { &lower });
        previous = if is_request_id { String::new() } else { lower };
    }
    Some(canonical)
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
            ("/PasswordVaultX/api", None),
            ("/api/v3/myrequests", None),
            ("/pass", None),
        ];
        for (path, expected) in cases {
            assert_eq!(canonical_path(path).as_deref(), expected, "{path}");
        }
    }
}
