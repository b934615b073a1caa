//! Load tool: throughput and latency of the two hot paths of a real, in-process server,
//! each printed next to its cost floor measured in the same process at start-up.
//!
//! - client-credentials tokens/s (`POST /t/default/token`, Basic auth; ES256 access
//!   tokens). Floor: ES256 JWT signatures per second on one core, times the cores.
//! - full password sign-ins/s: authorize, sign-in page, sign-in form, resume, code
//!   exchange (RS256 ID token), each with a fresh cookie jar. Floor: argon2id
//!   verifications per second on one core with the configured parameters, times
//!   min(cores, concurrency); argon2 is memory bound, so 2 threads give only ~1.5x.
//!
//! The server listens on 127.0.0.1 with a port of the OS's choosing, in a temporary
//! data directory; all traffic goes there. Each scenario runs for `--duration` seconds,
//! then the tool stops. Any non-2xx or unexpected response counts as an error, is
//! printed, and makes the exit status non-zero.
//!
//! Run: `cargo run --release -p latchkey --example load -- --duration 10` (or
//! `scripts/load.sh`).

use std::collections::BTreeMap;
use std::future::Future;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use latchkey::config::Config;
use latchkey_core::credential::password::{HashParams, Passwords};
use latchkey_core::jwt;
use latchkey_core::keys::{Alg, SigningKey};
use reqwest::StatusCode;
use reqwest::redirect::Policy;
use serde_json::{Value, json};
use url::Url;

const TENANT: &str = "default";
const SECRET: &str = "0123456789abcdef-secret";
/// The sign-ins spread over this many accounts: a sign-in reserves its account's
/// failure budget while the password is checked (R19), so one account signed in by
/// every worker at once would measure the limiter's refusals, not sign-ins.
const ACCOUNTS: usize = 64;
/// The next account a sign-in uses (round robin over `ACCOUNTS`).
static NEXT_ACCOUNT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// The email of load account `i`.
fn email(i: usize) -> String {
    format!("load{i}@example.com")
}
const PASSWORD: &str = "correct horse battery";
const REDIRECT_URI: &str = "http://127.0.0.1:9/cb";
/// Longest any one HTTP request may take before it counts as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    All,
    ClientCredentials,
    SignIn,
}

