//! The account center's Security section as whole operations (R20, R38): the
//! identity check of a sensitive change, the change, its audit event, durability,
//! then the contacts' notice. Each method is what one form of the section does.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::account::password::Proof;
use crate::account::second_factor::{Enrolled, Factor, available};
use crate::account::{Account, Accounts};
use crate::audit::{self, AuditEvent};
use crate::clock::Clock;
use crate::code::Notice;
use crate::credential::passkey::{PasskeyInfo, Passkeys, Rp};
use crate::credential::recovery_codes::RecoveryCodes;
use crate::credential::totp::{Enrolment, Totps};
use crate::error::{Error, Refusal, Resource, Result};
use crate::seal::Sealer;
use crate::store::Store;
use crate::tenant::Tenants;

/// Who changes their security settings, and from where.
#[derive(Debug, Clone, Copy)]
pub struct Holder<'a> {
    /// The signed-in account.
    pub account: &'a Account,
    /// The client's IP, for the audit event; empty if unknown.
    pub ip: &'a str,
    /// The page's locale, for the notice.
    pub locale: &'a str,
}

/// The Security section's operations.
pub struct Security {
    store: Store,
    clock: Arc<dyn Clock>,
    accounts: Arc<Accounts>,
    tenants: Tenants,
    totps: Totps,
    recovery_codes: RecoveryCodes,
    passkeys: Passkeys,
}

/// Refuses a removal that would leave 2-step verification on with nothing but
/// recovery codes to give: `after` is what remains enrolled.
pub fn keeps_a_factor(account: &Account, after: &Enrolled) -> Result<()> {
    if account.two_step && available(account, after, &[]).iter().all(|f| *f == Factor::RecoveryCode) {
        return Err(Error::Refused(Refusal::LastSecondFactor));
    }
    Ok(())
}

/// How the account is named to an authenticator app or a passkey: its name, else
/// its email or mobile, else its id.
pub fn holder_label(account: &Account) -> String {
    account
        .name
        .clone()
        .or_else(|| account.email().map(|b| b.value.clone()))
        .or_else(|| account.mobile().map(|b| b.value.clone()))
        .unwrap_or_else(|| account.id.clone())
}

impl Security {
    /// The section over the same store as `accounts`.
    pub fn new(store: Store, clock: Arc<dyn Clock>, sealer: Arc<Sealer>, accounts: Arc<Accounts>) -> Self {
        Security {
            tenants: Tenants::new(store.clone(), clock.clone()),
            totps: Totps::new(store.clone(), clock.clone(), sealer.clone()),
            recovery_codes: RecoveryCodes::new(store.clone(), clock.clone(), sealer.clone()),
            passkeys: Passkeys::new(store.clone(), clock.clone(), sealer),
            store,
            clock,
            accounts,
        }
    }

    /// What the account has enrolled besides its mobile and email.
    pub async fn enrolled(&self, tenant: &str, account_id: &str) -> Result<Enrolled> {
        Ok(Enrolled {
            totp: self.totps.status(tenant, account_id).await?.is_some_and(|s| s.confirmed),
            passkeys: self.passkeys.count(tenant, account_id).await?,
            recovery_codes: self.recovery_codes.remaining(tenant, account_id).await?,
        })
    }

    /// The identity check of this section: the current password. Wrong tries count
    /// like failed sign-ins (R19).
    pub async fn prove(&self, tenant: &str, account: &Account, password: &str) -> Result<()> {
        let settings = self.tenants.get(tenant).await?.settings;
        self.accounts.prove(tenant, &settings, account, Proof::Password(password)).await
    }

    /// Checks the current password, then starts (or restarts) the authenticator-app
    /// setup: a fresh key, shown once.
    pub async fn begin_totp(&self, tenant: &str, account: &Account, password: &str) -> Result<Enrolment> {
        self.prove(tenant, account, password).await?;
        let issuer = self.tenants.get(tenant).await?.display_name;
        let enrolment = self.totps.begin(tenant, &account.id, &issuer, &holder_label(account)).await?;
        self.store.commit().await?;
        Ok(enrolment)
    }

