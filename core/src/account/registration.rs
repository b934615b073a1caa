//! Registration (R1 to R3) with the tenant's rules: password policy (R4), number
//! ranges (R10), accounts per mobile (R8), recycled numbers (R9).

use serde::Deserialize;

use crate::account::{Account, Accounts, Binding, Kind, Roles, TREES, index};
use crate::code::{Destination, Notice, Purpose, Sent};
use crate::credential::policy;
use crate::error::{Error, IdentifierKind, Resource, Result};
use crate::grant::account_families;
use crate::identifier::{Identifier, parse_email, parse_name, parse_phone};
use crate::policy::{Facts, PasswordInput, RegistrationInput};
use crate::settings::TenantSettings;
use crate::store::abort;

/// How a person registers.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum RegisterBy {
    /// R1: mobile + password + SMS code.
    Mobile { mobile: String },
    /// R2: email + password + emailed code.
    Email { email: String },
    /// R3: account name + password + a mobile verified by SMS that becomes the
    /// security phone.
    Name { name: String, mobile: String },
}

/// A registration request.
#[derive(Debug, Clone, Deserialize)]
pub struct Registration {
    #[serde(flatten)]
    pub by: RegisterBy,
    pub password: String,
    /// The code sent to the mobile (R1, R3) or email (R2).
    pub code: String,
    /// The mobile belongs to another account and the registrant, having proved
    /// possession, takes its login role over (recycled number, R9).
    #[serde(default)]
    pub take_over: bool,
}

/// The outcome of a registration.
#[derive(Debug, Clone)]
pub struct Registered {
    pub account: Account,
    /// The account that lost the mobile's login role (R9).
    pub took_over_from: Option<String>,
}

impl Accounts {
    /// The app a registration page was opened for: the client id of the live
    /// authorization flow `flow_id`, if there is one (the page names the app).
    pub async fn flow_client(&self, tenant: &str, flow_id: &str) -> Result<Option<String>> {
        let flow = crate::grant::request::load_flow(&self.store, tenant, flow_id, self.clock.now()).await?;
        Ok(flow.map(|f| f.request.client_id))
    }

    /// Checks a mobile number against the tenant's ranges (R10).
    fn mobile_allowed(settings: &TenantSettings, mobile: &str) -> Result<()> {
        if settings.registration.mobile_allowed(mobile) {
            Ok(())
        } else {
            Err(Error::denied("mobile_range_not_allowed"))
        }
    }

    /// Sends a registration code to a mobile or email.
    pub async fn send_register_code(
        &self,
        tenant: &str,
        settings: &TenantSettings,
        to: &Destination,
        ip: &str,
        locale: &str,
    ) -> Result<Sent> {
        if !settings.registration.enabled {
            return Err(Error::denied("registration_closed"));
        }
        let address = match to.channel {
            crate::code::Channel::Email => parse_email(&to.address)?,
            _ => {
                let m = parse_phone(&to.address)?;
                Self::mobile_allowed(settings, &m)?;
                m
            }
        };
        self.codes
            .send(tenant, &settings.codes, Purpose::Register, &Destination { address, ..to.clone() }, ip, locale)
            .await
    }

