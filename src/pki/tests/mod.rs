//! Tests of the `pki` module. CSRs are made with rcgen (ECDSA, Ed25519) or
//! the `openssl` binary (RSA, P-521, CSRs asking for extra extensions);
//! results are checked with `openssl verify`, `openssl x509` and `openssl crl`.

#![allow(clippy::unwrap_used)]

mod ca;
mod crl;
mod csr;
mod issue;
mod support;
