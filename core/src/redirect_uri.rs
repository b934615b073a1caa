//! Which URIs a client may register as redirect or post-logout redirect URIs, and
//! which a response may be sent to: `https`, `http` on loopback only (RFC 8252 §7.3,
//! RFC 9700 §2.1), and the private-use schemes of native apps in reverse-domain form
//! (RFC 8252 §7.1, `com.example.app:/cb`). Never `javascript:`, `data:`, `file:` and
//! the like, never a fragment.

use std::net::Ipv6Addr;

use url::{Host, Url};

/// Longest URI a client may register.
pub const MAX_LEN: usize = 2000;

/// Why a URI is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    NotAbsolute,
    TooLong,
    Fragment,
    /// `http://` to a host other than 127.0.0.1, [::1] or localhost.
    PlainHttp,
    /// A scheme that is neither http(s) nor a reverse-domain private-use scheme.
    Scheme,
}

impl Refusal {
    /// The reason as shown to the admin who registers the client.
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::NotAbsolute => "is not an absolute URI",
            Refusal::TooLong => "too long",
            Refusal::Fragment => "may not have a fragment",
            Refusal::PlainHttp => "http is allowed only for loopback (127.0.0.1, [::1], localhost); use https",
            Refusal::Scheme => {
                "must be https, http on loopback, or a private-use scheme in reverse-domain form (com.example.app:/cb)"
            }
        }
    }
}

/// A private-use scheme of a native app: reverse-domain form, so at least two
/// non-empty dot-separated labels (`com.example.app`). Url has lowercased it.
fn is_private_use(scheme: &str) -> bool {
    scheme.contains('.') && scheme.split('.').all(|label| !label.is_empty())
}

fn is_loopback(host: Option<Host<&str>>) -> bool {
    match host {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip == Ipv6Addr::LOCALHOST,
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Checks a URI a client wants to register.
pub fn check(uri: &str) -> Result<(), Refusal> {
    if uri.len() > MAX_LEN {
        return Err(Refusal::TooLong);
    }
    let u = Url::parse(uri).map_err(|_| Refusal::NotAbsolute)?;
    if u.fragment().is_some() || uri.contains('#') {
        return Err(Refusal::Fragment);
    }
    match u.scheme() {
        "https" if u.host().is_some() => Ok(()),
        "http" if is_loopback(u.host()) => Ok(()),
        "http" => Err(Refusal::PlainHttp),
        s if is_private_use(s) => Ok(()),
        _ => Err(Refusal::Scheme),
    }
}

/// True if a response may be sent to `uri` (the page that posts a form_post answer,
/// a redirect): checked again when answering, so a URI stored before these rules
/// never becomes a form action or a Location. Plain http to any host passes here
/// (it was registered, so only the registration rule can refuse it); every scheme
/// that could run script or read files does not.
pub fn safe_to_answer(uri: &str) -> bool {
    match check(uri) {
        Ok(()) | Err(Refusal::PlainHttp) => true,
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p2_registration_table() {
        use Refusal::*;
        let table: &[(&str, Result<(), Refusal>)] = &[
            ("https://app.example.com/cb", Ok(())),
            ("https://app.example.com:8443/cb?x=1", Ok(())),
            ("http://127.0.0.1:9/cb", Ok(())),
            ("http://127.0.0.1/cb", Ok(())),
            ("http://[::1]:8080/cb", Ok(())),
            ("http://localhost:3000/cb", Ok(())),
            ("http://LOCALHOST/cb", Ok(())),
            ("com.example.app:/oauth2redirect", Ok(())),
            ("com.acme.app:/callback", Ok(())),
            ("com.example.app://callback", Ok(())),
            ("http://example.com/cb", Err(PlainHttp)),
            ("http://localhost.example.com/cb", Err(PlainHttp)),
            ("http://127.0.0.1.example.com/cb", Err(PlainHttp)),
            ("http://[::2]/cb", Err(PlainHttp)),
            ("javascript:alert(1)", Err(Scheme)),
            ("JavaScript:alert(document.cookie)", Err(Scheme)),
            ("data:text/html,<script>alert(1)</script>", Err(Scheme)),
            ("file:///etc/passwd", Err(Scheme)),
            ("vbscript:msgbox(1)", Err(Scheme)),
            ("myapp:/cb", Err(Scheme)),
            ("ftp://example.com/cb", Err(Scheme)),
            ("ws://127.0.0.1/cb", Err(Scheme)),
            ("https:///cb", Ok(())), // Url normalises it to https://cb/ (a host)
            ("com..app:/cb", Err(Scheme)),
            ("https://app.example.com/cb#frag", Err(Fragment)),
            ("https://app.example.com/cb#", Err(Fragment)),
            ("/relative/cb", Err(NotAbsolute)),
            ("", Err(NotAbsolute)),
        ];
        for (uri, want) in table {
            assert_eq!(check(uri), *want, "{uri}");
        }
        let long = format!("https://app.example.com/{}", "a".repeat(MAX_LEN));
        assert_eq!(check(&long), Err(TooLong));
    }

    #[test]
    fn p2_answers_never_go_to_script_or_file_schemes() {
        for uri in ["https://a.example/cb", "http://127.0.0.1:9/cb", "http://legacy.example/cb", "com.example.app:/cb"]
        {
            assert!(safe_to_answer(uri), "{uri}");
        }
        for uri in ["javascript:alert(1)", "data:text/html,x", "file:///x", "vbscript:x", "myapp:/cb", "not a uri"] {
            assert!(!safe_to_answer(uri), "{uri}");
        }
    }
}
