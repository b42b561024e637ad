//! requestdesk: a self-service request portal for security teams.
//!
//! `api` speaks HTTP, `service` holds the rules, `db` builds every query, `domain` holds the
//! validated values; `startup` wires them together.

pub mod api;
pub mod clock;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod healthcheck;
pub mod openapi;
pub mod pki;
pub mod secrets;
pub mod service;
pub mod startup;
pub mod telemetry;