/// Load test of an in-process Latchkey server, with cost floors for comparison.
#[derive(Parser)]
struct Args {
    /// Requests in flight at once (default: 2 x cores).
    #[arg(long)]
    concurrency: Option<usize>,
    /// Seconds each scenario runs.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Use cheap argon2id parameters (1 MiB, t=1, p=1) instead of the OWASP defaults.
    #[arg(long)]
    cheap_hash: bool,
    /// Which scenarios to run.
    #[arg(long, value_enum, default_value_t = Scenario::All)]
    scenario: Scenario,
    /// Remove the bundled policy plugins from the tenant first (to compare sign-in
    /// throughput with and without them).
    #[arg(long)]
    no_plugins: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(0) => ExitCode::SUCCESS,
        Ok(errors) => {
            eprintln!("FAILED: {errors} errors");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Runs the scenarios; returns the number of errors.
async fn run(args: Args) -> anyhow::Result<u64> {
    if !(args.duration > 0.0 && args.duration <= 3600.0) {
        bail!("--duration must be between 0 and 3600 seconds");
    }
    let duration = Duration::from_secs_f64(args.duration);
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let concurrency = args.concurrency.unwrap_or(2 * cores).max(1);
    let params = if args.cheap_hash {
        HashParams { memory_kib: 1024, iterations: 1, parallelism: 1 }
    } else {
        HashParams::default()
    };

    let data = tempfile::tempdir()?;
    let tenants = tempfile::tempdir()?;
    let config = Config {
        listen: "127.0.0.1:0".into(),
        data_dir: data.path().join("data"),
        tenants_dir: tenants.path().to_path_buf(),
        password_hash: params,
        ..Config::default()
    };
    let running = latchkey::server::start(config, Arc::new(latchkey_core::SystemClock)).await?;
    let base = Url::parse(&format!("http://{}", running.addr))?;
    setup(&base, &running.admin_token).await?;

    println!(
        "Latchkey load: {cores} cores, concurrency {concurrency}, {:.1} s per scenario, server at {base}",
        duration.as_secs_f64()
    );
    println!(
        "argon2id m={} KiB t={} p={}{}",
        params.memory_kib,
        params.iterations,
        params.parallelism,
        if args.cheap_hash { " (--cheap-hash)" } else { " (OWASP defaults)" }
    );

    // Floors, measured before any load while the server is idle. Other work on the
    // machine skews both floors and results.
    if let Some(busy) = cpu_busy(Duration::from_millis(500)).await
        && busy > 0.15
    {
        println!(
            "warning: {:.0}% of the CPU was busy with other work just before the run: numbers will be low",
            busy * 100.0
        );
    }
    let ring = running.state.keys.ring(TENANT).await?;
    let es256 = ring.active(Alg::ES256)?;
    let sign_one = sign_rate(es256, 1, Duration::from_millis(700))?;
    let sign_all = sign_rate(es256, cores, Duration::from_millis(700))?;
    let argon_threads = cores.min(concurrency);
    let argon_one = verify_rate(params, 1, Duration::from_millis(800)).await?;
    let argon_all = verify_rate(params, argon_threads, Duration::from_millis(800)).await?;
    let cc_floor = sign_one * cores as f64;
    let signin_floor = argon_one * argon_threads as f64;
    println!("\nFloors (this process, at start-up):");
    println!(
        "  ES256 JWT sign:  {}/s on one core ({}) x {cores} cores = {}/s   (measured on {cores} threads: {}/s)",
        num(sign_one),
        per_op(sign_one),
        num(cc_floor),
        num(sign_all)
    );
    println!(
        "  argon2id verify: {}/s on one core ({}) x min({cores} cores, concurrency {concurrency}) = {}/s   (measured on {argon_threads} threads: {}/s)",
        num(argon_one),
        per_op(argon_one),
        num(signin_floor),
        num(argon_all)
    );
    println!(
        "  note: argon2 is memory bound: 2 threads usually give only ~1.5x one core (compare 'measured on N threads')"
    );

    let plugins = running.state.policy.list(TENANT).await?;
    if args.no_plugins {
        for p in &plugins {
            running.state.policy.remove(TENANT, &p.name).await?;
        }
        println!("\nPolicy plugins: none (--no-plugins)");
    } else {
        let names: Vec<&str> = plugins.iter().map(|p| p.name.as_str()).collect();
        println!("\nPolicy plugins active in tenant {TENANT}: {}", names.join(", "));
    }

    let mut errors = 0;
    println!("\nResults:");
    if args.scenario != Scenario::SignIn {
        let http = reqwest::Client::builder().redirect(Policy::none()).timeout(REQUEST_TIMEOUT).build()?;
        let token_url = base.join(&format!("/t/{TENANT}/token"))?;
        let outcome = drive(concurrency, duration, move || client_credentials(http.clone(), token_url.clone())).await;
        errors += outcome.report("client_credentials", "tokens/s", cc_floor, 1);
    }
    if args.scenario != Scenario::ClientCredentials {
        let base = base.clone();
        let outcome = drive(concurrency, duration, move || sign_in(base.clone())).await;
        errors += outcome.report("password sign-in", "sign-ins/s", signin_floor, 5);
    }

    running.stop().await;
    drop(data);
    drop(tenants);
    Ok(errors)
}

/// Registers the two clients and the load accounts through the admin API.
async fn setup(base: &Url, admin_token: &str) -> anyhow::Result<()> {
    let http = reqwest::Client::builder().timeout(REQUEST_TIMEOUT).build()?;
    let mut calls = vec![
        ("clients", json!({ "id": "svc", "secret": SECRET, "grant_types": ["client_credentials"] })),
        ("clients", json!({ "id": "web", "secret": SECRET, "redirect_uris": [REDIRECT_URI], "first_party": true })),
    ];
    calls.extend((0..ACCOUNTS).map(|i| ("users", json!({ "email": email(i), "password": PASSWORD }))));
    for (what, body) in calls {
        let url = base.join(&format!("/admin/tenants/{TENANT}/{what}"))?;
        let resp = http.post(url).bearer_auth(admin_token).json(&body).send().await?;
        let status = resp.status();
        if !status.is_success() {
            bail!("setup: POST {what} {body}: {status} {}", resp.text().await.unwrap_or_default());
        }
    }
    Ok(())
}

/// One client-credentials token request.
async fn client_credentials(http: reqwest::Client, token_url: Url) -> Result<(), String> {
    let resp = http
        .post(token_url)
        .basic_auth("svc", Some(SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .map_err(|e| format!("token: {e}"))?;
    let body = json_ok(resp, "token").await?;
    match body["access_token"].as_str() {
        Some(t) if t.split('.').count() == 3 => Ok(()),
        _ => Err("token: no JWT access_token in the response".into()),
    }
}

/// One full sign-in, as a new browser: authorize, sign-in page, form post, resume,
/// then the client's code exchange.
async fn sign_in(base: Url) -> Result<(), String> {
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .timeout(REQUEST_TIMEOUT)
        .build()
        .map_err(|e| format!("client: {e}"))?;
    let url = |path: &str| base.join(path).map_err(|e| format!("url {path}: {e}"));

    let authorize = format!(
        "/t/{TENANT}/authorize?response_type=code&client_id=web&redirect_uri={REDIRECT_URI}&scope=openid&state=s&nonce=n"
    );
    let resp = http.get(url(&authorize)?).send().await.map_err(|e| format!("authorize: {e}"))?;
    let login = redirect(&resp, "authorize", &format!("/t/{TENANT}/login?flow="))?;

    let resp = http.get(url(&login)?).send().await.map_err(|e| format!("login page: {e}"))?;
    let html = text_ok(resp, "login page").await?;
    let csrf = hidden(&html, "csrf").ok_or("login page: no csrf field")?;
    let flow = hidden(&html, "flow").ok_or("login page: no flow field")?;

    let account = email(NEXT_ACCOUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % ACCOUNTS);
    let form = [("csrf", csrf), ("flow", flow), ("identifier", account.as_str()), ("password", PASSWORD)];
    let resp =
        http.post(url(&format!("/t/{TENANT}/login"))?).form(&form).send().await.map_err(|e| format!("login: {e}"))?;
    let resume = redirect(&resp, "login", &format!("/t/{TENANT}/authorize/resume?flow="))?;

    let resp = http.get(url(&resume)?).send().await.map_err(|e| format!("resume: {e}"))?;
    let callback = redirect(&resp, "resume", &format!("{REDIRECT_URI}?"))?;
    let callback = Url::parse(&callback).map_err(|e| format!("resume: bad redirect: {e}"))?;
    let code = callback
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| format!("resume: no code in {callback}"))?;

    let resp = http
        .post(url(&format!("/t/{TENANT}/token"))?)
        .basic_auth("web", Some(SECRET))
        .form(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT_URI)])
        .send()
        .await
        .map_err(|e| format!("code exchange: {e}"))?;
    let body = json_ok(resp, "code exchange").await?;
    match body["id_token"].as_str() {
        Some(t) if t.split('.').count() == 3 => Ok(()),
        _ => Err("code exchange: no id_token in the response".into()),
    }
}

/// The `Location` of a 302 that starts with `prefix`.
fn redirect(resp: &reqwest::Response, step: &str, prefix: &str) -> Result<String, String> {
    if resp.status() != StatusCode::FOUND {
        return Err(format!("{step}: {} instead of 302", resp.status()));
    }
    let location = resp
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| format!("{step}: 302 without Location"))?;
    if !location.starts_with(prefix) {
        return Err(format!("{step}: redirected to an unexpected place"));
    }
    Ok(location.to_string())
}

