//! `loadgen`: the load generator of `bench/run` for what wrk cannot do.
//!
//! - `mixed`: an open-loop mix of API calls at a fixed rate (S6). Requests are *scheduled* at
//!   `--rate` per second, each in its own task, and latency is measured from the scheduled time,
//!   so a stall counts against every request it delays (no coordinated omission). Prints one
//!   JSON line: per class (reads, writes, log-in) and per operation the count, errors and
//!   p50/p99/max, and the service's resident memory (`--rss-pid`) at the start, peak and end.
//! - `prepare`: submits fresh certificate requests (a new P-256 key each) as one requester and
//!   writes `{"id", "csr"}` JSON lines (S9).
//! - `confirm`: confirms those requests as an approver with `--concurrency` workers, closed loop:
//!   the last confirmation issues the certificate, so this measures issued/s (S9).
//! - `cfssl-sign`: signs the same CSRs with `cfssl serve` (`POST /api/v1/cfssl/sign`), the
//!   reference of S9.
//!
//! `cargo build --release --example loadgen`; `loadgen <command> --help`.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

#[derive(Parser)]
#[command(about = "Load generator of bench/run (open-loop mix, certificate issuance)")]
struct Cli {
    /// Runtime worker threads.
    #[arg(long, default_value_t = 1, global = true)]
    threads: usize,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Open-loop mixed load at a fixed rate; one JSON line.
    Mixed(MixedArgs),
    /// Submit fresh certificate requests; writes {"id","csr"} lines.
    Prepare(PrepareArgs),
    /// Confirm prepared requests as an approver (issues their certificates), closed loop.
    Confirm(ConfirmArgs),
    /// Sign the prepared CSRs with `cfssl serve`, closed loop.
    CfsslSign(CfsslArgs),
}

#[derive(Args)]
struct MixedArgs {
    /// The service, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    base: String,
    /// Requests scheduled per second.
    #[arg(long)]
    rate: f64,
    /// Length of the measured window.
    #[arg(long)]
    seconds: f64,
    /// Every user's password (log-ins of the setup and of the mix).
    #[arg(long)]
    password: String,
    /// Users whose dashboard and stats are read, and who log in (in turn): NAME, or NAME:TOKEN
    /// to skip the log-in of the setup.
    #[arg(long = "reader", required = true)]
    readers: Vec<String>,
    /// Users who submit and cancel certificate requests (in turn): NAME or NAME:TOKEN.
    #[arg(long = "writer", required = true)]
    writers: Vec<String>,
    /// Weights of the operations (dashboard, stats, submit, cancel, login).
    #[arg(
        long,
        default_value = "dashboard=80,stats=10,submit=5,cancel=4,login=1"
    )]
    mix: String,
    /// Requests in flight at most; a request waiting for a slot is late, and counted so.
    #[arg(long, default_value_t = 512)]
    max_in_flight: usize,
    /// A request not answered within this is a timeout (an error).
    #[arg(long, default_value_t = 10.0)]
    timeout_seconds: f64,
    /// Sample this process's VmRSS every second (the service).
    #[arg(long)]
    rss_pid: Option<u32>,
}

#[derive(Args)]
struct PrepareArgs {
    #[arg(long)]
    base: String,
    /// The requester's bearer token.
    #[arg(long)]
    token: String,
    #[arg(long)]
    count: usize,
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Where the {"id","csr"} lines go.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
struct ConfirmArgs {
    #[arg(long)]
    base: String,
    /// An approver's bearer token.
    #[arg(long)]
    token: String,
    /// Lines written by `prepare`.
    #[arg(long = "in")]
    input: PathBuf,
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
}

#[derive(Args)]
struct CfsslArgs {
    /// `cfssl serve`'s URL, e.g. http://127.0.0.1:8888.
    #[arg(long)]
    url: String,
    /// Lines written by `prepare`.
    #[arg(long = "in")]
    input: PathBuf,
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
}

type Result<T> = std::result::Result<T, String>;

fn main() {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cli.threads.max(1))
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => exit_with(&format!("runtime: {e}")),
    };
    let outcome = runtime.block_on(async move {
        match cli.command {
            Command::Mixed(args) => mixed(args).await,
            Command::Prepare(args) => prepare(args).await,
            Command::Confirm(args) => confirm(args).await,
            Command::CfsslSign(args) => cfssl_sign(args).await,
        }
    });
    match outcome {
        Ok(report) => println!("{report}"),
        Err(e) => exit_with(&e),
    }
}

