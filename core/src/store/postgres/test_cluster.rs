//! A real PostgreSQL for the engine's tests: `LATCHKEY_TEST_PG_URL` when it is set
//! (CI or a developer's own server), else one throwaway cluster per test process
//! started by `scripts/postgres.sh` and stopped when the process exits. Each test
//! gets its own database, so tests run in parallel without seeing each other's rows.

use std::process::Command;
use std::sync::OnceLock;

/// The server's URL (to its `postgres` database) for this test process.
fn server() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        if let Ok(url) = std::env::var("LATCHKEY_TEST_PG_URL") {
            return url;
        }
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/postgres.sh");
        // A loaded machine can make a start fail (a slow start, a port taken between
        // the probe and the bind): try a few times, and say why if none works.
        let mut failures = Vec::new();
        let printed = loop {
            let out = Command::new("bash").arg(script).arg("start").output().expect("run scripts/postgres.sh");
            if out.status.success() {
                break String::from_utf8(out.stdout).expect("utf-8");
            }
            failures.push(String::from_utf8_lossy(&out.stderr).into_owned());
            assert!(failures.len() < 3, "scripts/postgres.sh start failed 3 times: {failures:#?}");
        };
        let value = |name: &str| {
            printed
                .lines()
                .find_map(|l| l.strip_prefix(&format!("export {name}=")))
                .unwrap_or_else(|| panic!("{name} in {printed}"))
                .to_string()
        };
        let dir = value("LATCHKEY_TEST_PG_DIR");
        // A watcher stops the cluster within a second of this process ending, however
        // it ends (the test harness exits without running destructors).
        let watch = format!("while kill -0 {} 2>/dev/null; do sleep 1; done; bash {script} stop", std::process::id());
        let detached = format!("({watch}) >/dev/null 2>&1 </dev/null &");
        let started = Command::new("bash").arg("-c").arg(detached).env("LATCHKEY_TEST_PG_DIR", &dir).status();
        assert!(started.is_ok_and(|s| s.success()), "start the cluster's watcher");
        value("LATCHKEY_TEST_PG_URL")
    })
}

/// A URL to a new, empty database on the test server.
pub(crate) async fn database() -> String {
    use sqlx::Connection;
    let base = server();
    let name = format!("t_{}", crate::secret::token().to_lowercase().replace(['-', '_'], ""));
    let name = &name[..name.len().min(40)];
    let mut conn = sqlx::PgConnection::connect(base).await.expect("connect to the test server");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await.expect("create db");
    let (root, _) = base.rsplit_once('/').expect("a database in the URL");
    format!("{root}/{name}")
}