async fn text_ok(resp: reqwest::Response, step: &str) -> Result<String, String> {
    let status = resp.status();
    if !status.is_success() {
        return Err(format!("{step}: {status}"));
    }
    resp.text().await.map_err(|e| format!("{step}: {e}"))
}

async fn json_ok(resp: reqwest::Response, step: &str) -> Result<Value, String> {
    let status = resp.status();
    if !status.is_success() {
        let body: Value = resp.json().await.unwrap_or_default();
        return Err(format!("{step}: {status} {}", body["error"].as_str().unwrap_or("")));
    }
    resp.json().await.map_err(|e| format!("{step}: {e}"))
}

/// The value of `<input ... name="NAME" value="...">` in a page.
fn hidden<'a>(html: &'a str, name: &str) -> Option<&'a str> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let len = html[start..].find('"')?;
    Some(&html[start..start + len])
}

/// What a scenario did.
struct Outcome {
    ok: u64,
    elapsed: Duration,
    /// Latencies of the successful iterations, sorted.
    latencies: Vec<Duration>,
    errors: BTreeMap<String, u64>,
}

impl Outcome {
    /// Prints one result line (and the errors); returns the number of errors.
    fn report(&self, name: &str, unit: &str, floor: f64, requests_each: u64) -> u64 {
        let rate = self.ok as f64 / self.elapsed.as_secs_f64();
        let pct = |q: f64| {
            let i = ((self.latencies.len() as f64 * q).ceil() as usize).saturating_sub(1);
            self.latencies.get(i).map_or_else(|| "-".to_string(), |d| ms(*d))
        };
        let failed: u64 = self.errors.values().sum();
        println!(
            "  {name:<20} {:>10} {unit:<11} p50 {:>9}  p99 {:>9}   floor {:>9}/s  = {:>5.1}% of floor   errors {failed}",
            num(rate),
            pct(0.50),
            pct(0.99),
            num(floor),
            100.0 * rate / floor
        );
        if requests_each > 1 {
            println!(
                "  {:<20} ({requests_each} HTTP requests each: {} req/s; {} completed in {:.1} s)",
                "",
                num(rate * requests_each as f64),
                self.ok,
                self.elapsed.as_secs_f64()
            );
        } else {
            println!("  {:<20} ({} completed in {:.1} s)", "", self.ok, self.elapsed.as_secs_f64());
        }
        for (e, n) in &self.errors {
            println!("    error x{n}: {e}");
        }
        failed
    }
}

