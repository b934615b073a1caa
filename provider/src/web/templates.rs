//! The page templates, compiled into the binary.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use minijinja::Environment;
use serde::Serialize;

const SOURCES: &[(&str, &str)] = &[
    ("layout.html", include_str!("../../templates/layout.html")),
    ("login.html", include_str!("../../templates/login.html")),
    ("consent.html", include_str!("../../templates/consent.html")),
    ("message.html", include_str!("../../templates/message.html")),
    ("logout.html", include_str!("../../templates/logout.html")),
    ("form_post.html", include_str!("../../templates/form_post.html")),
    ("demo.html", include_str!("../../templates/demo.html")),
    ("notice.html", include_str!("../../templates/notice.html")),
    ("register.html", include_str!("../../templates/register.html")),
    ("recover.html", include_str!("../../templates/recover.html")),
    ("account.html", include_str!("../../templates/account.html")),
    ("password.html", include_str!("../../templates/password.html")),
    ("channel.html", include_str!("../../templates/channel.html")),
    ("done.html", include_str!("../../templates/done.html")),
    ("email_confirm.html", include_str!("../../templates/email_confirm.html")),
    ("developer.html", include_str!("../../templates/developer.html")),
    ("device.html", include_str!("../../templates/device.html")),
    ("review.html", include_str!("../../templates/review.html")),
    ("passkey_get.html", include_str!("../../templates/passkey_get.html")),
    ("verify.html", include_str!("../../templates/verify.html")),
    ("federation_first.html", include_str!("../../templates/federation_first.html")),
    ("federation_contact.html", include_str!("../../templates/federation_contact.html")),
    ("linked.html", include_str!("../../templates/linked.html")),
    ("captcha.html", include_str!("../../templates/captcha.html")),
    ("security.html", include_str!("../../templates/security.html")),
    ("security_totp.html", include_str!("../../templates/security_totp.html")),
    ("security_codes.html", include_str!("../../templates/security_codes.html")),
];

pub struct Templates(Environment<'static>);

impl Templates {
    pub fn new() -> anyhow::Result<Self> {
        let mut env = Environment::new();
        for (name, src) in SOURCES {
            env.add_template(name, src)?;
        }
        Ok(Templates(env))
    }

    /// Renders a template; a rendering failure is logged and answered as a 500.
    pub fn render(&self, status: StatusCode, name: &str, ctx: impl Serialize) -> Response {
        match self.0.get_template(name).and_then(|t| t.render(ctx)) {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => {
                tracing::error!(template = name, error = %e, "template failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "page rendering failed").into_response()
            }
        }
    }
}