fn exit_with(message: &str) -> ! {
    eprintln!("loadgen: {message}");
    std::process::exit(1)
}

/// reqwest's own message ("error sending request for url ...") says nothing of the cause; its
/// sources do (a connection reset, closed before the answer, refused).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn client(timeout: Duration) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(timeout)
        .pool_max_idle_per_host(usize::MAX)
        // actix closes a keep-alive connection after 5 s idle; reusing one at that moment fails
        // with "error sending request" (seen 3 times in 27,000), so drop idle ones well before.
        .pool_idle_timeout(Duration::from_secs(2))
        .build()
        .map_err(|e| format!("http client: {e}"))
}

/// `count` PEM CSRs, each for a fresh ECDSA P-256 key and its own DNS name (the CA policy wants a
/// supported key and a DNS name; a pending request per key is allowed only once).
async fn make_csrs(count: usize, prefix: String) -> Result<Vec<String>> {
    tokio::task::spawn_blocking(move || {
        (0..count)
            .map(|i| {
                let name = format!("{prefix}-{i}.bench.example.com");
                let key = rcgen::KeyPair::generate().map_err(|e| e.to_string())?;
                rcgen::CertificateParams::new(vec![name])
                    .and_then(|params| params.serialize_request(&key))
                    .and_then(|csr| csr.pem())
                    .map_err(|e| format!("csr: {e}"))
            })
            .collect()
    })
    .await
    .map_err(|e| format!("csr task: {e}"))?
}

fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("lg{}-{nanos}", std::process::id())
}

async fn log_in(http: &reqwest::Client, base: &str, user: &str, password: &str) -> Result<String> {
    let response = http
        .post(format!("{base}/api/v3/users/sessions"))
        .json(&json!({"username": user, "password": password}))
        .send()
        .await
        .map_err(|e| format!("log-in of {user}: {e}"))?;
    let status = response.status();
    let body: Value = response
        .json()
        .await
        .map_err(|e| format!("log-in of {user}: {e}"))?;
    match body.get("token").and_then(Value::as_str) {
        Some(token) if status.is_success() => Ok(token.to_owned()),
        _ => Err(format!("log-in of {user}: {status} {body}")),
    }
}

fn certificate_body(csr: &str) -> Value {
    json!({"type": "certificate", "csr": csr, "reason": "bench load", "validity_days": 90})
}

/// Submits one CSR; the new request's id.
async fn submit(http: &reqwest::Client, base: &str, token: &str, csr: &str) -> Result<i64> {
    let response = http
        .post(format!("{base}/api/v3/myrequests"))
        .bearer_auth(token)
        .json(&certificate_body(csr))
        .send()
        .await
        .map_err(|e| format!("submit: {e}"))?;
    let status = response.status();
    let body: Value = response.json().await.map_err(|e| format!("submit: {e}"))?;
    match body.get("id").and_then(Value::as_i64) {
        Some(id) if status.as_u16() == 201 => Ok(id),
        _ => Err(format!("submit: {status} {body}")),
    }
}

// --- the open-loop mix -------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Op {
    Dashboard,
    Stats,
    Submit,
    Cancel,
    Login,
}

impl Op {
    const ALL: [Op; 5] = [Op::Dashboard, Op::Stats, Op::Submit, Op::Cancel, Op::Login];

    fn name(self) -> &'static str {
        match self {
            Op::Dashboard => "dashboard",
            Op::Stats => "stats",
            Op::Submit => "submit",
            Op::Cancel => "cancel",
            Op::Login => "login",
        }
    }

    fn class(self) -> &'static str {
        match self {
            Op::Dashboard | Op::Stats => "reads",
            Op::Submit | Op::Cancel => "writes",
            Op::Login => "login",
        }
    }

    fn expected(self) -> u16 {
        match self {
            Op::Dashboard | Op::Stats | Op::Cancel => 200,
            Op::Submit | Op::Login => 201,
        }
    }
}