    /// Finishes the setup with the app's first code; the contacts are told.
    pub async fn confirm_totp(&self, tenant: &str, who: Holder<'_>, code: &str) -> Result<()> {
        self.totps.confirm(tenant, &who.account.id, code).await?;
        self.record(tenant, who, "totp_enabled", None, Value::Null).await;
        self.store.commit().await?;
        self.accounts.notify(tenant, who.account, Notice::TotpEnabled, who.locale).await;
        Ok(())
    }

    /// Removes the authenticator app after the identity check, unless it is the last
    /// factor 2-step verification can give.
    pub async fn remove_totp(&self, tenant: &str, who: Holder<'_>, password: &str) -> Result<()> {
        self.prove(tenant, who.account, password).await?;
        let after = Enrolled { totp: false, ..self.enrolled(tenant, &who.account.id).await? };
        keeps_a_factor(who.account, &after)?;
        if self.totps.remove(tenant, &who.account.id).await? {
            self.record(tenant, who, "totp_removed", None, Value::Null).await;
        }
        self.store.commit().await
    }

    /// After the identity check, a new set of recovery codes replaces the old one;
    /// the codes are returned to be shown once. The contacts are told.
    pub async fn new_recovery_codes(&self, tenant: &str, who: Holder<'_>, password: &str) -> Result<Vec<String>> {
        self.prove(tenant, who.account, password).await?;
        let replaced = self.recovery_codes.remaining(tenant, &who.account.id).await?;
        let codes = self.recovery_codes.generate(tenant, &who.account.id).await?;
        let detail = json!({ "count": codes.len(), "unused_replaced": replaced });
        self.record(tenant, who, "recovery_codes_generated", None, detail).await;
        self.store.commit().await?;
        let notice = Notice::RecoveryCodesGenerated { count: codes.len() };
        self.accounts.notify(tenant, who.account, notice, who.locale).await;
        Ok(codes)
    }

    /// Turns 2-step verification on or off after the identity check (the core refuses
    /// turning it on without a factor to give and sends the notice).
    pub async fn set_two_step(&self, tenant: &str, who: Holder<'_>, password: &str, on: bool) -> Result<()> {
        self.prove(tenant, who.account, password).await?;
        let enrolled = self.enrolled(tenant, &who.account.id).await?;
        if self.accounts.set_two_step(tenant, &who.account.id, on, &enrolled, who.locale).await? {
            let action = if on { "two_step_enabled" } else { "two_step_disabled" };
            self.record(tenant, who, action, None, Value::Null).await;
            self.store.commit().await?;
        }
        Ok(())
    }

    /// After the identity check, starts adding a passkey: `(ceremony, options)` for
    /// `navigator.credentials.create`.
    pub async fn start_passkey(
        &self,
        tenant: &str,
        rp: &Rp,
        account: &Account,
        password: &str,
    ) -> Result<(String, Value)> {
        self.prove(tenant, account, password).await?;
        let name = holder_label(account);
        let started = self.passkeys.start_registration(tenant, rp, &account.id, &name, &name).await?;
        self.store.commit().await?;
        Ok(started)
    }

    /// Stores the new passkey and tells the contacts. The ceremony is used up either way.
    pub async fn finish_passkey(
        &self,
        tenant: &str,
        rp: &Rp,
        who: Holder<'_>,
        ceremony: &str,
        credential: Value,
        label: &str,
    ) -> Result<PasskeyInfo> {
        let added = self.passkeys.finish_registration(tenant, rp, &who.account.id, ceremony, credential, label).await;
        if let Ok(info) = &added {
            self.record(tenant, who, "passkey_added", Some(&info.id), json!({ "label": info.label })).await;
        }
        self.store.commit().await?;
        let info = added?;
        let notice = Notice::PasskeyAdded { label: info.label.clone() };
        self.accounts.notify(tenant, who.account, notice, who.locale).await;
        Ok(info)
    }

