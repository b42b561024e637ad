//! The contract: the committed `openapi/openapi.json` is what the code generates and serves.

use crate::helpers::TestApp;
use crate::helpers::safes::{create_account, create_safe, put_member};
use crate::on_both_backends;

on_both_backends!(
    the_served_document_is_the_committed_one,
    swagger_ui_is_served,
    the_documented_request_examples_are_accepted,
);

/// The committed `openapi/openapi.json`.
pub fn committed() -> serde_json::Value {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
            .expect("openapi/openapi.json is committed");
    serde_json::from_str(&text).expect("valid JSON")
}

#[test]
fn the_committed_document_matches_the_code() {
    let generated = requestdesk::openapi::to_pretty_json(&requestdesk::openapi::document());
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
    let on_disk = std::fs::read_to_string(path).unwrap_or_default();
    if std::env::var("UPDATE_OPENAPI").is_ok() {
        std::fs::write(path, &generated).expect("write openapi.json");
        return;
    }
    assert!(
        on_disk == generated,
        "openapi/openapi.json is stale: run `UPDATE_OPENAPI=1 cargo test the_committed_document` \
         or `cargo run -- openapi > openapi/openapi.json`"
    );
}

/// The PVWA operations' summaries, descriptions and the logon's `security: []` come with the
/// PVWA logon's change to `text/plain` (issue 12, phase 2); until then only their ids and tags
/// are checked.
const PVWA_PATHS: &str = "/passwordvault/";