/// The order of operations: smooth weighted round robin, so every share is spread evenly.
fn schedule(mix: &str, total: usize) -> Result<(Vec<Op>, BTreeMap<Op, u64>)> {
    let mut weights = BTreeMap::new();
    for part in mix.split(',').filter(|p| !p.trim().is_empty()) {
        let (name, weight) = part
            .split_once('=')
            .ok_or_else(|| format!("--mix: {part:?} is not name=weight"))?;
        let op = Op::ALL
            .into_iter()
            .find(|op| op.name() == name.trim())
            .ok_or_else(|| format!("--mix: unknown operation {name:?}"))?;
        let weight: u64 = weight
            .trim()
            .parse()
            .map_err(|e| format!("--mix: {part:?}: {e}"))?;
        weights.insert(op, weight);
    }
    let sum: u64 = weights.values().sum();
    if sum == 0 {
        return Err("--mix: the weights add up to 0".to_owned());
    }
    let entries: Vec<(Op, i64)> = weights
        .iter()
        .map(|(op, weight)| (*op, i64::try_from(*weight).unwrap_or(i64::MAX)))
        .collect();
    let sum = i64::try_from(sum).unwrap_or(i64::MAX);
    let mut current = vec![0_i64; entries.len()];
    let mut order = Vec::with_capacity(total);
    for _ in 0..total {
        let mut best = 0;
        for (i, (_, weight)) in entries.iter().enumerate() {
            current[i] += weight;
            if current[i] > current[best] {
                best = i;
            }
        }
        current[best] -= sum;
        order.push(entries[best].0);
    }
    Ok((order, weights))
}

#[derive(Default)]
struct OpStats {
    latencies_us: Vec<u64>,
    errors: u64,
    timeouts: u64,
    socket_errors: u64,
    statuses: BTreeMap<String, u64>,
}

enum Outcome {
    Status(u16),
    Timeout,
    Socket(String),
    /// The load generator's own shortfall (it ran out of prepared CSRs): not sent, counted as
    /// broken under its own name.
    Exhausted(&'static str),
    /// Nothing to do (a cancel with no pending request of ours yet): not sent, not counted.
    Skipped,
}

struct Mix {
    http: reqwest::Client,
    base: String,
    password: String,
    readers: Vec<(String, String)>,
    writers: Vec<String>,
    csrs: Mutex<Vec<String>>,
    /// Our own pending requests, oldest first: (writer index, id).
    pending: Mutex<VecDeque<(usize, i64)>>,
    turn: AtomicUsize,
    stats: Mutex<BTreeMap<Op, OpStats>>,
    skipped_cancels: AtomicUsize,
    first_socket_error: Mutex<Option<String>>,
}

impl Mix {
    fn next_turn(&self) -> usize {
        self.turn.fetch_add(1, Ordering::Relaxed)
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> (Outcome, Option<Value>) {
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                match response.bytes().await {
                    Ok(bytes) => (Outcome::Status(status), serde_json::from_slice(&bytes).ok()),
                    Err(e) if e.is_timeout() => (Outcome::Timeout, None),
                    Err(e) => (Outcome::Socket(error_chain(&e)), None),
                }
            }
            Err(e) if e.is_timeout() => (Outcome::Timeout, None),
            Err(e) => (Outcome::Socket(error_chain(&e)), None),
        }
    }

    async fn run(&self, op: Op) -> Outcome {
        let turn = self.next_turn();
        let reader = &self.readers[turn % self.readers.len()];
        match op {
            Op::Dashboard => {
                let url = format!("{}/api/v3/myrequests?per_page=20", self.base);
                self.send(self.http.get(url).bearer_auth(&reader.1)).await.0
            }
            Op::Stats => {
                let url = format!("{}/api/v3/myrequests/stats", self.base);
                self.send(self.http.get(url).bearer_auth(&reader.1)).await.0
            }
            Op::Login => {
                let url = format!("{}/api/v3/users/sessions", self.base);
                let body = json!({"username": reader.0, "password": self.password});
                self.send(self.http.post(url).json(&body)).await.0
            }
            Op::Submit => {
                let Some(csr) = lock(&self.csrs).pop() else {
                    return Outcome::Exhausted("out_of_csrs");
                };
                let writer = turn % self.writers.len();
                let url = format!("{}/api/v3/myrequests", self.base);
                let request = self
                    .http
                    .post(url)
                    .bearer_auth(&self.writers[writer])
                    .json(&certificate_body(&csr));
                let (outcome, body) = self.send(request).await;
                if let (Outcome::Status(201), Some(id)) =
                    (&outcome, body.as_ref().and_then(|b| b["id"].as_i64()))
                {
                    lock(&self.pending).push_back((writer, id));
                }
                outcome
            }
            Op::Cancel => {
                let Some((writer, id)) = lock(&self.pending).pop_front() else {
                    self.skipped_cancels.fetch_add(1, Ordering::Relaxed);
                    return Outcome::Skipped;
                };
                let url = format!("{}/api/v3/myrequests/{id}/cancel", self.base);
                let request = self.http.post(url).bearer_auth(&self.writers[writer]);
                self.send(request).await.0
            }
        }
    }

