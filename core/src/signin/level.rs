//! How strongly a person authenticated: the `amr` values (RFC 8176) a sign-in
//! collects and the `acr` they add up to (P4). `1` is one factor, `2` is two.

/// Authentication context classes this provider asserts (discovery lists them).
pub const ACR_VALUES: [&str; 2] = ["1", "2"];

/// A way of proving who one is, as an `amr` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Password,
    /// A code sent by SMS.
    Sms,
    /// A one-time password: authenticator app, email code or recovery code.
    Otp,
    /// A passkey (proof of possession of a key; the authenticator verified the user).
    Passkey,
    /// An upstream identity provider.
    Federated,
}

impl Method {
    pub fn amr(self) -> &'static str {
        match self {
            Method::Password => "pwd",
            Method::Sms => "sms",
            Method::Otp => "otp",
            Method::Passkey => "hwk",
            Method::Federated => "fed",
        }
    }
}

/// `amr` after adding `method`; `mfa` joins once two different factors are in, or a
/// passkey (possession plus the authenticator's user verification) alone.
pub fn with(amr: &[String], method: Method) -> Vec<String> {
    let mut out: Vec<String> = amr.iter().filter(|a| *a != "mfa").cloned().collect();
    if !out.iter().any(|a| a == method.amr()) {
        out.push(method.amr().to_string());
    }
    // An upstream sign-in counts as one method: with a factor of ours after it (a
    // second factor, or the password when linking), that is two.
    if out.len() >= 2 || out.iter().any(|a| a == "hwk") {
        out.push("mfa".into());
    }
    out
}

/// The `acr` an `amr` earns.
pub fn acr(amr: &[String]) -> &'static str {
    if amr.iter().any(|a| a == "mfa") { "2" } else { "1" }
}

/// Whether an authorization request's `acr_values` (space-separated, in order of
/// preference) asks for two factors: its first value this provider knows is `2`.
pub fn wants_two_factors(acr_values: Option<&str>) -> bool {
    acr_values.unwrap_or("").split(' ').find(|v| ACR_VALUES.contains(v)) == Some("2")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn p4_amr_and_acr() {
        let pwd = with(&[], Method::Password);
        assert_eq!(pwd, s(&["pwd"]));
        assert_eq!(acr(&pwd), "1");
        let two = with(&pwd, Method::Otp);
        assert_eq!(two, s(&["pwd", "otp", "mfa"]));
        assert_eq!(acr(&two), "2");
        assert_eq!(with(&two, Method::Otp), two, "adding a factor twice changes nothing");
        assert_eq!(with(&[], Method::Passkey), s(&["hwk", "mfa"]));
        assert_eq!(acr(&with(&[], Method::Federated)), "1");
        assert_eq!(
            with(&s(&["fed"]), Method::Otp),
            s(&["fed", "otp", "mfa"]),
            "step-up after an upstream sign-in ends"
        );
        assert!(wants_two_factors(Some("2")));
        assert!(wants_two_factors(Some("urn:other 2 1")));
        assert!(!wants_two_factors(Some("1 2")));
        assert!(!wants_two_factors(None));
    }
}
