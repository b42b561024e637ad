//! A PostgreSQL server that stops answering without closing anything, as behind a firewall that
//! drops every packet: calls on open connections must still be 503 within the database timeout
//! (libpq's `tcp_user_timeout`, which the pool adds to the URL), not wait for TCP to give up
//! after about 15 minutes. The server runs in a network namespace of the test's own, reached
//! over a veth pair; taking the far end down with a permanent neighbour entry on the near end
//! drops every packet silently. Needs root and `ip` (CAP_NET_ADMIN): skipped, saying so, without.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::cluster::Cluster;
use crate::outage::start_on;

/// The database timeout the instance runs with, and what an answer may take beyond it.
const DB_TIMEOUT: Duration = Duration::from_secs(2);
const SLACK: Duration = Duration::from_millis(1500);

/// A network namespace with one veth pair to it; removed on drop.
struct Netns {
    name: String,
    near: String,
    far: String,
    near_address: String,
    far_address: String,
}

impl Netns {
    fn create() -> Option<Self> {
        let id = std::process::id() % 200 + 20;
        let netns = Self {
            name: format!("rdbh{id}"),
            near: format!("rdbh{id}a"),
            far: format!("rdbh{id}b"),
            near_address: format!("10.213.{id}.1"),
            far_address: format!("10.213.{id}.2"),
        };
        let _ = ip(&["netns", "del", &netns.name]);
        let _ = ip(&["link", "del", &netns.near]);
        let steps: [&[&str]; 7] = [
            &["netns", "add", &netns.name],
            &[
                "link",
                "add",
                &netns.near,
                "type",
                "veth",
                "peer",
                "name",
                &netns.far,
            ],
            &["link", "set", &netns.far, "netns", &netns.name],
            &[
                "addr",
                "add",
                &format!("{}/30", netns.near_address),
                "dev",
                &netns.near,
            ],
            &["link", "set", &netns.near, "up"],
            &[
                "-n",
                &netns.name,
                "addr",
                "add",
                &format!("{}/30", netns.far_address),
                "dev",
                &netns.far,
            ],
            &["-n", &netns.name, "link", "set", &netns.far, "up"],
        ];
        for step in steps {
            if let Err(error) = ip(step) {
                eprintln!("skipped: cannot make a network namespace ({error})");
                return None;
            }
        }
        ip(&["-n", &netns.name, "link", "set", "lo", "up"]).ok()?;
        Some(netns)
    }

    /// Every packet to the server is dropped, silently: its link is down, and the near end
    /// keeps its MAC address, so no ARP failure says "unreachable".
    fn blackhole(&self) {
        let mac = Command::new("ip")
            .args(["netns", "exec", &self.name, "cat"])
            .arg(format!("/sys/class/net/{}/address", self.far))
            .output()
            .expect("read the far end's MAC");
        let mac = String::from_utf8_lossy(&mac.stdout).trim().to_owned();
        ip(&[
            "neigh",
            "replace",
            &self.far_address,
            "lladdr",
            &mac,
            "dev",
            &self.near,
            "nud",
            "permanent",
        ])
        .expect("a permanent neighbour");
        ip(&["-n", &self.name, "link", "set", &self.far, "down"]).expect("cut the server off");
    }

    fn restore(&self) {
        ip(&["-n", &self.name, "link", "set", &self.far, "up"]).expect("reconnect the server");
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = ip(&["link", "del", &self.near]);
        let _ = ip(&["netns", "del", &self.name]);
    }
}

fn ip(args: &[&str]) -> Result<(), String> {
    let output = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {args:?}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_blackholed_postgresql_is_503_within_the_database_timeout() {
    let Some(netns) = Netns::create() else {
        return;
    };
    let Some(cluster) = Cluster::start_new_at(&netns.far_address, Some(&netns.name)) else {
        return;
    };
    let url = cluster.create_database("requestdesk");
    let app = start_on(&url, DB_TIMEOUT.as_secs()).await;
    let token = app.developer("jdoe").await;
    // Open connections: the calls below take them from the pool, and find the server gone.
    for _ in 0..4 {
        assert_eq!(
            app.get("/api/v3/myrequests", Some(&token)).await.status,
            200
        );
    }

    netns.blackhole();
    let started = Instant::now();
    let call = || async {
        let begun = Instant::now();
        let reply = app.get("/api/v3/myrequests", Some(&token)).await;
        (
            reply.status,
            reply.problem_code().to_owned(),
            begun.elapsed(),
        )
    };
    let (a, b, c, d) = tokio::join!(call(), call(), call(), call());
    let answers = [a, b, c, d];
    let ready = app.get("/readyz", None).await;
    for (status, code, took) in &answers {
        assert_eq!(
            (*status, code.as_str()),
            (503, "service_unavailable"),
            "{answers:?}"
        );
        assert!(
            *took <= DB_TIMEOUT + SLACK,
            "answered after {took:?}: {answers:?}"
        );
    }
    assert_eq!(ready.status, 503, "{ready:?}");
    eprintln!(
        "blackholed: {answers:?}, /readyz {} after {:?} in all",
        ready.status,
        started.elapsed()
    );

    netns.restore();
    let back = Instant::now();
    loop {
        let reply = app.get("/api/v3/myrequests", Some(&token)).await;
        if reply.status == 200 {
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(10),
            "not recovered 10 s after the server was reachable again: {reply:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!(
        "recovered {:?} after the server was reachable again",
        back.elapsed()
    );
    drop(app);
    drop(cluster);
    drop(netns);
}
