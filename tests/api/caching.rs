//! Caching: strong ETags and 304s on the CA certificate, the CRL, certificate downloads and the OpenAPI
//! document; `Cache-Control` on every answer; the download's content negotiation.

use crate::helpers::TestApp;
use crate::helpers::pki::KeyType;
use crate::on_both_backends;

on_both_backends!(
    the_ca_certificate_answers_304_to_its_own_etag,
    the_crl_is_tagged_by_its_number_until_a_revocation_changes_it,
    the_openapi_document_has_an_etag_per_encoding,
    pem_and_der_downloads_have_their_own_etags,
    the_download_follows_accept_unless_format_says_otherwise,
    a_log_in_answer_is_never_stored,
    no_pvwa_answer_is_stored,
    user_data_is_private_and_revalidated,
);

/// `GET path` with `If-None-Match: etag` (and any extra headers): status, headers, body length.
async fn revalidate(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    etag: &str,
    extra: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, usize) {
    let request = extra.iter().fold(
        app.request(reqwest::Method::GET, path, token)
            .header("if-none-match", etag),
        |request, (name, value)| request.header(*name, *value),
    );
    let response = request.send().await.expect("an answer");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let length = response.bytes().await.expect("a body").len();
    (status, headers, length)
}

fn header<'h>(headers: &'h reqwest::header::HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

async fn the_ca_certificate_answers_304_to_its_own_etag(app: TestApp) {
    let first = app.get("/api/v3/ca/certificate", None).await;
    assert_eq!(first.status, 200, "{first:?}");
    let etag = first.header("etag").expect("an ETag").to_owned();
    assert!(
        etag.starts_with('"') && !etag.starts_with("W/"),
        "a strong ETag: {etag}"
    );
    assert_eq!(first.header("cache-control"), Some("public, no-cache"));

    let (status, headers, length) =
        revalidate(&app, "/api/v3/ca/certificate", None, &etag, &[]).await;
    assert_eq!(status, 304, "the same ETag is not modified");
    assert_eq!(length, 0, "a 304 has no body");
    assert_eq!(header(&headers, "etag"), Some(etag.as_str()));

    let (status, _, length) =
        revalidate(&app, "/api/v3/ca/certificate", None, "\"stale\"", &[]).await;
    assert_eq!(status, 200, "another ETag gets the certificate");
    assert!(length > 0);
}

/// The CRL is signed afresh on each request, so its ETag is its CRL number: the same until a
/// revocation (or the next UTC day), then another one, and the new CRL says so in its number.
async fn the_crl_is_tagged_by_its_number_until_a_revocation_changes_it(app: TestApp) {
    let fetch = || revalidate(&app, "/api/v3/ca/crl", None, "\"none\"", &[]);
    let (status, first, length) = fetch().await;
    assert!(status == 200 && length > 0, "{status}: {first:?}");
    let etag = header(&first, "etag").expect("an ETag").to_owned();
    assert!(
        etag.starts_with("\"crl-") && etag.ends_with('"'),
        "a strong ETag naming the CRL number: {etag}"
    );
    assert_eq!(header(&first, "cache-control"), Some("public, no-cache"));
    let (_, again, _) = fetch().await;
    assert_eq!(
        header(&again, "etag"),
        Some(etag.as_str()),
        "nothing changed"
    );
    let (status, headers, length) = revalidate(&app, "/api/v3/ca/crl", None, &etag, &[]).await;
    assert_eq!((status, length), (304, 0), "not modified, no body");
    assert_eq!(header(&headers, "etag"), Some(etag.as_str()));

    let (token, id) = certificate_holder(&app).await;
    assert_eq!(app.revoke(&token, id, "superseded").await.status, 200);
    let (status, headers, length) = revalidate(&app, "/api/v3/ca/crl", None, &etag, &[]).await;
    assert_eq!(status, 200, "a revocation makes a new CRL");
    assert!(length > 0);
    let newer = header(&headers, "etag").expect("an ETag").to_owned();
    assert_ne!(newer, etag);
    let number = |etag: &str| -> u64 {
        etag.trim_matches('"')
            .trim_start_matches("crl-")
            .parse()
            .expect("a CRL number")
    };
    assert!(number(&newer) > number(&etag), "{newer} after {etag}");
    let (status, _, _) = revalidate(&app, "/api/v3/ca/crl", None, &newer, &[]).await;
    assert_eq!(status, 304);
}

async fn the_openapi_document_has_an_etag_per_encoding(app: TestApp) {
    let plain = app.get("/api/v3/openapi.json", None).await;
    assert_eq!(plain.status, 200);
    let etag = plain.header("etag").expect("an ETag").to_owned();
    assert_eq!(plain.header("cache-control"), Some("public, no-cache"));
    let (status, _, _) = revalidate(&app, "/api/v3/openapi.json", None, &etag, &[]).await;
    assert_eq!(status, 304);

    let gzip = [("accept-encoding", "gzip")];
    let (status, headers, _) =
        revalidate(&app, "/api/v3/openapi.json", None, "\"other\"", &gzip).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-encoding"), Some("gzip"));
    let gzip_etag = header(&headers, "etag").expect("an ETag").to_owned();
    assert_eq!(
        gzip_etag,
        format!("{}-gzip\"", etag.trim_end_matches('"')),
        "the compressed bytes are another representation"
    );
    let (status, _, _) = revalidate(&app, "/api/v3/openapi.json", None, &gzip_etag, &gzip).await;
    assert_eq!(status, 304, "the compressed copy revalidates too");
}

