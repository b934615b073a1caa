//! Router tests for the edge error table (`tower::ServiceExt::oneshot`, no server):
//! JSON routes and page routes answer the same status and code for the same error.

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use axum::routing::get;
use latchkey_core::{Error, Field, ManualClock, Refusal, Resource, Store};
use serde_json::Value;
use tower::ServiceExt;

use super::{ApiError, ApiResult, Entry, Text, table};
use crate::config::Config;
use crate::state::{AppState, Services};

const TENANT: &str = "acme";

/// The whole application on a temp data dir with one tenant.
async fn state() -> (tempfile::TempDir, AppState) {
    let dir = tempfile::tempdir().unwrap();
    let config = Config { data_dir: dir.path().to_path_buf(), ..Config::default() };
    let store = Store::open(&dir.path().join("store")).unwrap();
    let svc = Services::new(&config, store, Arc::new(ManualClock::new()), String::new()).unwrap();
    svc.tenants.ensure(&svc.keys, TENANT, "Acme").await.unwrap();
    (dir, AppState(Arc::new(svc)))
}

fn request(method: &str, uri: &str) -> axum::http::request::Builder {
    Request::builder().method(method).uri(uri).extension(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 4000))))
}

async fn answer(router: Router, req: Request<Body>) -> (StatusCode, String, String) {
    let resp = router.oneshot(req).await.unwrap();
    let status = resp.status();
    let kind = resp.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
    (status, kind, String::from_utf8(bytes.to_vec()).unwrap())
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap()
}