    fn record(&self, op: Op, outcome: Outcome, latency: Duration) {
        let mut stats = lock(&self.stats);
        let entry = stats.entry(op).or_default();
        let key = match outcome {
            Outcome::Skipped => return,
            Outcome::Status(status) => {
                if status != op.expected() {
                    entry.errors += 1;
                }
                status.to_string()
            }
            Outcome::Timeout => {
                entry.errors += 1;
                entry.timeouts += 1;
                "timeout".to_owned()
            }
            Outcome::Socket(message) => {
                entry.errors += 1;
                entry.socket_errors += 1;
                lock(&self.first_socket_error).get_or_insert(message);
                "socket".to_owned()
            }
            Outcome::Exhausted(what) => {
                entry.errors += 1;
                what.to_owned()
            }
        };
        *entry.statuses.entry(key).or_insert(0) += 1;
        entry
            .latencies_us
            .push(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
    }
}

fn percentile(sorted: &[u64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    // Nearest rank.
    let rank = (p * sorted.len() as f64).ceil().max(1.0) as usize;
    Some(sorted[rank.min(sorted.len()) - 1] as f64 / 1000.0)
}

fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

fn summary(latencies: &mut [u64], errors: u64, extra: Value) -> Value {
    latencies.sort_unstable();
    let mut value = json!({
        "count": latencies.len(),
        "errors": errors,
        "p50_ms": percentile(latencies, 0.50).map(round3),
        "p99_ms": percentile(latencies, 0.99).map(round3),
        "max_ms": percentile(latencies, 1.0).map(round3),
    });
    if let (Some(object), Value::Object(extra)) = (value.as_object_mut(), extra) {
        object.extend(extra);
    }
    value
}

/// VmRSS (KiB) and thread count of a process.
fn memory_of(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        line.split_whitespace().nth(1)?.parse().ok()
    };
    Some((field("VmRSS:")?, field("Threads:")?))
}

async fn mixed(args: MixedArgs) -> Result<String> {
    if !(args.rate > 0.0 && args.seconds > 0.0) {
        return Err("--rate and --seconds must be positive".to_owned());
    }
    let total = (args.rate * args.seconds).round() as usize;
    let (order, weights) = schedule(&args.mix, total)?;
    let weight_sum: u64 = weights.values().sum();
    let share = |op: Op| weights.get(&op).copied().unwrap_or(0) as f64 / weight_sum as f64;
    let http = client(Duration::from_secs_f64(args.timeout_seconds))?;
    let base = args.base.trim_end_matches('/').to_owned();

    // Setup (not measured): tokens, CSRs, and pending requests for the first cancels.
    let setup_started = Instant::now();
    // Users given without a token log in first, two at a time (the service hashes one password
    // per core at once).
    let users: Vec<(String, Option<String>)> = args
        .readers
        .iter()
        .chain(&args.writers)
        .map(|user| match user.split_once(':') {
            Some((name, token)) => (name.to_owned(), Some(token.to_owned())),
            None => (user.clone(), None),
        })
        .collect();
    let logins = closed_loop(users, 2, {
        let (http, base, password) = (http.clone(), base.clone(), args.password.clone());
        move |_, (user, token): (String, Option<String>)| {
            let (http, base, password) = (http.clone(), base.clone(), password.clone());
            async move {
                let token = match token {
                    Some(token) => token,
                    None => log_in(&http, &base, &user, &password).await?,
                };
                Ok((user, token))
            }
        }
    })
    .await;
    let mut users = logins.outcomes.into_iter();
    let readers = users
        .by_ref()
        .take(args.readers.len())
        .collect::<Result<Vec<(String, String)>>>()?;
    let writers = users
        .map(|user| user.map(|(_, token)| token))
        .collect::<Result<Vec<String>>>()?;
    let submits = order.iter().filter(|op| **op == Op::Submit).count();
    let prefill = if share(Op::Cancel) > 0.0 {
        (args.rate * share(Op::Cancel) * 2.0).ceil() as usize + 2
    } else {
        0
    };
    let mut csrs = make_csrs(submits + prefill, run_id()).await?;
    let mut pending = VecDeque::new();
    for (i, csr) in csrs.drain(..prefill).enumerate() {
        let writer = i % writers.len();
        pending.push_back((writer, submit(&http, &base, &writers[writer], &csr).await?));
    }
    let setup_seconds = setup_started.elapsed().as_secs_f64();

    let mix = Arc::new(Mix {
        http,
        base,
        password: args.password.clone(),
        readers,
        writers,
        csrs: Mutex::new(csrs),
        pending: Mutex::new(pending),
        turn: AtomicUsize::new(0),
        stats: Mutex::new(BTreeMap::new()),
        skipped_cancels: AtomicUsize::new(0),
        first_socket_error: Mutex::new(None),
    });

    // Memory: sampled every second from just before the window until every request is answered.
    let rss_samples = Arc::new(Mutex::new(Vec::<(u64, u64)>::new()));
    let sampling = Arc::new(tokio::sync::Notify::new());
    let sampler = args.rss_pid.map(|pid| {
        let samples = Arc::clone(&rss_samples);
        let stop = Arc::clone(&sampling);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        if let Some(sample) = memory_of(pid) {
                            lock(&samples).push(sample);
                        }
                    }
                    () = stop.notified() => break,
                }
            }
            if let Some(sample) = memory_of(pid) {
                lock(&samples).push(sample);
            }
        })
    });

    let slots = Arc::new(Semaphore::new(args.max_in_flight.max(1)));
    let interval = 1.0 / args.rate;
    let start = Instant::now() + Duration::from_millis(20);
    let mut max_lag = Duration::ZERO;
    let mut tasks = Vec::with_capacity(total);
    for (i, op) in order.into_iter().enumerate() {
        let at = start + Duration::from_secs_f64(i as f64 * interval);
        if at > Instant::now() {
            tokio::time::sleep_until(at.into()).await;
        }
        max_lag = max_lag.max(Instant::now().saturating_duration_since(at));
        let mix = Arc::clone(&mix);
        let slots = Arc::clone(&slots);
        tasks.push(tokio::spawn(async move {
            let _slot = slots.acquire_owned().await;
            let outcome = mix.run(op).await;
            mix.record(op, outcome, at.elapsed());
        }));
    }
    let scheduled_seconds = start.elapsed().as_secs_f64();
    for task in tasks {
        task.await.map_err(|e| format!("request task: {e}"))?;
    }
    let window_seconds = start.elapsed().as_secs_f64();
    sampling.notify_one();
    if let Some(sampler) = sampler {
        sampler.await.map_err(|e| format!("sampler: {e}"))?;
    }

    let mut stats = std::mem::take(&mut *lock(&mix.stats));
    let mut ops = serde_json::Map::new();
    let mut classes: BTreeMap<&str, (Vec<u64>, u64)> = BTreeMap::new();
    let (mut completed, mut errors, mut timeouts, mut socket_errors) = (0, 0, 0, 0);
    for op in Op::ALL {
        let Some(entry) = stats.get_mut(&op) else {
            continue;
        };
        let class = classes.entry(op.class()).or_default();
        class.0.extend_from_slice(&entry.latencies_us);
        class.1 += entry.errors;
        completed += entry.latencies_us.len();
        errors += entry.errors;
        timeouts += entry.timeouts;
        socket_errors += entry.socket_errors;
        let extra = json!({
            "expected": op.expected(),
            "timeouts": entry.timeouts,
            "socket_errors": entry.socket_errors,
            "statuses": entry.statuses,
        });
        ops.insert(
            op.name().to_owned(),
            summary(&mut entry.latencies_us, entry.errors, extra),
        );
    }
    // Unexpected answers that say something is wrong rather than slow: any status but the
    // expected one, 503 (overload, the service's designed answer) and 429.
    let broken: u64 = stats
        .iter()
        .map(|(op, entry)| {
            entry
                .statuses
                .iter()
                .filter(|(status, _)| {
                    let expected = op.expected().to_string();
                    !matches!(status.as_str(), "503" | "429" | "timeout") && **status != expected
                })
                .map(|(_, n)| n)
                .sum::<u64>()
        })
        .sum();
    let login_503 = stats
        .get(&Op::Login)
        .and_then(|e| e.statuses.get("503"))
        .copied()
        .unwrap_or(0);

    let samples = lock(&rss_samples).clone();
    let rss_start = samples.first().map(|s| s.0);
    let rss_end = samples.last().map(|s| s.0);
    let rss_peak = samples.iter().map(|s| s.0).max();
    let growth = |to: Option<u64>| match (rss_start, to) {
        (Some(from), Some(to)) if from > 0 => {
            Some(round3((to as f64 - from as f64) / from as f64 * 100.0))
        }
        _ => None,
    };

    let mut report = json!({
        "rate": args.rate,
        "seconds": args.seconds,
        "mix": args.mix,
        "scheduled": total,
        "completed": completed,
        "achieved_rps": round3(completed as f64 / window_seconds),
        "schedule_seconds": round3(scheduled_seconds),
        "window_seconds": round3(window_seconds),
        "max_scheduler_lag_ms": round3(max_lag.as_secs_f64() * 1000.0),
        "errors": errors,
        "timeouts": timeouts,
        "socket_errors": socket_errors,
        // A socket error is a status of its own ("socket"), so `broken` counts it already.
        "broken": broken,
        "first_socket_error": *lock(&mix.first_socket_error),
        "login_503": login_503,
        "skipped_cancels": mix.skipped_cancels.load(Ordering::Relaxed),
        "setup_seconds": round3(setup_seconds),
        "rss_start_kib": rss_start,
        "rss_peak_kib": rss_peak,
        "rss_end_kib": rss_end,
        "rss_growth_end_pct": growth(rss_end),
        "rss_growth_peak_pct": growth(rss_peak),
        "rss_samples": samples.len(),
        "threads_start": samples.first().map(|s| s.1),
        "threads_peak": samples.iter().map(|s| s.1).max(),
        "threads_end": samples.last().map(|s| s.1),
        "ops": ops,
    });
    if let Some(object) = report.as_object_mut() {
        for (class, (mut latencies, class_errors)) in classes {
            let class_summary = summary(&mut latencies, class_errors, json!({}));
            for field in ["count", "errors", "p50_ms", "p99_ms", "max_ms"] {
                object.insert(format!("{class}_{field}"), class_summary[field].clone());
            }
        }
    }
    Ok(report.to_string())
}