/// A developer with an issued certificate: their token and the certificate's id.
async fn certificate_holder(app: &TestApp) -> (String, i64) {
    let developer = app.developer("holder").await;
    let approver = app.user_with_role("approver1", "approver").await;
    let id = app
        .issued_certificate(&developer, &approver, "cache.example.com")
        .await;
    (developer, id)
}

async fn pem_and_der_downloads_have_their_own_etags(app: TestApp) {
    let (token, id) = certificate_holder(&app).await;
    let pem_path = format!("/api/v3/certificates/{id}/pem");
    let der_path = format!("{pem_path}?format=der");
    let pem = app.get(&pem_path, Some(&token)).await;
    let der = app.get(&der_path, Some(&token)).await;
    assert_eq!((pem.status, der.status), (200, 200));
    let pem_etag = pem.header("etag").expect("PEM ETag").to_owned();
    let der_etag = der.header("etag").expect("DER ETag").to_owned();
    assert_ne!(pem_etag, der_etag, "two encodings, two ETags");
    assert_eq!(pem.header("cache-control"), Some("private, no-cache"));

    let (status, _, _) = revalidate(&app, &der_path, Some(&token), &der_etag, &[]).await;
    assert_eq!(status, 304);
    let (status, _, length) = revalidate(&app, &der_path, Some(&token), &pem_etag, &[]).await;
    assert_eq!(status, 200, "the PEM's ETag does not validate the DER");
    assert!(length > 0);

    let stranger = app.developer("stranger").await;
    let (status, _, _) = revalidate(&app, &pem_path, Some(&stranger), &pem_etag, &[]).await;
    assert_eq!(status, 404, "an ETag opens nothing: ownership comes first");
}

async fn the_download_follows_accept_unless_format_says_otherwise(app: TestApp) {
    let (token, id) = certificate_holder(&app).await;
    let path = format!("/api/v3/certificates/{id}/pem");
    let cases = [
        (None, None, "application/x-pem-file"),
        (Some("*/*"), None, "application/x-pem-file"),
        (Some("application/pkix-cert"), None, "application/pkix-cert"),
        (
            Some("application/x-pem-file;q=0.5, application/pkix-cert"),
            None,
            "application/pkix-cert",
        ),
        (
            Some("application/pkix-cert;q=0.2, application/x-pem-file"),
            None,
            "application/x-pem-file",
        ),
        (
            Some("application/pkix-cert"),
            Some("pem"),
            "application/x-pem-file",
        ),
        (None, Some("der"), "application/pkix-cert"),
    ];
    for (accept, format, expected) in cases {
        let url = match format {
            Some(format) => format!("{path}?format={format}"),
            None => path.clone(),
        };
        let mut request = app.request(reqwest::Method::GET, &url, Some(&token));
        if let Some(accept) = accept {
            request = request.header("accept", accept);
        }
        let response = request.send().await.expect("an answer");
        let case = format!("Accept {accept:?}, format {format:?}");
        assert_eq!(response.status(), 200, "{case}");
        assert_eq!(
            header(response.headers(), "content-type"),
            Some(expected),
            "{case}"
        );
        let vary = header(response.headers(), "vary").unwrap_or_default();
        assert!(
            vary.split(',').any(|name| name.trim() == "Accept"),
            "{case}: Vary {vary}"
        );
        let bytes = response.bytes().await.expect("a body");
        let is_der = bytes.first() == Some(&0x30);
        assert_eq!(is_der, expected == "application/pkix-cert", "{case}");
    }
}

async fn a_log_in_answer_is_never_stored(app: TestApp) {
    app.developer("jdoe").await;
    let reply = app.log_in("jdoe", crate::helpers::PASSWORD).await;
    assert_eq!(reply.status, 201);
    assert!(reply.body["token"].is_string(), "{reply:?}");
    assert_eq!(reply.header("cache-control"), Some("no-store"));
}

async fn no_pvwa_answer_is_stored(app: TestApp) {
    let logon = app
        .post(
            "/PasswordVault/API/auth/Cyberark/Logon",
            None,
            &serde_json::json!({"username": "admin", "password": crate::helpers::ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(logon.status, 200, "{logon:?}");
    assert!(logon.body.is_string(), "the token: {logon:?}");
    let refused = app.get("/PasswordVault/API/MyRequests", None).await;
    assert_eq!(refused.status, 401);
    for reply in [logon, refused] {
        assert_eq!(reply.header("cache-control"), Some("no-store"), "{reply:?}");
    }
}

async fn user_data_is_private_and_revalidated(app: TestApp) {
    let token = app.developer("jdoe").await;
    let csr = crate::helpers::pki::csr_for(KeyType::P256, "private.example.com");
    let submitted = app.submit_csr(&token, &csr).await;
    assert_eq!(submitted.status, 201, "{submitted:?}");
    let dashboard = app.get("/api/v3/myrequests", Some(&token)).await;
    assert_eq!(dashboard.status, 200);
    assert_eq!(dashboard.body["requests"]["total"], 1, "{dashboard:?}");
    for reply in [
        submitted,
        dashboard,
        app.get("/api/v3/myrequests", None).await,
    ] {
        assert_eq!(
            reply.header("cache-control"),
            Some("private, no-cache"),
            "{reply:?}"
        );
    }
}
