//! A PostgreSQL cluster of the test's own, in a temporary directory on a free loopback port,
//! that the test may stop and start at will. It never touches the shared server on 5432.
//! The server refuses to run as root, so under root (as in CI) every command runs as the
//! `postgres` OS user, which owns the directory.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use diesel::{Connection, PgConnection, RunQueryDsl};

pub struct Cluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    as_postgres: bool,
    /// The address it listens on and is reached at: loopback, or an address in `netns`.
    host: String,
    /// A network namespace the server runs in (`ip netns exec`), for a test that cuts it off.
    netns: Option<String>,
}

impl Cluster {
    /// A new cluster, started; `None` (after saying why) when the machine has no PostgreSQL
    /// binaries. Under `CI` their absence fails the test instead.
    pub fn start_new() -> Option<Self> {
        Self::start_new_at("127.0.0.1", None)
    }

    /// Like [`Cluster::start_new`], listening on `host` inside the network namespace `netns`.
    pub fn start_new_at(host: &str, netns: Option<&str>) -> Option<Self> {
        let Some(bin) = binaries() else {
            assert!(
                std::env::var("CI").is_err(),
                "CI is set but no PostgreSQL binaries are in /usr/lib/postgresql/*/bin: the \
                 fault test would be skipped"
            );
            eprintln!("skipped: no initdb and pg_ctl in /usr/lib/postgresql/*/bin");
            return None;
        };
        let as_postgres = is_root();
        let dir = tempfile::Builder::new()
            .prefix("requestdesk-faults-pg")
            .tempdir()
            .expect("temporary directory");
        if as_postgres {
            let (uid, gid) = postgres_ids();
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))
                .expect("give the cluster directory to postgres");
        }
        let cluster = Self {
            bin,
            dir,
            port: free_port(),
            as_postgres,
            host: host.to_owned(),
            netns: netns.map(str::to_owned),
        };
        cluster.run_ok(
            "initdb",
            &[
                "-D",
                &cluster.data_dir(),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
                "--no-instructions",
            ],
        );
        if cluster.host != "127.0.0.1" {
            // initdb trusts loopback only; the test's own namespace is as private.
            let hba = cluster.dir.path().join("data").join("pg_hba.conf");
            let mut rules = std::fs::read_to_string(&hba).expect("read pg_hba.conf");
            rules.push_str(&format!("host all all {}/24 trust\n", cluster.host));
            std::fs::write(&hba, rules).expect("write pg_hba.conf");
        }
        cluster.start();
        Some(cluster)
    }

    /// The URL of database `name` on this cluster.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@{}:{}/{name}", self.host, self.port)
    }

    pub fn create_database(&self, name: &str) -> String {
        let mut admin = PgConnection::establish(&self.url("postgres")).expect("connect");
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .expect("create database");
        self.url(name)
    }

    /// Starts the server and waits until it accepts connections.
    pub fn start(&self) {
        let options = format!(
            "-p {} -c listen_addresses={} -c unix_socket_directories={} -c fsync=off",
            self.port,
            self.host,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log");
        self.run_ok(
            "pg_ctl",
            &[
                "-D",
                &self.data_dir(),
                "-o",
                &options,
                "-l",
                &log.to_string_lossy(),
                "-w",
                "start",
            ],
        );
    }

    /// Stops the server the way an operator restarting it would: `-m fast` ends every session.
    pub fn stop(&self) {
        self.run_ok(
            "pg_ctl",
            &["-D", &self.data_dir(), "-m", "fast", "-w", "stop"],
        );
    }

    fn data_dir(&self) -> String {
        self.dir.path().join("data").to_string_lossy().into_owned()
    }

    fn run_ok(&self, program: &str, args: &[&str]) {
        let output = self.run(program, args);
        assert!(
            output.status.success(),
            "{program} {args:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn run(&self, program: &str, args: &[&str]) -> Output {
        let program = self.bin.join(program);
        let mut command = match &self.netns {
            Some(netns) => {
                let mut command = Command::new("ip");
                command.args(["netns", "exec", netns]);
                command
            }
            None => Command::new(if self.as_postgres { "runuser" } else { "env" }),
        };
        if self.netns.is_some() && self.as_postgres {
            command.arg("runuser");
        }
        if self.as_postgres {
            command.args(["-u", "postgres", "--"]);
        }
        command.arg(program);
        command
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .expect("run a PostgreSQL command")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.run(
            "pg_ctl",
            &["-D", &self.data_dir(), "-m", "immediate", "stop"],
        );
    }
}

/// The newest `/usr/lib/postgresql/<version>/bin` holding `initdb` and `pg_ctl`.
fn binaries() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            has_tools(&bin).then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

fn has_tools(bin: &Path) -> bool {
    bin.join("initdb").is_file() && bin.join("pg_ctl").is_file()
}

fn id(args: &[&str]) -> u32 {
    let output = Command::new("id").args(args).output().expect("run id");
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .expect("a numeric id")
}

fn is_root() -> bool {
    id(&["-u"]) == 0
}

fn postgres_ids() -> (u32, u32) {
    (id(&["-u", "postgres"]), id(&["-g", "postgres"]))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}