    /// Removes one of the account's passkeys after the identity check, unless it is
    /// the last factor 2-step verification can give.
    pub async fn remove_passkey(&self, tenant: &str, who: Holder<'_>, password: &str, id: &str) -> Result<()> {
        self.prove(tenant, who.account, password).await?;
        let listed = self.passkeys.list(tenant, &who.account.id).await?;
        let Some(passkey) = listed.iter().find(|p| p.id == id) else {
            return Err(Error::NotFound(Resource::Passkey));
        };
        let now = self.enrolled(tenant, &who.account.id).await?;
        keeps_a_factor(who.account, &Enrolled { passkeys: now.passkeys.saturating_sub(1), ..now })?;
        if self.passkeys.remove(tenant, &who.account.id, &passkey.id).await? {
            let detail = json!({ "label": passkey.label });
            self.record(tenant, who, "passkey_removed", Some(&passkey.id), detail).await;
        }
        self.store.commit().await
    }

    /// Appends a security event by the account holder. A failure to record is logged,
    /// not returned: the change itself is done.
    async fn record(&self, tenant: &str, who: Holder<'_>, action: &str, subject: Option<&str>, detail: Value) {
        let event = AuditEvent {
            at: self.clock.now(),
            actor: who.account.id.clone(),
            action: action.to_string(),
            subject: subject.map(str::to_string),
            ip: (!who.ip.is_empty()).then(|| who.ip.to_string()),
            client: None,
            detail,
        };
        if let Err(e) = audit::record(&self.store, tenant, &event).await {
            tracing::warn!(tenant, account = %who.account.id, action, error = %e, "audit event not recorded");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::Mutex;

    use super::*;
    use crate::account::NewAccount;
    use crate::clock::ManualClock;
    use crate::code::{Codes, Message, MessageKind, Outbox};
    use crate::credential::password::{HashParams, Passwords};
    use crate::credential::totp::code_at;
    use crate::policy::PolicyHost;
    use crate::policy::wasm::{Limits, WasmHost};
    use crate::store::GLOBAL;
    use crate::tenant::Tenant;

    const T: &str = "t";
    const PASSWORD: &str = "correct horse battery";
    const IP: &str = "192.0.2.7";

    #[derive(Default)]
    struct Captured(Mutex<Vec<Message>>);

    impl Outbox for Captured {
        fn deliver<'a>(&'a self, m: &'a Message) -> Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>> {
            self.0.lock().unwrap().push(m.clone());
            Box::pin(async { Ok(()) })
        }
    }

    struct Kit {
        security: Security,
        accounts: Arc<Accounts>,
        store: Store,
        clock: Arc<ManualClock>,
        out: Arc<Captured>,
        account: Account,
        _dir: tempfile::TempDir,
    }

    async fn kit() -> Kit {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let clock = Arc::new(ManualClock::new());
        let out = Arc::new(Captured::default());
        let codes = Arc::new(Codes::new(store.clone(), clock.clone(), out.clone()));
        let passwords = Passwords::new(HashParams { memory_kib: 1024, iterations: 1, parallelism: 1 }, 2).unwrap();
        let policy = Arc::new(PolicyHost::new(store.clone(), clock.clone(), WasmHost::new(Limits::default()).unwrap()));
        let accounts = Arc::new(Accounts::new(store.clone(), clock.clone(), passwords, codes, policy));
        let tenant = Tenant { id: T.into(), display_name: "Acme".into(), created_at: 0, settings: Default::default() };
        store.put(GLOBAL, T, &tenant).await.unwrap();
        let new = NewAccount { email: Some("ada@example.com".into()), password: PASSWORD.into(), ..Default::default() };
        let account = accounts.create(T, new).await.unwrap();
        let sealer = Arc::new(Sealer::new([9u8; 32]));
        let security = Security::new(store.clone(), clock.clone(), sealer, accounts.clone());
        Kit { security, accounts, store, clock, out, account, _dir: dir }
    }

    impl Kit {
        fn who(&self) -> Holder<'_> {
            Holder { account: &self.account, ip: IP, locale: "en" }
        }

        async fn totp_on(&self) {
            let e = self.security.begin_totp(T, &self.account, PASSWORD).await.unwrap();
            let code = code_at(&e.secret, self.clock.now()).unwrap();
            self.security.confirm_totp(T, self.who(), &code).await.unwrap();
        }

        async fn audited(&self, action: &str) -> Vec<AuditEvent> {
            audit::recent(&self.store, T, 100).await.unwrap().into_iter().filter(|e| e.action == action).collect()
        }
    }

