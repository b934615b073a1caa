//! The `latchkey` command: `serve` runs the server; the other commands talk to a
//! running server through the admin API.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use latchkey_core::SystemClock;
use serde_json::{Value, json};

use crate::config::Config;
use crate::server;

#[derive(Parser)]
#[command(name = "latchkey", version, about = "Latchkey: an OpenID Connect provider with tenant policy plugins")]
struct Cli {
    /// URL of the running server (admin commands).
    #[arg(long, global = true, env = "LATCHKEY_URL", default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Admin token (admin commands). Default: read from DATA/admin-token.
    #[arg(long, global = true, env = "LATCHKEY_ADMIN_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Data directory: where `serve` keeps the store, and where admin commands find the token.
    #[arg(long, global = true)]
    data: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Tenants (each is its own issuer).
    #[command(subcommand)]
    Tenant(TenantCmd),
    /// OAuth clients of a tenant.
    #[command(subcommand)]
    Client(ClientCmd),
    /// Accounts of a tenant.
    #[command(subcommand)]
    User(UserCmd),
    /// Signing keys of a tenant.
    #[command(subcommand)]
    Keys(KeysCmd),
    /// Developer submissions waiting for review (R12).
    #[command(subcommand)]
    Review(ReviewCmd),
    /// Tenant policy plugins (WebAssembly components).
    #[command(subcommand)]
    Plugin(PluginCmd),
    /// A tenant's newest security events.
    Audit {
        #[arg(long, default_value = "default")]
        tenant: String,
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
}

#[derive(Subcommand)]
enum PluginCmd {
    /// Check that FILE is a plugin of this server's world; list its hooks (no server needed).
    Check { file: PathBuf },
    /// Run one hook of FILE with a JSON input on the host (no server needed).
    Run {
        file: PathBuf,
        /// registration, password, developer-submission, device-binding, sign-in, token-claims, account-deletion
        #[arg(long)]
        hook: String,
        /// The hook's input as JSON (snake_case fields; missing fields are empty).
        #[arg(long, default_value = "{}")]
        input: String,
        /// The plugin's configuration as JSON.
        #[arg(long, default_value = "{}")]
        config: String,
        #[arg(long, default_value = "default")]
        tenant: String,
    },
    /// Install FILE in a tenant (replacing a plugin of the same name).
    Install {
        #[arg(long, default_value = "default")]
        tenant: String,
        file: PathBuf,
        #[arg(long, default_value = "{}")]
        config: String,
    },
    /// List a tenant's plugins in chain order.
    List {
        #[arg(long, default_value = "default")]
        tenant: String,
    },
    /// Remove a plugin by name.
    Remove {
        #[arg(long, default_value = "default")]
        tenant: String,
        name: String,
    },
    /// Replace a plugin's configuration.
    Config {
        #[arg(long, default_value = "default")]
        tenant: String,
        name: String,
        config: String,
    },
}

#[derive(Args)]
struct ServeArgs {
    /// Configuration file (default: config/latchkey.toml if present).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Listen address, e.g. 127.0.0.1:8080.
    #[arg(long)]
    listen: Option<String>,
    /// Public URL, e.g. https://id.example.com.
    #[arg(long)]
    public_url: Option<String>,
}

#[derive(Subcommand)]
enum TenantCmd {
    /// Create a tenant.
    Add {
        id: String,
        #[arg(long, default_value = "")]
        name: String,
    },
    /// List tenants.
    List,
}

#[derive(Subcommand)]
enum ClientCmd {
    /// Register a client; prints it as JSON (a generated secret is shown once).
    Add {
        #[arg(long, default_value = "default")]
        tenant: String,
        #[arg(long)]
        id: String,
        #[arg(long, conflicts_with = "public")]
        secret: Option<String>,
        /// A public client: no secret, PKCE required.
        #[arg(long)]
        public: bool,
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uris: Vec<String>,
        /// authorization_code, refresh_token, client_credentials (repeatable).
        #[arg(long = "grant")]
        grants: Vec<String>,
        /// Skip the consent page.
        #[arg(long)]
        first_party: bool,
        /// client_secret_basic (default) or client_secret_post.
        #[arg(long)]
        auth_method: Option<String>,
        /// RS256 (default), ES256 or EdDSA.
        #[arg(long)]
        id_token_alg: Option<String>,
        #[arg(long)]
        name: Option<String>,
        /// A resource server: may introspect tokens issued to any client of the tenant.
        #[arg(long)]
        resource_server: bool,
    },
    /// List clients.
    List {
        #[arg(long, default_value = "default")]
        tenant: String,
    },
    /// Remove a client.
    Remove {
        #[arg(long, default_value = "default")]
        tenant: String,
        #[arg(long)]
        id: String,
    },
}

#[derive(Subcommand)]
enum UserCmd {
    /// Create an account; reads the password from standard input; prints the account id.
    Add {
        #[arg(long, default_value = "default")]
        tenant: String,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        phone: Option<String>,
        #[arg(long)]
        name: Option<String>,
        /// Read the password from standard input (required).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// List accounts.
    List {
        #[arg(long, default_value = "default")]
        tenant: String,
    },
}

#[derive(Subcommand)]
enum ReviewCmd {
    /// List the pending developer submissions.
    List {
        #[arg(long, default_value = "default")]
        tenant: String,
    },
    /// Approve a pending submission; its identity fields become read-only.
    Approve {
        #[arg(long, default_value = "default")]
        tenant: String,
        /// The developer's account id.
        #[arg(long)]
        account: String,
        /// Recorded as the reviewer (default: admin).
        #[arg(long)]
        reviewer: Option<String>,
    },
    /// Reject a pending submission; the developer sees the reason.
    Reject {
        #[arg(long, default_value = "default")]
        tenant: String,
        #[arg(long)]
        account: String,
        /// Why (at most 500 characters).
        #[arg(long)]
        reason: String,
        #[arg(long)]
        reviewer: Option<String>,
    },
}

#[derive(Subcommand)]
enum KeysCmd {
    /// Make new signing keys; old public keys stay published until their tokens expire.
    Rotate {
        #[arg(long, default_value = "default")]
        tenant: String,
    },
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve(args, cli.data),
        Command::Plugin(PluginCmd::Check { file }) => print(&crate::plugin_cli::check(&file)?),
        Command::Plugin(PluginCmd::Run { file, hook, input, config, tenant }) => {
            print(&crate::plugin_cli::run(&file, &hook, &input, &config, &tenant)?)
        }
        other => {
            let admin = Admin::new(&cli.url, cli.token, cli.data)?;
            admin_command(&admin, other)
        }
    }
}

fn serve(args: ServeArgs, data: Option<PathBuf>) -> anyhow::Result<()> {
    let mut config = Config::load(args.config.as_deref())?;
    if let Some(d) = data {
        config.data_dir = d;
    }
    if let Some(l) = args.listen {
        config.listen = l;
    }
    if let Some(u) = args.public_url {
        config.public_url = u;
    }
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&config.log));
    tracing_subscriber::fmt().with_env_filter(filter).init();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let mut running = server::start(config, Arc::new(SystemClock)).await?;
        let url = &running.state.public_url;
        println!("Latchkey is listening on http://{}", running.addr);
        println!("  issuer (tenant default): {url}/t/default");
        println!("  discovery:               {url}/t/default/.well-known/openid-configuration");
        println!("  demo app:                {url}/demo");
        println!("  admin token:             {}", running.admin_token_path.display());
        println!("Create the first user (in another terminal):");
        println!("  echo 'a-long-password' | cargo run --release -p latchkey -- user add --email you@example.com --password-stdin");
        tokio::select! {
            r = &mut running.task => { r??; }
            _ = tokio::signal::ctrl_c() => { println!("shutting down"); }
        }
        // Codes and notices handed to background delivery go out before the exit
        // (each sender has its own timeout; this bounds the wait as a whole).
        if !running.deliveries_settled(std::time::Duration::from_secs(15)).await {
            tracing::warn!("shutting down with deliveries still in flight");
        }
        running.state.flush().await?;
        Ok(())
    })
}

