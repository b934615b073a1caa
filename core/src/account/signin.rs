//! Signing in: any identifier and the password (R15), or a code sent to the mobile
//! (R16). An unknown identifier and a wrong password give the same answer after the
//! same work.

use crate::account::guarded::Guard;
use crate::account::{Account, Accounts};
use crate::audit::{self, AuditEvent};
use crate::code::{Destination, Notice, Purpose, Sent};
use crate::error::{Error, Result};
use crate::identifier::{Identifier, parse_phone};
use crate::settings::TenantSettings;
use crate::signin::attempts::Subject;
use crate::signin::level::{self, Method};

/// Where a sign-in try comes from, and the CAPTCHA answer it carries if any (R19).
#[derive(Debug, Clone, Copy, Default)]
pub struct Attempt<'a> {
    pub ip: &'a str,
    pub captcha: Option<&'a str>,
    /// The client whose authorization request this sign-in serves, if any.
    pub client: Option<&'a str>,
}

impl Attempt<'_> {
    /// Records a security event of this try (R19: who, what, when, IP, client).
    pub(crate) async fn audit(
        &self,
        store: &crate::store::Store,
        tenant: &str,
        at: u64,
        who: &Subject<'_>,
        action: &str,
    ) -> Result<()> {
        let actor = match who {
            Subject::Account(id) => id.to_string(),
            Subject::Unknown(_) => "unknown".to_string(),
        };
        let event = AuditEvent {
            at,
            actor,
            action: action.to_string(),
            subject: None,
            ip: Some(self.ip.to_string()),
            client: self.client.map(str::to_string),
            detail: serde_json::Value::Null,
        };
        audit::record(store, tenant, &event).await
    }
}

/// A first factor passed and what the person should be told. The account's pending
/// notices (R9) stay on it until the sign-in completes: see [`Accounts::take_notices`].
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub account: Account,
    /// The password is older than the tenant's maximum age: suggest a change (R4).
    pub password_expired: bool,
    /// How the person authenticated (`amr`).
    pub amr: Vec<String>,
}

impl Accounts {
    /// Password sign-in with a mobile, email, account name or account id. Failures
    /// count against the account (or the unknown identifier) and the IP: backoff, an
    /// hourly cap, a CAPTCHA after a few (R19). The try is reserved inside those
    /// limits before the password is checked, so parallel tries meet them too.
    pub async fn sign_in(
        &self,
        tenant: &str,
        settings: &TenantSettings,
        identifier: &str,
        password: &str,
        attempt: &Attempt<'_>,
    ) -> Result<SignedIn> {
        let account = match Identifier::parse(identifier) {
            Ok(i) => match self.find_login(tenant, &i).await {
                Err(Error::SeveralAccounts(kind)) => {
                    // Same work as a real check before saying so.
                    self.passwords.verify(None, password).await?;
                    return Err(Error::SeveralAccounts(kind));
                }
                other => other?,
            },
            Err(_) => None,
        };
        let who = match &account {
            Some(a) => Subject::Account(&a.id),
            None => Subject::Unknown(identifier),
        };
        let guard = Guard { who, attempt: *attempt, captcha: true, audited: true };
        let phc = account.as_ref().and_then(|a| a.password.as_deref());
        let check = async {
            let ok = self.passwords.verify(phc, password).await?;
            if ok && account.is_some() { Ok(()) } else { Err(Error::BadCredentials) }
        };
        self.guarded(tenant, settings, &guard, check).await?;
        let account = account.ok_or(Error::BadCredentials)?;
        self.signed_in(tenant, settings, account, &[Method::Password])
    }

    /// Whether the next password try for `identifier` from `ip` must carry a CAPTCHA.
    pub async fn captcha_due(
        &self,
        tenant: &str,
        settings: &TenantSettings,
        identifier: &str,
        ip: &str,
    ) -> Result<bool> {
        let account = match Identifier::parse(identifier) {
            Ok(i) => self.find_login(tenant, &i).await.ok().flatten(),
            Err(_) => None,
        };
        let who = match &account {
            Some(a) => Subject::Account(&a.id),
            None => Subject::Unknown(identifier),
        };
        match self.attempts.check(tenant, &settings.sign_in, &who, ip).await {
            Ok(gate) => Ok(gate.captcha),
            Err(Error::RateLimited { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Sends a sign-in code to a mobile number (R16). The limits count whether or
    /// not the number has an account, and the answer is the same, so the endpoint does
    /// not tell who is registered.
    pub async fn send_sign_in_code(
        &self,
        tenant: &str,
        settings: &TenantSettings,
        mobile: &str,
        ip: &str,
        locale: &str,
    ) -> Result<Sent> {
        let mobile = parse_phone(mobile)?;
        let to = Destination::sms(&mobile);
        let sent = self.codes.admit(tenant, &settings.codes, &to, ip).await?;
        let message = match self.find_login(tenant, &Identifier::Phone(mobile.clone())).await {
            Ok(Some(_)) => Some(self.codes.issue(tenant, &settings.codes, Purpose::SignIn, &to, locale).await?),
            _ => None,
        };
        // Both paths wrote (the limits, maybe a code) and both flush, so the time
        // taken does not tell registered numbers apart (R36).
        self.store.commit().await?;
        if let Some(message) = message {
            // In the background: the answer must not take longer for registered numbers.
            self.codes.deliver_in_background(message, "sign-in code not delivered");
        }
        Ok(sent)
    }

    /// Signs in with a mobile number and the code sent to it.
    pub async fn sign_in_with_code(
        &self,
        tenant: &str,
        settings: &TenantSettings,
        mobile: &str,
        code: &str,
    ) -> Result<SignedIn> {
        let mobile = parse_phone(mobile)?;
        self.codes.verify(tenant, &settings.codes, Purpose::SignIn, &mobile, code).await?;
        let account = self.find_login(tenant, &Identifier::Phone(mobile)).await?.ok_or(Error::BadCredentials)?;
        self.signed_in(tenant, settings, account, &[Method::Sms])
    }

    /// A sign-in that proved `methods` (a passkey, an upstream provider): the same
    /// bookkeeping as a password sign-in.
    pub fn signed_in(
        &self,
        _tenant: &str,
        settings: &TenantSettings,
        account: Account,
        methods: &[Method],
    ) -> Result<SignedIn> {
        let now = self.clock.now();
        let max_age = settings.password.max_age_days * 24 * 3600;
        let password_expired =
            max_age > 0 && account.password.is_some() && now.saturating_sub(account.password_changed_at) > max_age;
        let amr = methods.iter().fold(Vec::new(), |amr, m| level::with(&amr, *m));
        Ok(SignedIn { account, password_expired, amr })
    }

    /// Takes the notices kept for the account (R9) when its sign-in completes (the
    /// session starts): they leave the account in the same write that returns them,
    /// durably, so a sign-in denied or abandoned after its first factor leaves them
    /// for the next one, and a completed one shows them once.
    pub async fn take_notices(&self, tenant: &str, account_id: &str) -> Result<Vec<Notice>> {
        if self.get(tenant, account_id).await?.pending_notices.is_empty() {
            return Ok(Vec::new());
        }
        let notices = self.modify(tenant, account_id, |a| Ok(std::mem::take(&mut a.pending_notices))).await?;
        self.store.commit().await?;
        Ok(notices)
    }
}
