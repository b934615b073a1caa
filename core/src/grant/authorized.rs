//! What an authorization request comes to after one step of [`super::Authorizations`]:
//! the edge renders it (a page, a redirect to the app, the sign-in or consent page).

use crate::grant::oauth_error::OAuthCode;
use crate::grant::request::Redirect;
use crate::session::Session;

/// The outcome of advancing an authorization request, for the edge to render.
#[derive(Debug, Clone)]
pub enum Authorized {
    /// The tenant does not exist: a 404 page.
    UnknownTenant,
    /// The client or its redirect URI cannot be trusted: an error page, never a redirect.
    ErrorPage { error: OAuthCode, description: String },
    /// An OAuth error sent back to the client at its redirect URI.
    ErrorToClient { to: Redirect, error: OAuthCode, description: String },
    /// The saved flow waits for the person to sign in.
    SignIn { flow_id: String },
    /// The signed-in person owes a second factor for the flow (P4); the edge runs the step-up.
    StepUp { flow_id: String, session: Session },
    /// The saved flow waits for the person's consent to `scopes` for `client_name`.
    Consent { flow_id: String, client_name: String, scopes: Vec<String>, ui_locales: Option<String> },
    /// The authorization response (`code`) sent to the client.
    Redirect { to: Redirect, params: Vec<(&'static str, String)> },
    /// The flow is gone (expired, finished) or the session ended meanwhile.
    Expired,
}
