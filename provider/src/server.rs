//! Starting the server: data directory, admin token, store, first-start bootstrap
//! (tenant `default`, the demo client, tenant files), the router, the expiry sweeper.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use latchkey_core::client::NewClient;
use latchkey_core::{Clock, Store, secret};
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::config::Config;
use crate::state::{AppState, Services};
use crate::web::error::ApiError;
use crate::web::http;
use crate::{api, demo, oidc, ui};

/// The file in the data directory that holds the admin token.
pub const ADMIN_TOKEN_FILE: &str = "admin-token";

/// A running server.
pub struct Running {
    pub addr: SocketAddr,
    pub state: AppState,
    pub admin_token: String,
    pub admin_token_path: std::path::PathBuf,
    shutdown: Option<oneshot::Sender<()>>,
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Stops accepting connections and ends the server task.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = self.task.await;
    }

    /// Waits until every message handed to background delivery so far was attempted
    /// (sent or failed), at most `within`; false if some were still pending. A
    /// shutdown calls it so codes people were told are on their way still go out;
    /// tests call it before asserting that nothing was sent.
    pub async fn deliveries_settled(&self, within: Duration) -> bool {
        self.state.codes.deliveries().settled(within).await
    }
}

/// Reads the admin token, creating it (mode 0600) on first start.
fn admin_token(dir: &Path) -> anyhow::Result<(String, std::path::PathBuf)> {
    let path = dir.join(ADMIN_TOKEN_FILE);
    if let Ok(t) = std::fs::read_to_string(&path) {
        return Ok((t.trim().to_string(), path));
    }
    // A prefix keeps the token from starting with "-", which a CLI would read as a flag.
    let token = format!("lk_{}", secret::token());
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(&path).with_context(|| format!("creating {}", path.display()))?;
    std::io::Write::write_all(&mut f, token.as_bytes())?;
    f.sync_all()?;
    Ok((token, path))
}

/// A tenant declared in `tenants_dir`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TenantFile {
    id: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    clients: Vec<NewClient>,
    /// Tenant settings (codes, password policy, registration rules); replaced at start.
    #[serde(default)]
    settings: Option<latchkey_core::settings::TenantSettings>,
    /// Upstream identity providers (R17); secrets may come from the file.
    #[serde(default)]
    upstreams: Vec<latchkey_core::federation::upstream::UpstreamConfig>,
}

async fn apply_tenant_files(svc: &Services, dir: &Path) -> anyhow::Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(()) };
    let mut paths: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    for path in paths {
        let text = std::fs::read_to_string(&path)?;
        let file: TenantFile = toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        svc.tenants
            .ensure(&svc.keys, &file.id, &file.display_name)
            .await
            .with_context(|| format!("tenant in {}", path.display()))?;
        if let Some(settings) = file.settings {
            svc.tenants.set_settings(&file.id, settings).await?;
        }
        for u in file.upstreams {
            let id = u.id.clone();
            svc.upstreams
                .put(&file.id, u, svc.now())
                .await
                .with_context(|| format!("{}: upstream {id}", path.display()))?;
        }
        for c in file.clients {
            if !c.public && c.secret.is_none() {
                anyhow::bail!("{}: client {} needs a secret (or public = true)", path.display(), c.id);
            }
            let id = c.id.clone();
            svc.clients
                .upsert(svc.clock.as_ref(), &file.id, c)
                .await
                .with_context(|| format!("{}: client {id}", path.display()))?;
        }
    }
    Ok(())
}

async fn sweep(svc: &Services) -> latchkey_core::Result<usize> {
    svc.sweep_expired().await
}

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/demo") }))
        .merge(oidc::router())
        .merge(
            ui::router().layer(axum::middleware::from_fn_with_state(state.clone(), crate::web::error::page::as_page)),
        )
        .merge(demo::router())
        .merge(api::admin::router(state.clone()))
        .merge(api::account::router())
        .merge(api::developer::router())
        .merge(api::devices::router())
        .merge(api::review::router(state.clone()))
        .merge(api::public::router())
        .merge(crate::assets::router())
        .fallback(|| async {
            ApiError::new(axum::http::StatusCode::NOT_FOUND, "not_found", "no such endpoint").into_response()
        })
        .layer(DefaultBodyLimit::max(http::BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::web::csrf::scope))
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::headers::secure))
        .with_state(state)
}

/// Opens the store, bootstraps, binds and serves in the background.
pub async fn start(mut config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Running> {
    crate::data_dir::create(&config.data_dir)?;
    let store = Store::open(&config.data_dir.join("store")).context("opening the store")?;
    let (token, token_path) = admin_token(&config.data_dir)?;
    let listener =
        TcpListener::bind(&config.listen).await.with_context(|| format!("listening on {}", config.listen))?;
    let addr = listener.local_addr()?;
    if config.public_url.is_empty() {
        // A loopback server is reached as localhost: browsers and WebAuthn accept no IP
        // address as a passkey's relying party.
        config.public_url = if addr.ip().is_loopback() {
            format!("http://localhost:{}", addr.port())
        } else {
            format!("http://{addr}")
        };
    }
    let svc = Services::new(&config, store, clock, secret::digest(&token))?;
    svc.tenants.ensure(&svc.keys, demo::TENANT, "Latchkey").await?;
    demo::install(&svc).await?;
    crate::plugins::install_bundled(&svc.policy, demo::TENANT).await?;
    apply_tenant_files(&svc, &config.tenants_dir).await?;
    for tenant in svc.tenants.list().await? {
        // Data written before signing keys were sealed: seal them now.
        svc.keys.seal_plain(&tenant.id).await?;
    }
    svc.flush().await?;
    // Everything the start created (store files, seal.key, admin-token) is private.
    crate::data_dir::tighten(&config.data_dir)?;
    let state = AppState(Arc::new(svc));

    let sweeper = Arc::downgrade(&state.0);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            let Some(svc) = sweeper.upgrade() else { return };
            if let Err(e) = sweep(&svc).await {
                tracing::warn!(error = %e, "expiry sweep failed");
            }
        }
    });

    let (tx, rx) = oneshot::channel();
    let router = app(state.clone());
    let task = tokio::spawn(async move {
        axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
    });
    Ok(Running { addr, state, admin_token: token, admin_token_path: token_path, shutdown: Some(tx), task })
}

#[cfg(test)]
mod tests {
    use super::TenantFile;

    #[test]
    fn r17_the_sample_tenant_file_parses_with_its_upstreams() {
        let file: TenantFile = toml::from_str(include_str!("../../config/tenants/example.toml.sample")).unwrap();
        assert_eq!(file.upstreams.len(), 3);
        for u in &file.upstreams {
            u.validate().unwrap();
        }
        assert!(file.upstreams[2].client_secret_jwt.as_ref().unwrap().private_key.contains("BEGIN PRIVATE KEY"));
    }
}
