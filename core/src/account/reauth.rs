//! Fresh proof before a change that could take the account over (issue 10 item 1;
//! R23 to R25, R27, R28; ASVS V7.5.1): who may ask for such a change, and what the
//! account holder must show with it.
//!
//! - A bearer token alone never suffices: only a token of a first-party client whose
//!   sign-in is at most `FRESH_SIGN_IN` old may ask (`token_may_change_security`).
//! - Adding a channel, linking an upstream, enrolling a factor: a proof by a method
//!   the account already has (`Proof`: the current password, or a code to one of its
//!   recovery channels). A code to the value being replaced also counts for a change.
//! - An account with no method at all (no password, no recovery channel: a
//!   third-party sign-in only) cannot give such a proof. A mobile or email it adds is
//!   contact-only (notices, no sign-in, no recovery: `Roles::CONTACT`); an upstream it
//!   links needs a sign-in at most `FRESH_SIGN_IN` old (`prove_fresh`).

use crate::account::password::Proof;
use crate::account::{Account, Accounts};
use crate::code::Purpose;
use crate::error::{Error, Field, Result};
use crate::settings::TenantSettings;

/// How old a sign-in may be and still count for a recovery-relevant change.
pub const FRESH_SIGN_IN: u64 = 5 * 60;

/// What a bearer token says about how it was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenFacts {
    /// The token's client is the tenant's own app (`Client.first_party`).
    pub first_party: bool,
    /// When the person signed in for this token (`auth_time`); `None` if the token
    /// does not say.
    pub auth_time: Option<u64>,
}

/// A bearer token may change the password, channels or factors only if its client is
/// first-party and its sign-in is recent; `reauthentication_required` otherwise.
pub fn token_may_change_security(token: &TokenFacts, now: u64) -> Result<()> {
    let recent = token.auth_time.is_some_and(|t| t <= now && now - t <= FRESH_SIGN_IN);
    if token.first_party && recent { Ok(()) } else { Err(Error::ReauthenticationRequired) }
}

/// True if the account can prove identity at all: a password or a recovery channel.
pub fn has_identity_method(account: &Account) -> bool {
    account.password.is_some() || account.bindings.iter().any(|b| b.roles.recovery)
}

impl Accounts {
    /// Checks `proof` together with `codes` (the new value's code, ...): the password
    /// first (a wrong one uses up no code), then every code at once, so a wrong new
    /// code does not use up the identity code and the other way round.
    pub(crate) async fn prove_with_codes(
        &self,
        tenant: &str,
        settings: &TenantSettings,
        account: &Account,
        proof: Proof<'_>,
        codes: &[(Purpose, &str, &str)],
    ) -> Result<()> {
        let mut checks = codes.to_vec();
        match proof {
            Proof::Password(_) => self.prove(tenant, settings, account, proof).await?,
            Proof::Code { address, code } => {
                if !account.bindings.iter().any(|b| b.roles.recovery && b.value == address) {
                    return Err(Error::invalid(Field::Address, "not a recovery channel of this account"));
                }
                checks.insert(0, (Purpose::VerifyIdentity, address, code));
            }
        }
        if checks.is_empty() { Ok(()) } else { self.codes.verify_all(tenant, &settings.codes, &checks).await }
    }

    /// The proof for linking an upstream (R28): a `Proof` when the account has a
    /// method; for an account without one, a sign-in at most `FRESH_SIGN_IN` old
    /// (`signed_in_at`, the session's `auth_time`).
    pub async fn prove_fresh(
        &self,
        tenant: &str,
        settings: &TenantSettings,
        account: &Account,
        proof: Option<Proof<'_>>,
        signed_in_at: u64,
    ) -> Result<()> {
        match proof {
            Some(p) => self.prove_with_codes(tenant, settings, account, p, &[]).await,
            None if has_identity_method(account) => Err(Error::ProofRequired),
            None => {
                let now = self.clock.now();
                let fresh = TokenFacts { first_party: true, auth_time: Some(signed_in_at) };
                token_may_change_security(&fresh, now)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r24_a_token_changes_security_only_first_party_and_recent() {
        let now = 10_000;
        let cases = [
            (true, Some(now), true),
            (true, Some(now - FRESH_SIGN_IN), true),
            (true, Some(now - FRESH_SIGN_IN - 1), false),
            (true, None, false),
            (true, Some(now + 60), false),
            (false, Some(now), false),
            (false, None, false),
        ];
        for (first_party, auth_time, allowed) in cases {
            let got = token_may_change_security(&TokenFacts { first_party, auth_time }, now);
            assert_eq!(got.is_ok(), allowed, "{first_party} {auth_time:?}");
            if let Err(e) = got {
                assert_eq!(e.code(), "reauthentication_required");
            }
        }
    }
}