    /// Registers an account. Checks the code first (R36), then everything it can
    /// before using the code up.
    pub async fn register(
        &self,
        tenant: &str,
        settings: &TenantSettings,
        facts: &Facts,
        reg: Registration,
    ) -> Result<Registered> {
        if !settings.registration.enabled {
            return Err(Error::denied("registration_closed"));
        }
        let (name, mobile, email) = match &reg.by {
            RegisterBy::Mobile { mobile } => (None, Some(parse_phone(mobile)?), None),
            RegisterBy::Email { email } => (None, None, Some(parse_email(email)?)),
            RegisterBy::Name { name, mobile } => (Some(parse_name(name)?), Some(parse_phone(mobile)?), None),
        };
        if let Some(m) = &mobile {
            Self::mobile_allowed(settings, m)?;
        }
        policy::check(&settings.password, &reg.password, name.as_deref())?;
        // The code before anything that depends on who is registered (R36): without
        // the code, a taken identifier and a free one get the same `code_invalid`.
        // Not used up yet, so a refusal below leaves it for the next try (R9).
        let code_address = mobile.clone().or_else(|| email.clone()).unwrap_or_default();
        self.codes.check(tenant, &settings.codes, Purpose::Register, &code_address, &reg.code).await?;
        if let Some(n) = &name
            && self.find_login(tenant, &Identifier::Name(n.clone())).await?.is_some()
        {
            return Err(Error::IdentifierTaken(IdentifierKind::AccountName));
        }
        if let Some(e) = &email
            && self.store.get::<index::IdentifierIndex>(tenant, &format!("email:{e}")).await?.is_some()
        {
            return Err(Error::IdentifierTaken(IdentifierKind::Email));
        }
        // The mobile: who holds its login role, and how many accounts it is bound to.
        let holder = match &mobile {
            Some(m) => {
                self.store.get::<index::IdentifierIndex>(tenant, &format!("phone:{m}")).await?.map(|ix| ix.account_id)
            }
            None => None,
        };
        let by_mobile = matches!(reg.by, RegisterBy::Mobile { .. });
        let take_over = holder.is_some() && by_mobile;
        if take_over && !(reg.take_over && settings.registration.allow_number_takeover) {
            return Err(Error::IdentifierTaken(IdentifierKind::Mobile));
        }
        let cap = settings.registration.max_accounts_per_mobile;
        if let Some(m) = &mobile
            && !take_over
            && self.bound_to(tenant, Kind::Mobile, m).await?.len() >= cap
        {
            return Err(Error::denied("too_many_accounts_for_mobile"));
        }
        // The tenant's plugins (W1): registration rules, then password rules.
        let accounts_on_mobile = match &mobile {
            Some(m) => self.bound_to(tenant, Kind::Mobile, m).await?.len() as u32,
            None => 0,
        };
        let method = match reg.by {
            RegisterBy::Mobile { .. } => "mobile",
            RegisterBy::Email { .. } => "email",
            RegisterBy::Name { .. } => "name",
        };
        let input = RegistrationInput {
            method: method.into(),
            account_name: name.clone(),
            mobile: mobile.clone(),
            email: email.clone(),
            accounts_on_mobile,
        };
        self.policy.registration(tenant, facts, &input).await.into_result()?;
        self.policy
            .password(tenant, facts, &PasswordInput { password: reg.password.clone(), account_name: name.clone() })
            .await
            .into_result()?;
        self.codes.verify(tenant, &settings.codes, Purpose::Register, &code_address, &reg.code).await?;
        let phc = self.passwords.hash(&reg.password).await?;

        let mut bindings = Vec::new();
        if let Some(e) = email {
            bindings.push(Binding { kind: Kind::Email, value: e, verified: true, roles: Roles::ALL });
        }
        if let Some(m) = mobile.clone() {
            // R3: the security phone also signs in when nobody else uses the number.
            let free = holder.is_none() && self.bound_to(tenant, Kind::Mobile, &m).await?.is_empty();
            let roles = if by_mobile || free { Roles::ALL } else { Roles::SECURITY };
            bindings.push(Binding { kind: Kind::Mobile, value: m, verified: true, roles });
        }
        let account = self.blank(name, bindings, phc);
        let previous = if take_over { holder } else { None };
        self.store
            .transaction(TREES, async |tx| {
                if let (Some(old_id), Some(m)) = (&previous, &mobile) {
                    let Some(mut old) = tx.get::<Account>(tenant, old_id).await? else {
                        return abort(Error::NotFound(Resource::Account));
                    };
                    for b in old.bindings.iter().filter(|b| b.kind == Kind::Mobile && &b.value == m) {
                        index::unbind(tx, tenant, old_id, b).await?;
                    }
                    old.bindings.retain(|b| !(b.kind == Kind::Mobile && &b.value == m));
                    old.pending_notices
                        .push(Notice::MobileReassigned { mobile: crate::account::mask(Kind::Mobile, m) });
                    tx.put(tenant, old_id, &old).await?;
                }
                if let Some(m) = &mobile
                    && previous.is_none()
                    && index::bound_count(tx, tenant, Kind::Mobile, m).await? >= cap
                {
                    return abort(Error::denied("too_many_accounts_for_mobile"));
                }
                if let Some(n) = &account.name {
                    index::claim_login(tx, tenant, &Identifier::Name(n.clone()), &account.id).await?;
                }
                for b in &account.bindings {
                    index::bind(tx, tenant, &account.id, b).await?;
                }
                tx.put(tenant, &account.id, &account).await
            })
            .await?;
        if let Some(old_id) = &previous {
            // The old holder's apps may have signed in with the number (R9, issue 10
            // item 3): their tokens end with it.
            let why = account_families::Why::MobileTakenOver;
            account_families::revoke_all_for_account(&self.store, tenant, old_id, why, self.clock.now()).await?;
        }
        self.store.commit().await?;
        Ok(Registered { account, took_over_from: previous })
    }
}