// --- certificate issuance: prepare, confirm, cfssl ---------------------------------------------

async fn prepare(args: PrepareArgs) -> Result<String> {
    let base = args.base.trim_end_matches('/').to_owned();
    let http = client(Duration::from_secs(30))?;
    let csrs = make_csrs(args.count, run_id()).await?;
    let started = Instant::now();
    let results = closed_loop(csrs.clone(), args.concurrency, {
        let http = http.clone();
        let token = Arc::new(args.token.clone());
        move |_, csr: String| {
            let (http, base, token) = (http.clone(), base.clone(), Arc::clone(&token));
            async move { submit(&http, &base, &token, &csr).await }
        }
    })
    .await;
    let seconds = started.elapsed().as_secs_f64();
    let mut lines = String::new();
    for (csr, result) in csrs.iter().zip(&results.outcomes) {
        let id = result.as_ref().map_err(Clone::clone)?;
        let _ = writeln!(lines, "{}", json!({"id": id, "csr": csr}));
    }
    std::fs::write(&args.out, lines).map_err(|e| format!("{}: {e}", args.out.display()))?;
    Ok(json!({
        "count": args.count,
        "concurrency": args.concurrency,
        "seconds": round3(seconds),
        "submitted_per_second": round3(args.count as f64 / seconds),
    })
    .to_string())
}

