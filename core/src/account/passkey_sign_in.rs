//! Passwordless sign-in with a passkey (R20): the start answers alike for every
//! identifier (R36: a decoy challenge when there is no account or no passkey); the
//! finish checks the assertion inside the failure limits (R19) and then signs in
//! like any other method, with `amr` `hwk mfa`.

use crate::account::Accounts;
use crate::account::guarded::Guard;
use crate::account::signin::{Attempt, SignedIn};
use crate::credential::passkey::{Passkeys, Rp, SignInFor};
use crate::error::{Error, Field, Result};
use crate::identifier::Identifier;
use crate::settings::TenantSettings;
use crate::signin::attempts::Subject;
use crate::signin::level::Method;

impl Accounts {
    /// Starts a passwordless sign-in for the account `identifier` signs in: the
    /// ceremony id and the options for `navigator.credentials.get`. Unknown
    /// identifiers and accounts without passkeys get the same answer (R36); only
    /// input that is no identifier at all is `invalid_input`.
    pub async fn start_passkey_sign_in(
        &self,
        tenant: &str,
        passkeys: &Passkeys,
        rp: &Rp,
        identifier: &str,
    ) -> Result<(String, serde_json::Value)> {
        let parsed = Identifier::parse(identifier)
            .map_err(|_| Error::invalid(Field::Identifier, "not a mobile, email, account name or id"))?;
        let account = match self.find_login(tenant, &parsed).await {
            // A mobile or email of several accounts signs none in (R6).
            Err(Error::SeveralAccounts(_)) => None,
            other => other?,
        };
        let key = parsed.index_key().unwrap_or_else(|| format!("id:{}", identifier.trim()));
        passkeys.start_sign_in(tenant, rp, account.as_ref().map(|a| a.id.as_str()), &key).await
    }

    /// Finishes it with the browser's assertion. The try counts against the
    /// ceremony's account (or its unknown identifier) and the IP like a password's:
    /// a rate-limited account waits, a rejected assertion is a failure.
    #[allow(clippy::too_many_arguments)]
    pub async fn sign_in_with_passkey(
        &self,
        tenant: &str,
        settings: &TenantSettings,
        passkeys: &Passkeys,
        rp: &Rp,
        ceremony: &str,
        credential: serde_json::Value,
        attempt: &Attempt<'_>,
    ) -> Result<SignedIn> {
        let Some(owner) = passkeys.sign_in_for(tenant, ceremony).await? else { return Err(Error::PasskeyRejected) };
        let who = match &owner {
            SignInFor::Account(id) => Subject::Account(id),
            SignInFor::Unknown(identifier) => Subject::Unknown(identifier),
        };
        let guard = Guard { who, attempt: *attempt, captcha: false, audited: false };
        let check = async {
            let verified = passkeys.finish_authentication(tenant, rp, ceremony, credential).await?;
            match &owner {
                SignInFor::Account(id) if *id == verified.account_id => Ok(verified.account_id),
                _ => Err(Error::PasskeyRejected),
            }
        };
        let account_id = self.guarded(tenant, settings, &guard, check).await?;
        let account = self.get(tenant, &account_id).await?;
        self.signed_in(tenant, settings, account, &[Method::Passkey])
    }
}