/// A client of the admin API.
struct Admin {
    base: String,
    token: String,
    http: reqwest::blocking::Client,
}

impl Admin {
    fn new(url: &str, token: Option<String>, data: Option<PathBuf>) -> anyhow::Result<Admin> {
        let token = match token {
            Some(t) => t,
            None => {
                let path = data.unwrap_or_else(|| Config::default().data_dir).join(server::ADMIN_TOKEN_FILE);
                std::fs::read_to_string(&path)
                    .with_context(|| format!("no --token given and cannot read {} (is --data right?)", path.display()))?
                    .trim()
                    .to_string()
            }
        };
        Ok(Admin { base: url.trim_end_matches('/').to_string(), token, http: reqwest::blocking::Client::new() })
    }

    fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let mut req = self.http.request(method, format!("{}/admin{path}", self.base)).bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().with_context(|| format!("cannot reach the server at {}", self.base))?;
        let status = resp.status();
        let text = resp.text()?;
        let value: Value =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        if !status.is_success() {
            let code = value["error"].as_str().unwrap_or("error");
            let desc = value["error_description"].as_str().unwrap_or("");
            bail!("{code}: {desc} (HTTP {})", status.as_u16());
        }
        Ok(value)
    }
}

fn print(v: &Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

fn admin_command(admin: &Admin, cmd: Command) -> anyhow::Result<()> {
    use reqwest::Method;
    match cmd {
        Command::Serve(_) => unreachable_serve(),
        Command::Tenant(TenantCmd::Add { id, name }) => {
            print(&admin.call(Method::POST, "/tenants", Some(json!({ "id": id, "display_name": name })))?)
        }
        Command::Tenant(TenantCmd::List) => print(&admin.call(Method::GET, "/tenants", None)?),
        Command::Client(ClientCmd::Add {
            tenant,
            id,
            secret,
            public,
            redirect_uris,
            post_logout_redirect_uris,
            grants,
            first_party,
            auth_method,
            id_token_alg,
            name,
            resource_server,
        }) => {
            let body = json!({
                "id": id, "secret": secret, "public": public, "redirect_uris": redirect_uris,
                "post_logout_redirect_uris": post_logout_redirect_uris, "grant_types": grants,
                "first_party": first_party, "auth_method": auth_method, "id_token_alg": id_token_alg, "name": name,
                "resource_server": resource_server,
            });
            print(&admin.call(Method::POST, &format!("/tenants/{tenant}/clients"), Some(body))?)
        }
        Command::Client(ClientCmd::List { tenant }) => {
            print(&admin.call(Method::GET, &format!("/tenants/{tenant}/clients"), None)?)
        }
        Command::Client(ClientCmd::Remove { tenant, id }) => {
            admin.call(Method::DELETE, &format!("/tenants/{tenant}/clients/{id}"), None)?;
            println!("removed client {id}");
            Ok(())
        }
        Command::User(UserCmd::Add { tenant, email, phone, name, password_stdin: _ }) => {
            let mut password = String::new();
            std::io::stdin().read_to_string(&mut password).context("reading the password from standard input")?;
            let password = password.trim_end_matches(['\n', '\r']).to_string();
            let body = json!({ "email": email, "phone": phone, "name": name, "password": password });
            let created = admin.call(Method::POST, &format!("/tenants/{tenant}/users"), Some(body))?;
            println!("{}", created["id"].as_str().unwrap_or_default());
            Ok(())
        }
        Command::User(UserCmd::List { tenant }) => {
            print(&admin.call(Method::GET, &format!("/tenants/{tenant}/users"), None)?)
        }
        Command::Review(ReviewCmd::List { tenant }) => {
            print(&admin.call(Method::GET, &format!("/tenants/{tenant}/reviews"), None)?)
        }
        Command::Review(ReviewCmd::Approve { tenant, account, reviewer }) => {
            let body = json!({ "reviewer": reviewer });
            print(&admin.call(Method::POST, &format!("/tenants/{tenant}/reviews/{account}/approve"), Some(body))?)
        }
        Command::Review(ReviewCmd::Reject { tenant, account, reason, reviewer }) => {
            let body = json!({ "reason": reason, "reviewer": reviewer });
            print(&admin.call(Method::POST, &format!("/tenants/{tenant}/reviews/{account}/reject"), Some(body))?)
        }
        Command::Keys(KeysCmd::Rotate { tenant }) => {
            print(&admin.call(Method::POST, &format!("/tenants/{tenant}/keys/rotate"), None)?)
        }
        Command::Plugin(PluginCmd::Install { tenant, file, config }) => {
            use base64::Engine;
            let wasm = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let config: Value = serde_json::from_str(&config).context("--config is not JSON")?;
            let body = json!({ "wasm": base64::engine::general_purpose::STANDARD.encode(wasm), "config": config });
            print(&admin.call(Method::POST, &format!("/tenants/{tenant}/plugins"), Some(body))?)
        }
        Command::Plugin(PluginCmd::List { tenant }) => {
            print(&admin.call(Method::GET, &format!("/tenants/{tenant}/plugins"), None)?)
        }
        Command::Plugin(PluginCmd::Remove { tenant, name }) => {
            admin.call(Method::DELETE, &format!("/tenants/{tenant}/plugins/{name}"), None)?;
            println!("removed plugin {name}");
            Ok(())
        }
        Command::Plugin(PluginCmd::Config { tenant, name, config }) => {
            let config: Value = serde_json::from_str(&config).context("the configuration is not JSON")?;
            admin.call(Method::PUT, &format!("/tenants/{tenant}/plugins/{name}/config"), Some(config))?;
            println!("configured plugin {name}");
            Ok(())
        }
        Command::Plugin(PluginCmd::Check { .. } | PluginCmd::Run { .. }) => {
            bail!("plugin check and run need no server")
        }
        Command::Audit { tenant, limit } => {
            print(&admin.call(Method::GET, &format!("/tenants/{tenant}/audit?limit={limit}"), None)?)
        }
    }
}

fn unreachable_serve() -> anyhow::Result<()> {
    bail!("serve is not an admin command")
}