fn read_prepared(path: &PathBuf) -> Result<Vec<(i64, String)>> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    text.lines()
        .map(|line| {
            let value: Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
            match (value["id"].as_i64(), value["csr"].as_str()) {
                (Some(id), Some(csr)) => Ok((id, csr.to_owned())),
                _ => Err(format!("{}: a line without id and csr", path.display())),
            }
        })
        .collect()
}

async fn confirm(args: ConfirmArgs) -> Result<String> {
    let base = args.base.trim_end_matches('/').to_owned();
    let http = client(Duration::from_secs(30))?;
    let prepared = read_prepared(&args.input)?;
    let token = Arc::new(args.token.clone());
    let results = closed_loop(prepared, args.concurrency, move |_, (id, _csr)| {
        let (http, base, token) = (http.clone(), base.clone(), Arc::clone(&token));
        async move {
            let response = http
                .post(format!("{base}/api/v3/incoming-requests/{id}/confirm"))
                .bearer_auth(token.as_str())
                .send()
                .await
                .map_err(|e| format!("confirm {id}: {e}"))?;
            let status = response.status();
            let body: Value = response
                .json()
                .await
                .map_err(|e| format!("confirm {id}: {e}"))?;
            if status.as_u16() == 200
                && body["status"] == "approved"
                && body["certificate_id"].is_i64()
            {
                Ok(())
            } else {
                Err(format!("confirm {id}: {status} {body}"))
            }
        }
    })
    .await;
    Ok(results.report(args.concurrency).to_string())
}

