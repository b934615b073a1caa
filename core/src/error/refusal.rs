//! Why a request that is well formed is still refused: one kind per rule, each with
//! the stable code API clients see (`totp_already_enabled`, not `refused`).

/// A refusal kind, carried by `Error::Refused`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// 2-step verification needs a second factor first.
    NoSecondFactor,
    /// The factor is the only one left while 2-step verification is on.
    LastSecondFactor,
    /// The link is the account's last way to sign in.
    LastSignInMethod,
    /// An authenticator app is already set up; remove it first.
    TotpAlreadyEnabled,
    /// The developer submission is no longer waiting for review.
    ReviewNotPending,
    /// A gateway is unbound only after its sub-devices.
    GatewayHasSubDevices,
    /// The account's device bindings kept changing during the binding; try again.
    BindingsChanging,
}

impl Refusal {
    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            Refusal::NoSecondFactor => "no_second_factor",
            Refusal::LastSecondFactor => "last_second_factor",
            Refusal::LastSignInMethod => "last_sign_in_method",
            Refusal::TotpAlreadyEnabled => "totp_already_enabled",
            Refusal::ReviewNotPending => "review_not_pending",
            Refusal::GatewayHasSubDevices => "gateway_has_sub_devices",
            Refusal::BindingsChanging => "device_bindings_changing",
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Refusal::BindingsChanging => "device bindings changed too fast; try again",
            other => other.code(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    #[test]
    fn refusals_answer_their_own_code_not_refused() {
        assert_eq!(Error::Refused(Refusal::TotpAlreadyEnabled).code(), "totp_already_enabled");
        assert_eq!(Error::Refused(Refusal::ReviewNotPending).code(), "review_not_pending");
        // The CLI prints the message; it still says the request was refused.
        assert!(Error::Refused(Refusal::ReviewNotPending).to_string().contains("refused"));
    }
}
