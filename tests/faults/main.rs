//! Faults and hostile input, black-box: a PostgreSQL restart under load, kill -9 of the service
//! under write load, and generated hostile input on every kind of text the API reads.

#[path = "../api/helpers/mod.rs"]
#[expect(
    dead_code,
    reason = "shared with tests/api, which uses the helpers this binary does not"
)]
mod helpers;

mod blackhole;
mod cluster;
mod fixture;
mod hostile;
mod kill;
mod load;
mod log_in;
mod nul;
mod outage;
mod pool;