async fn cfssl_sign(args: CfsslArgs) -> Result<String> {
    let url = format!("{}/api/v1/cfssl/sign", args.url.trim_end_matches('/'));
    let http = client(Duration::from_secs(30))?;
    let prepared = read_prepared(&args.input)?;
    let results = closed_loop(prepared, args.concurrency, move |_, (id, csr)| {
        let (http, url) = (http.clone(), url.clone());
        async move {
            let response = http
                .post(&url)
                .json(&json!({"certificate_request": csr}))
                .send()
                .await
                .map_err(|e| format!("cfssl sign {id}: {e}"))?;
            let status = response.status();
            let body: Value = response
                .json()
                .await
                .map_err(|e| format!("cfssl sign {id}: {e}"))?;
            let signed = body["result"]["certificate"]
                .as_str()
                .is_some_and(|pem| pem.contains("BEGIN CERTIFICATE"));
            if status.as_u16() == 200 && body["success"] == true && signed {
                Ok(())
            } else {
                Err(format!("cfssl sign {id}: {status} {body}"))
            }
        }
    })
    .await;
    Ok(results.report(args.concurrency).to_string())
}

struct LoopResults<T> {
    outcomes: Vec<Result<T>>,
    latencies_us: Vec<u64>,
    seconds: f64,
}

impl<T> LoopResults<T> {
    fn report(mut self, concurrency: usize) -> Value {
        let errors = self.outcomes.iter().filter(|o| o.is_err()).count();
        let done = self.outcomes.len() - errors;
        let first_error = self.outcomes.iter().find_map(|o| o.as_ref().err().cloned());
        self.latencies_us.sort_unstable();
        json!({
            "count": self.outcomes.len(),
            "concurrency": concurrency,
            "issued": done,
            "errors": errors,
            "first_error": first_error,
            "seconds": round3(self.seconds),
            "issued_per_second": round3(done as f64 / self.seconds),
            "p50_ms": percentile(&self.latencies_us, 0.50).map(round3),
            "p99_ms": percentile(&self.latencies_us, 0.99).map(round3),
            "max_ms": percentile(&self.latencies_us, 1.0).map(round3),
        })
    }
}

/// Runs `work` over every item with `concurrency` workers taking the next item as they finish
/// one (closed loop). Outcomes are in the items' order.
async fn closed_loop<I, T, F, Fut>(items: Vec<I>, concurrency: usize, work: F) -> LoopResults<T>
where
    I: Send + 'static,
    T: Send + 'static,
    F: Fn(usize, I) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<T>> + Send,
{
    let count = items.len();
    let queue = Arc::new(Mutex::new(items.into_iter().enumerate()));
    let work = Arc::new(work);
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (queue, work) = (Arc::clone(&queue), Arc::clone(&work));
        workers.push(tokio::spawn(async move {
            let mut done = Vec::new();
            loop {
                let next = lock(&queue).next();
                let Some((index, item)) = next else { break };
                let begun = Instant::now();
                let outcome = work(index, item).await;
                let latency = u64::try_from(begun.elapsed().as_micros()).unwrap_or(u64::MAX);
                done.push((index, outcome, latency));
            }
            done
        }));
    }
    let mut slots: Vec<Option<Result<T>>> = (0..count).map(|_| None).collect();
    let mut latencies_us = Vec::with_capacity(count);
    for worker in workers {
        // A worker that panicked leaves its items without an outcome: reported as errors.
        if let Ok(done) = worker.await {
            for (index, outcome, latency) in done {
                slots[index] = Some(outcome);
                latencies_us.push(latency);
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    LoopResults {
        outcomes: slots
            .into_iter()
            .map(|slot| slot.unwrap_or_else(|| Err("a worker failed".to_owned())))
            .collect(),
        latencies_us,
        seconds,
    }
}
