//! Rebuilds the crate when anything under `migrations/` changes.
//!
//! `embed_migrations!` in `src/db/mod.rs` reads the migration folders at compile time, but cargo
//! tracks only Rust sources: without this, a new migration folder is missing from an incremental
//! build until some `.rs` file changes. A directory given to `rerun-if-changed` is scanned whole,
//! so a new, edited or removed file in either backend's folder triggers the rebuild.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
