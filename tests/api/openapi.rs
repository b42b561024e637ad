//! The contract: the committed `openapi/openapi.json` is what the code generates and serves.

use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(
    the_served_document_is_the_committed_one,
    swagger_ui_is_served
);

fn committed() -> serde_json::Value {
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
            let secured = operation["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
            let responses = operation["responses"].as_object().expect("responses");
            if secured {
                assert!(
                    responses.contains_key("401"),
                    "{method} {path}: a secured operation documents 401"
                );
            }
        }
    }
    assert!(operations >= 12, "only {operations} operations documented");
    assert!(doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer");
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