#[test]
fn every_operation_has_an_id_a_tag_and_documented_errors() {
    let doc = committed();
    let paths = doc["paths"].as_object().expect("paths");
    let mut operations = 0;
    for (path, item) in paths {
        for (method, operation) in item.as_object().expect("path item") {
            operations += 1;
            let id = operation["operationId"].as_str().unwrap_or_default();
            assert!(
                !id.is_empty() && id.contains('_'),
                "{method} {path}: operation id `{id}`"
            );
            assert!(
                operation["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{method} {path}: tag"
            );
            if path.starts_with(PVWA_PATHS) {
                continue;
            }
            let summary = operation["summary"].as_str().unwrap_or_default();
            assert!(
                !summary.is_empty() && !summary.contains('\n'),
                "{method} {path}: a one-line summary, not `{summary}`"
            );
            let description = operation["description"].as_str().unwrap_or_default();
            assert!(
                description.len() > summary.len(),
                "{method} {path}: a description beyond the summary"
            );
            let security = operation["security"]
                .as_array()
                .unwrap_or_else(|| panic!("{method} {path}: security is explicit"));
            assert!(
                security
                    .iter()
                    .all(|r| r.as_object().is_some_and(|r| !r.is_empty())),
                "{method} {path}: public is `security: []`, never `[{{}}]`"
            );
            let responses = operation["responses"].as_object().expect("responses");
            if !security.is_empty() {
                assert!(
                    responses.contains_key("401"),
                    "{method} {path}: a secured operation documents 401"
                );
            }
            assert!(
                responses.keys().any(|status| status.starts_with('4')),
                "{method} {path}: a client error is documented"
            );
        }
    }
    assert_eq!(
        operations,
        documented_handlers(),
        "one operation in openapi.json for each `#[utoipa::path]` handler under src/api"
    );
    assert!(doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer");
}

/// How many handlers under `src/api` carry `#[utoipa::path]`: each is one operation, and every
/// one is registered with `.service(..)`, so none may be missing from the document.
fn documented_handlers() -> usize {
    fn count(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir)
            .expect("readable directory")
            .map(|entry| entry.expect("directory entry").path())
            .map(|path| {
                if path.is_dir() {
                    count(&path)
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).expect("readable source");
                    text.lines()
                        .filter(|line| line.trim_start().starts_with("#[utoipa::path("))
                        .count()
                } else {
                    0
                }
            })
            .sum()
    }
    count(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api"))
}

#[test]
fn the_document_names_its_server_license_contact_and_default_security() {
    let doc = committed();
    assert_eq!(doc["servers"][0]["url"], "/");
    assert_eq!(doc["info"]["license"]["identifier"], "MIT");
    assert!(doc["info"]["contact"]["name"].is_string());
    for (path, method) in [
        ("/api/v3/users", "post"),
        ("/api/v3/users/sessions", "post"),
        ("/api/v3/ca/crl", "get"),
        ("/healthz", "get"),
    ] {
        assert_eq!(
            doc["paths"][path][method]["security"],
            serde_json::json!([]),
            "{method} {path} is public"
        );
    }
}

#[test]
fn list_pages_refer_to_their_item_schema() {
    let doc = committed();
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    let pages: Vec<_> = schemas
        .keys()
        .filter(|name| name.starts_with("Page_"))
        .collect();
    assert!(pages.len() >= 5, "{pages:?}");
    for page in pages {
        let item = page.trim_start_matches("Page_");
        assert_eq!(
            schemas[page]["properties"]["items"]["items"],
            serde_json::json!({"$ref": format!("#/components/schemas/{item}")}),
            "{page}"
        );
    }
}

#[test]
fn binary_bodies_are_binary_strings() {
    let doc = committed();
    let is_binary = |schema: &serde_json::Value| {
        schema["type"] == "string" && schema["format"] == "binary" && schema["items"].is_null()
    };
    let crl = &doc["paths"]["/api/v3/ca/crl"]["get"]["responses"]["200"]["content"];
    assert!(is_binary(&crl["application/pkix-crl"]["schema"]), "{crl}");
    let download =
        &doc["paths"]["/api/v3/certificates/{id}/pem"]["get"]["responses"]["200"]["content"];
    assert!(
        is_binary(&download["application/pkix-cert"]["schema"]),
        "{download}"
    );
    assert_eq!(
        download["application/x-pem-file"]["schema"]["type"],
        "string"
    );
}

#[test]
fn a_confirmation_needs_no_body() {
    let doc = committed();
    let body = &doc["paths"]["/api/v3/incoming-requests/{id}/confirm"]["post"]["requestBody"];
    assert_ne!(body["required"], true, "{body}");
    assert_eq!(
        body["content"]["application/json"]["schema"],
        serde_json::json!({"$ref": "#/components/schemas/ConfirmBody"}),
        "left out, not null: {body}"
    );
}

#[test]
fn a_new_request_is_a_union_discriminated_by_type() {
    let doc = committed();
    let schemas = &doc["components"]["schemas"];
    let submit = &schemas["SubmitRequest"];
    assert_eq!(submit["discriminator"]["propertyName"], "type");
    for (kind, schema) in [
        ("certificate", "CertificateRequestBody"),
        ("access", "AccessRequestBody"),
    ] {
        let reference = format!("#/components/schemas/{schema}");
        assert_eq!(submit["discriminator"]["mapping"][kind], reference.as_str());
        assert!(
            submit["oneOf"]
                .as_array()
                .is_some_and(|variants| variants.iter().any(|v| v["$ref"] == reference.as_str())),
            "{submit}"
        );
        assert!(schemas[schema]["title"].is_string(), "{schema} has a title");
    }
}

#[test]
fn log_in_documents_the_errors_it_answers() {
    let doc = committed();
    let responses = &doc["paths"]["/api/v3/users/sessions"]["post"]["responses"];
    let components = &doc["components"]["responses"];
    for (status, code) in [("401", "invalid_credentials"), ("403", "user_suspended")] {
        let reference = responses[status]["$ref"].as_str().expect("a reference");
        let name = reference.trim_start_matches("#/components/responses/");
        let example = &components[name]["content"]["application/problem+json"]["example"];
        assert_eq!(example["code"], code, "{status}: {reference}");
    }
}

/// The examples of `POST /myrequests`, by name.
fn submit_example(name: &str) -> serde_json::Value {
    committed()["paths"]["/api/v3/myrequests"]["post"]["requestBody"]["content"]["application/json"]
        ["examples"][name]["value"]
        .clone()
}

async fn the_documented_request_examples_are_accepted(app: TestApp) {
    let developer = app.developer("jdoe").await;
    let certificate = submit_example("certificate");
    let reply = app
        .post("/api/v3/myrequests", Some(&developer), &certificate)
        .await;
    assert_eq!(reply.status, 201, "the certificate example: {reply:?}");
    assert_eq!(reply.body["status"], "pending");

    let admin = app.admin_token().await;
    create_safe(&app, &admin, serde_json::json!({"name": "Linux"})).await;
    let account = create_account(&app, &admin, "Linux", "root-db01").await;
    assert_eq!(account, 1, "the example names the first account");
    put_member(&app, &admin, "Linux", "jdoe", true, None).await;
    put_member(&app, &admin, "Linux", "admin", false, Some(1)).await;
    let reply = app
        .post(
            "/api/v3/myrequests",
            Some(&developer),
            &submit_example("access"),
        )
        .await;
    assert_eq!(reply.status, 201, "the access example: {reply:?}");
    assert_eq!(reply.body["type"], "access");
}

async fn the_served_document_is_the_committed_one(app: TestApp) {
    let reply = app.get("/api/v3/openapi.json", None).await;
    assert_eq!(reply.status, 200, "the document is served");
    assert!(
        reply.body == committed(),
        "the served document differs from openapi/openapi.json"
    );
}

async fn swagger_ui_is_served(app: TestApp) {
    let reply = app.send(app.client.get(app.url("/swagger-ui/"))).await;
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .body
            .as_str()
            .is_some_and(|html| html.contains("swagger")),
        "{reply:?}"
    );
}

#[test]
fn every_reference_in_the_document_resolves() {
    let doc = committed();
    let mut references = Vec::new();
    collect_references(&doc, &mut references);
    assert!(!references.is_empty(), "the document uses references");
    for reference in references {
        let pointer = reference.trim_start_matches('#');
        assert!(
            doc.pointer(pointer).is_some(),
            "{reference} does not resolve"
        );
    }
}

fn collect_references(value: &serde_json::Value, into: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(object) => {
            if let Some(serde_json::Value::String(reference)) = object.get("$ref") {
                into.push(reference.clone());
            }
            object.values().for_each(|v| collect_references(v, into));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_references(v, into)),
        _ => {}
    }
}