    #[tokio::test]
    async fn r20_totp_setup_begins_only_after_the_current_password_and_durably() {
        let k = kit().await;
        let wrong = k.security.begin_totp(T, &k.account, "not the password").await;
        assert!(matches!(wrong, Err(Error::BadCredentials)), "{wrong:?}");
        assert!(k.security.totps.status(T, &k.account.id).await.unwrap().is_none(), "no enrolment without the proof");
        let before = k.store.commits();
        let e = k.security.begin_totp(T, &k.account, PASSWORD).await.unwrap();
        assert!(e.uri.contains("Acme"), "the tenant's name is the issuer: {}", e.uri);
        assert!(k.store.commits() > before, "the started enrolment is durable before it is shown");
        let status = k.security.totps.status(T, &k.account.id).await.unwrap().unwrap();
        assert!(!status.confirmed);
    }

    #[tokio::test]
    async fn r38_confirming_totp_is_audited_with_the_ip_and_the_contacts_are_told() {
        let k = kit().await;
        k.totp_on().await;
        let events = k.audited("totp_enabled").await;
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].ip.as_deref(), Some(IP));
        assert_eq!(events[0].actor, k.account.id);
        let told = k.out.0.lock().unwrap().iter().any(|m| matches!(m.kind, MessageKind::Notice(Notice::TotpEnabled)));
        assert!(told, "the contacts hear of the new authenticator app");
    }

    #[tokio::test]
    async fn r20_the_last_factor_of_two_step_verification_is_not_removed() {
        let k = kit().await;
        k.totp_on().await;
        let enrolled = k.security.enrolled(T, &k.account.id).await.unwrap();
        assert!(k.accounts.set_two_step(T, &k.account.id, true, &enrolled, "en").await.unwrap());
        let account = k.accounts.get(T, &k.account.id).await.unwrap();
        let who = Holder { account: &account, ..k.who() };
        let refused = k.security.remove_totp(T, who, PASSWORD).await;
        assert!(matches!(refused, Err(Error::Refused(Refusal::LastSecondFactor))), "{refused:?}");
        assert!(k.security.enrolled(T, &k.account.id).await.unwrap().totp, "still enrolled");
        assert!(k.audited("totp_removed").await.is_empty());
        // With 2-step verification off, the app may go.
        k.security.set_two_step(T, who, PASSWORD, false).await.unwrap();
        let account = k.accounts.get(T, &k.account.id).await.unwrap();
        k.security.remove_totp(T, Holder { account: &account, ..k.who() }, PASSWORD).await.unwrap();
        assert!(!k.security.enrolled(T, &k.account.id).await.unwrap().totp);
        assert_eq!(k.audited("totp_removed").await.len(), 1);
        assert_eq!(k.audited("two_step_disabled").await.len(), 1);
    }

    #[tokio::test]
    async fn r20_removals_and_new_recovery_codes_need_the_current_password() {
        let k = kit().await;
        k.totp_on().await;
        let wrong = k.security.remove_totp(T, k.who(), "wrong").await;
        assert!(matches!(wrong, Err(Error::BadCredentials)), "{wrong:?}");
        assert!(k.security.enrolled(T, &k.account.id).await.unwrap().totp);
        let wrong = k.security.new_recovery_codes(T, k.who(), "wrong").await;
        assert!(matches!(wrong, Err(Error::BadCredentials)), "{wrong:?}");
        assert_eq!(k.security.enrolled(T, &k.account.id).await.unwrap().recovery_codes, 0);
        let codes = k.security.new_recovery_codes(T, k.who(), PASSWORD).await.unwrap();
        assert_eq!(k.security.enrolled(T, &k.account.id).await.unwrap().recovery_codes, codes.len());
        assert_eq!(k.audited("recovery_codes_generated").await[0].detail["count"], codes.len());
    }
}
