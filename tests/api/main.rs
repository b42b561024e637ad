//! Black-box HTTP tests: each starts the real application on a random port against a fresh
//! database, on SQLite always and on PostgreSQL when `TEST_DATABASE_URL` is set.

mod helpers;

mod access;
mod auth;
mod caching;
mod certificates;
mod http;
mod incoming_requests;
mod metrics;
mod my_requests;
mod openapi;
mod pspas;
mod pvwa;
mod pvwa_vault;
mod retrieval;
mod safes;
mod secrets;
mod sessions;
mod startup;
mod status_rule;
mod users;