#[tokio::test]
async fn unknown_tenant_answers_a_page_on_a_page_route_and_json_on_an_api_route() {
    let (_dir, state) = state().await;
    let app = crate::server::app(state);
    let (status, kind, body) = answer(app.clone(), request("GET", "/t/nope/login").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(kind.starts_with("text/html"), "{kind}: {body}");
    assert!(body.contains("We could not find what you asked for.") && body.contains("not_found"), "{body}");

    let (status, kind, body) = answer(
        app.clone(),
        request("POST", "/t/nope/api/captcha")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{}"))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(kind.starts_with("application/json"), "{kind}");
    assert_eq!(json(&body)["error"], "not_found");

    // The page speaks the asked-for language.
    let (status, _, body) =
        answer(app, request("GET", "/t/nope/login?ui_locales=zh-CN").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("找不到您请求的内容。"), "{body}");
}

#[tokio::test]
async fn bad_csrf_is_a_403_page_on_a_form_and_json_for_the_passkey_script() {
    let (_dir, state) = state().await;
    let app = crate::server::app(state);
    let form = request("POST", &format!("/t/{TENANT}/login"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("identifier=ada&password=x&csrf=forged"))
        .unwrap();
    let (status, kind, body) = answer(app.clone(), form).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(kind.starts_with("text/html"), "{kind}: {body}");
    assert!(body.contains("csrf"), "{body}");

    let script = request("POST", &format!("/t/{TENANT}/login/verify/passkey/start"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"csrf":"forged"}"#))
        .unwrap();
    let (status, kind, body) = answer(app, script).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(kind.starts_with("application/json"), "{kind}: {body}");
    assert_eq!(json(&body)["error"], "csrf");
}

/// A page route and its JSON twin answering one domain error.
fn twin(state: AppState, e: fn() -> Error) -> Router {
    let fail = move || async move { ApiResult::<String>::Err(ApiError::from(e())) };
    Router::new()
        .route("/page", get(fail))
        .layer(axum::middleware::from_fn_with_state(state.clone(), super::page::as_page))
        .route("/api", get(fail))
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::web::csrf::scope))
        .with_state(state)
}

/// An error, the status and code both answers give, and words the page shows.
type Case = (fn() -> Error, StatusCode, &'static str, &'static str);

#[tokio::test]
async fn one_table_gives_pages_and_json_the_same_status_and_code() {
    let (_dir, state) = state().await;
    let cases: [Case; 5] = [
        (
            || Error::Refused(Refusal::TotpAlreadyEnabled),
            StatusCode::CONFLICT,
            "totp_already_enabled",
            "already set up",
        ),
        (|| Error::Refused(Refusal::LastSecondFactor), StatusCode::FORBIDDEN, "last_second_factor", "2-step"),
        (|| Error::RateLimited { retry_after: 30 }, StatusCode::TOO_MANY_REQUESTS, "rate_limited", "30 seconds"),
        (
            || Error::PluginDenied { reason: "vip_only".into(), message: "Members only, sorry".into() },
            StatusCode::FORBIDDEN,
            "policy_denied",
            "Members only, sorry",
        ),
        (
            || Error::Storage("disk /var/secret full".into()),
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "our side",
        ),
    ];
    for (e, status, code, words) in cases {
        let app = twin(state.clone(), e);
        let (st, kind, body) = answer(app.clone(), Request::get("/api").body(Body::empty()).unwrap()).await;
        assert_eq!((st, json(&body)["error"].as_str()), (status, Some(code)), "{body}");
        assert!(kind.starts_with("application/json"));
        assert!(!body.contains("/var/secret"), "internals never leak: {body}");
        let (st, kind, body) = answer(app, Request::get("/page").body(Body::empty()).unwrap()).await;
        assert_eq!(st, status, "{body}");
        assert!(kind.starts_with("text/html"), "{kind}");
        assert!(body.contains(code) && body.contains(words), "{code}: {body}");
        assert!(!body.contains("/var/secret"), "internals never leak: {body}");
    }
}

#[test]
fn refusals_map_to_their_own_code_status_and_key() {
    let entry = |r| table::entry(&Error::Refused(r));
    assert_eq!(
        entry(Refusal::TotpAlreadyEnabled),
        Entry {
            status: StatusCode::CONFLICT,
            code: "totp_already_enabled",
            text: Text::Key("sec_totp_already", vec![])
        }
    );
    assert_eq!(
        entry(Refusal::NoSecondFactor),
        Entry {
            status: StatusCode::FORBIDDEN,
            code: "no_second_factor",
            text: Text::Key("sec_no_second_factor", vec![])
        }
    );
    assert_eq!(entry(Refusal::ReviewNotPending).status, StatusCode::FORBIDDEN);
    assert_eq!(entry(Refusal::GatewayHasSubDevices).code, "gateway_has_sub_devices");
}

#[test]
fn every_message_key_of_the_table_has_a_text_in_every_locale() {
    use crate::web::i18n::{self, Locale};
    let refusals = [
        Refusal::NoSecondFactor,
        Refusal::LastSecondFactor,
        Refusal::LastSignInMethod,
        Refusal::TotpAlreadyEnabled,
        Refusal::ReviewNotPending,
        Refusal::GatewayHasSubDevices,
        Refusal::BindingsChanging,
    ];
    let mut errors: Vec<Error> = refusals.into_iter().map(Error::Refused).collect();
    errors.extend([
        Error::NotFound(Resource::Tenant),
        Error::IdentifierTaken(latchkey_core::IdentifierKind::Email),
        Error::IdentifierTaken(latchkey_core::IdentifierKind::DeviceId),
        Error::invalid(Field::Password, "short"),
        Error::invalid(Field::Label, "odd"),
        Error::BadCredentials,
        Error::InvalidToken,
        Error::denied("registration_closed"),
        Error::denied("custom"),
        Error::RateLimited { retry_after: 1 },
        Error::CodeExpired,
        Error::SeveralAccounts(latchkey_core::IdentifierKind::Email),
        Error::Delivery("smtp".into()),
        Error::CaptchaRequired,
        Error::CaptchaFailed,
        Error::PasskeyRejected,
        Error::Crypto("x"),
        Error::ProofRequired,
        Error::ReauthenticationRequired,
    ]);
    for e in &errors {
        let Text::Key(key, _) = table::text(e) else { continue };
        for locale in [Locale::En, Locale::ZhCn] {
            assert!(!i18n::text(locale, key).is_empty(), "{key} in {locale:?} for {e:?}");
        }
    }
}

/// Each invalid field a person can fix on a page gets its own message; any other
/// field is named in the general one. A swapped arm (the mobile message on an email
/// error) fails here.
#[test]
fn an_invalid_field_picks_its_own_message_by_variant() {
    let own = [
        (Field::Mobile, "invalid_mobile"),
        (Field::Email, "invalid_email"),
        (Field::AccountName, "invalid_account_name"),
        (Field::Identifier, "invalid_identifier"),
        (Field::Value, "invalid_same_value"),
        (Field::CurrentCode, "invalid_current_code"),
        (Field::Address, "invalid_address"),
        (Field::Password, "invalid_password"),
    ];
    for (field, want) in own {
        let Text::Key(key, args) = table::text(&Error::invalid(field, "bad")) else { panic!("{field:?}") };
        assert_eq!((key, args.len()), (want, 0), "{field:?}");
    }
    let Text::Key(key, args) = table::text(&Error::invalid(Field::DeviceName, "bad")) else { panic!() };
    assert_eq!((key, args), ("invalid_field", vec![("field", "device_name".to_string())]));
}