/// Runs `op` from `concurrency` tasks until `duration` has passed.
async fn drive<F, Fut>(concurrency: usize, duration: Duration, op: F) -> Outcome
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<(), String>> + Send,
{
    let start = Instant::now();
    let deadline = start + duration;
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let op = op.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors: BTreeMap<String, u64> = BTreeMap::new();
                while Instant::now() < deadline {
                    let t = Instant::now();
                    match op().await {
                        Ok(()) => latencies.push(t.elapsed()),
                        Err(e) => *errors.entry(e).or_default() += 1,
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut outcome = Outcome { ok: 0, elapsed: Duration::ZERO, latencies: Vec::new(), errors: BTreeMap::new() };
    for w in workers {
        match w.await {
            Ok((lat, errs)) => {
                outcome.latencies.extend(lat);
                for (e, n) in errs {
                    *outcome.errors.entry(e).or_default() += n;
                }
            }
            Err(e) => *outcome.errors.entry(format!("worker failed: {e}")).or_default() += 1,
        }
    }
    outcome.elapsed = start.elapsed();
    outcome.ok = outcome.latencies.len() as u64;
    outcome.latencies.sort_unstable();
    outcome
}

/// ES256 JWT signatures per second with `threads` threads signing at once.
fn sign_rate(key: &SigningKey, threads: usize, time: Duration) -> anyhow::Result<f64> {
    let claims = json!({
        "iss": "http://127.0.0.1/t/default", "sub": "svc", "aud": "svc", "client_id": "svc",
        "exp": 1_900_000_600u64, "iat": 1_900_000_000u64, "jti": "0123456789abcdef0123456789abcdef", "scope": "",
    });
    jwt::sign(key, "at+jwt", &claims)?;
    let counts = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| -> anyhow::Result<(u64, Duration)> {
                    let start = Instant::now();
                    let mut n = 0u64;
                    while start.elapsed() < time {
                        for _ in 0..100 {
                            std::hint::black_box(jwt::sign(key, "at+jwt", &claims)?);
                        }
                        n += 100;
                    }
                    Ok((n, start.elapsed()))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().map_err(|_| anyhow::anyhow!("signing thread panicked"))?)
            .collect::<anyhow::Result<Vec<_>>>()
    })?;
    Ok(counts.iter().map(|(n, d)| *n as f64 / d.as_secs_f64()).sum())
}

/// argon2id verifications per second with `threads` verifying at once.
async fn verify_rate(params: HashParams, threads: usize, time: Duration) -> anyhow::Result<f64> {
    let passwords = Passwords::new(params, threads)?;
    let phc = Arc::new(passwords.hash(PASSWORD).await?);
    passwords.verify(Some(&phc), PASSWORD).await?;
    let tasks: Vec<_> = (0..threads)
        .map(|_| {
            let (passwords, phc) = (passwords.clone(), phc.clone());
            tokio::spawn(async move {
                let start = Instant::now();
                let mut n = 0u64;
                while start.elapsed() < time {
                    if !passwords.verify(Some(&phc), PASSWORD).await? {
                        bail!("argon2 verify refused the right password");
                    }
                    n += 1;
                }
                Ok(n as f64 / start.elapsed().as_secs_f64())
            })
        })
        .collect();
    let mut total = 0.0;
    for t in tasks {
        total += t.await.context("argon2 task")??;
    }
    Ok(total)
}

/// The share of CPU time spent not idle over `window`, from `/proc/stat` (Linux).
async fn cpu_busy(window: Duration) -> Option<f64> {
    fn sample() -> Option<(u64, u64)> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let fields: Vec<u64> = stat.lines().next()?.split_whitespace().skip(1).filter_map(|f| f.parse().ok()).collect();
        // user nice system idle iowait irq softirq steal ...
        let idle = fields.get(3)? + fields.get(4).unwrap_or(&0);
        Some((fields.iter().take(8).sum(), idle))
    }
    let (total0, idle0) = sample()?;
    tokio::time::sleep(window).await;
    let (total1, idle1) = sample()?;
    let total = total1.checked_sub(total0).filter(|t| *t > 0)?;
    Some(1.0 - idle1.saturating_sub(idle0) as f64 / total as f64)
}

/// A rate with thousands separators, or one decimal below 1000.
fn num(x: f64) -> String {
    if x < 1000.0 {
        return format!("{x:.1}");
    }
    let digits = format!("{:.0}", x);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Time per operation at `rate` per second.
fn per_op(rate: f64) -> String {
    let us = 1e6 / rate;
    if us >= 1000.0 { format!("{:.2} ms each", us / 1000.0) } else { format!("{us:.1} us each") }
}
