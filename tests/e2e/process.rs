//! The real binary: the CLI against a running server, and durability across `kill -9`.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_latchkey");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Proc {
    child: Child,
    url: String,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `latchkey serve` on a free port with cheap (test-only) argon2 settings.
fn serve(data: &std::path::Path) -> Proc {
    let port = free_port();
    let empty = data.parent().unwrap().join("no-tenant-files");
    std::fs::create_dir_all(&empty).unwrap();
    let child = Command::new(BIN)
        .args(["serve", "--data", data.to_str().unwrap(), "--listen", &format!("127.0.0.1:{port}")])
        .env("LATCHKEY_PASSWORD_HASH_MEMORY_KIB", "1024")
        .env("LATCHKEY_PASSWORD_HASH_ITERATIONS", "1")
        .env("LATCHKEY_TENANTS_DIR", empty.to_str().unwrap())
        .env("LATCHKEY_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Proc { child, url }
}

fn cli(p: &Proc, data: &std::path::Path, args: &[&str], stdin: Option<&str>) -> std::process::Output {
    let mut child = Command::new(BIN)
        .args(["--url", &p.url, "--data", data.to_str().unwrap()])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn r15_cli_manages_tenants_clients_users_and_errors_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let p = serve(&data);
    let out = cli(&p, &data, &["tenant", "add", "acme", "--name", "Acme"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = cli(
        &p,
        &data,
        &[
            "client",
            "add",
            "--tenant",
            "acme",
            "--id",
            "console",
            "--redirect-uri",
            "http://127.0.0.1:9/cb",
            "--first-party",
        ],
        None,
    );
    assert!(out.status.success());
    let client: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(client["client_secret"].as_str().unwrap().len() >= 40, "generated secret printed once");
    let out = cli(
        &p,
        &data,
        &["user", "add", "--tenant", "acme", "--email", "cli@example.com", "--password-stdin"],
        Some("a long password\n"),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let id = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert_eq!(id.len(), 16);
    let out = cli(&p, &data, &["user", "list", "--tenant", "acme"], None);
    assert!(String::from_utf8_lossy(&out.stdout).contains("cli@example.com"));
    // Errors: one clear line, non-zero exit.
    let out = cli(
        &p,
        &data,
        &["user", "add", "--tenant", "acme", "--email", "cli@example.com", "--password-stdin"],
        Some("a long password\n"),
    );
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("identifier_taken"), "{err}");
    let out = Command::new(BIN).args(["--url", &p.url, "--token", "wrong", "tenant", "list"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("401"));
}

#[test]
fn durability_an_acknowledged_user_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut p = serve(&data);
    let token_meta = std::fs::metadata(data.join("admin-token")).unwrap();
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&token_meta.permissions()) & 0o777, 0o600);
    let out =
        cli(&p, &data, &["user", "add", "--email", "durable@example.com", "--password-stdin"], Some("a long password"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    p.child.kill().unwrap(); // SIGKILL: no shutdown hook runs
    p.child.wait().unwrap();
    drop(p);
    let p = serve(&data);
    let out = cli(&p, &data, &["user", "list"], None);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("durable@example.com"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn w5_plugin_check_and_run_try_a_plugin_without_a_server_and_install_manages_it() {
    let plugin = format!("{}/registration_rules.wasm", env!("LATCHKEY_PLUGIN_DIR"));
    let out = Command::new(BIN).args(["plugin", "check", &plugin]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["name"], "registration-rules");
    assert_eq!(v["world"], "latchkey:policy@0.1.0");
    assert_eq!(v["hooks"], serde_json::json!(["registration", "password"]));
    let out = Command::new(BIN)
        .args([
            "plugin",
            "run",
            &plugin,
            "--hook",
            "registration",
            "--input",
            r#"{"method": "mobile", "mobile": "+14155550100"}"#,
            "--config",
            r#"{"allowed_mobile_prefixes": ["+86"]}"#,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((v["decision"].as_str(), v["reason"].as_str()), (Some("deny"), Some("mobile_range_not_allowed")));
    let out = Command::new(BIN).args(["plugin", "run", &plugin, "--hook", "device-binding"]).output().unwrap();
    assert!(!out.status.success(), "a hook the plugin does not implement");
    let out = Command::new(BIN).args(["plugin", "check", "/etc/hostname"]).output().unwrap();
    assert!(!out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stderr).trim().lines().count(), 1, "one clear line");
    // Install, list and remove through a running server.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let p = serve(&data);
    let device_cap = format!("{}/device_cap.wasm", env!("LATCHKEY_PLUGIN_DIR"));
    cli(&p, &data, &["tenant", "add", "acme"], None);
    let out =
        cli(&p, &data, &["plugin", "install", "--tenant", "acme", &device_cap, "--config", r#"{"untyped": 5}"#], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = cli(&p, &data, &["plugin", "list", "--tenant", "acme"], None);
    assert!(String::from_utf8_lossy(&out.stdout).contains("device-cap"));
    let out = cli(&p, &data, &["plugin", "remove", "--tenant", "acme", "device-cap"], None);
    assert!(out.status.success());
    let out = cli(&p, &data, &["plugin", "list", "--tenant", "acme"], None);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("device-cap"));
}
