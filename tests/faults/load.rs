//! Open-loop authenticated load: a fixed rate of a mix of calls (a read, a submission, a log-in,
//! the PVWA list), each answer recorded with when it was sent and how long it took. Open-loop,
//! so a slow answer never slows the rate down: a stall shows as latency, not as missing calls.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::task::JoinHandle;

use crate::helpers::PASSWORD;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    Read,
    Submit,
    LogIn,
    PvwaList,
}

const MIX: [Call; 4] = [Call::Read, Call::Submit, Call::LogIn, Call::PvwaList];

/// One answer, or a transport failure (`status` 0).
#[derive(Debug, Clone)]
pub struct Outcome {
    pub call: Call,
    pub sent: Instant,
    pub latency: Duration,
    pub status: u16,
    pub content_type: String,
    /// The problem's `code`, or PVWA's `ErrorCode`.
    pub code: String,
    pub retry_after: bool,
}

impl Outcome {
    pub fn succeeded(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// A 503 in the error format of its API, saying the service is unavailable, with
    /// `Retry-After`.
    pub fn is_unavailable(&self) -> bool {
        let (content_type, code) = match self.call {
            Call::PvwaList => ("application/json", "RQDWS020E"),
            _ => ("application/problem+json", "service_unavailable"),
        };
        self.status == 503
            && self.content_type == content_type
            && self.code == code
            && self.retry_after
    }
}

/// A running load; [`Load::stop`] ends it and hands back every outcome.
pub struct Load {
    outcomes: Arc<Mutex<Vec<Outcome>>>,
    generator: JoinHandle<()>,
}

/// Who the load acts as.
#[derive(Clone)]
pub struct Caller {
    pub address: String,
    pub username: String,
    pub token: String,
}

impl Load {
    pub fn start(caller: Caller, per_second: u32) -> Self {
        let outcomes = Arc::new(Mutex::new(Vec::new()));
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            // actix closes idle keep-alive connections after 5 s: never reuse one that old.
            .pool_idle_timeout(Duration::from_secs(2))
            .build()
            .expect("a client");
        let sink = Arc::clone(&outcomes);
        let generator = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(Duration::from_secs(1) / per_second);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            for call in MIX.iter().cycle() {
                ticks.tick().await;
                let (client, caller, sink) = (client.clone(), caller.clone(), Arc::clone(&sink));
                let call = *call;
                tokio::spawn(async move {
                    let outcome = send(&client, &caller, call).await;
                    sink.lock().expect("outcomes").push(outcome);
                });
            }
        });
        Self {
            outcomes,
            generator,
        }
    }

    /// The outcomes of the calls sent in `[from, to)`, once every one of them is answered.
    pub async fn sent_between(&self, from: Instant, to: Instant) -> Vec<Outcome> {
        // Every call has a 15 s client timeout, so by then each one sent before `to` is in.
        let settled = to + Duration::from_secs(16);
        while Instant::now() < settled {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        self.outcomes
            .lock()
            .expect("outcomes")
            .iter()
            .filter(|o| o.sent >= from && o.sent < to)
            .cloned()
            .collect()
    }

    pub fn stop(self) {
        self.generator.abort();
    }
}

async fn send(client: &reqwest::Client, caller: &Caller, call: Call) -> Outcome {
    let url = |path: &str| format!("{}{path}", caller.address);
    let request = match call {
        Call::Read => client
            .get(url("/api/v3/myrequests"))
            .bearer_auth(&caller.token),
        Call::Submit => client
            .post(url("/api/v3/myrequests"))
            .bearer_auth(&caller.token)
            .json(&certificate_request()),
        Call::LogIn => client
            .post(url("/api/v3/users/sessions"))
            .json(&json!({"username": caller.username, "password": PASSWORD})),
        Call::PvwaList => client
            .get(url("/PasswordVault/API/MyRequests"))
            .header("Authorization", &caller.token),
    };
    let sent = Instant::now();
    let Ok(response) = request.send().await else {
        return failed(call, sent);
    };
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let content_type = header("content-type").unwrap_or_default();
    let retry_after = header("retry-after").is_some();
    let Ok(body) = response.bytes().await else {
        return failed(call, sent);
    };
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let code = body
        .get("code")
        .or_else(|| body.get("ErrorCode"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    Outcome {
        call,
        sent,
        latency: sent.elapsed(),
        status,
        content_type,
        code,
        retry_after,
    }
}

fn failed(call: Call, sent: Instant) -> Outcome {
    Outcome {
        call,
        sent,
        latency: sent.elapsed(),
        status: 0,
        content_type: String::new(),
        code: "transport error".to_owned(),
        retry_after: false,
    }
}

/// A certificate request for a fresh key, so no two submissions collide.
pub fn certificate_request() -> Value {
    json!({
        "type": "certificate",
        "csr": fresh_csr("load.example.com"),
        "reason": "TLS for the load test",
        "validity_days": 30,
    })
}

pub fn fresh_csr(name: &str) -> String {
    let key = rcgen::KeyPair::generate().expect("a key");
    rcgen::CertificateParams::new(vec![name.to_owned()])
        .and_then(|params| params.serialize_request(&key))
        .and_then(|csr| csr.pem())
        .expect("a CSR")
}
