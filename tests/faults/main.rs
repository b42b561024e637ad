//! Faults and hostile input, black-box: a PostgreSQL restart under load, kill -9 of the service
//! under write load, generated hostile input on every kind of text the API reads, and races
//! held open on PostgreSQL (a log-in against a password change, submissions and uses against
//! changes of their safe or account).

#[path = "../api/helpers/mod.rs"]
#[expect(
    dead_code,
    reason = "shared with tests/api, which uses the helpers this binary does not"
)]
mod helpers;

mod blackhole;
mod cluster;
mod fixture;
mod held;
mod hostile;
mod key_races;
mod kill;
mod load;
mod log_in;
mod nul;
mod outage;
mod pool;
mod safe_races;
