//! A tenant's ordered plugin chain: the first deny wins, a requirement is collected,
//! claims merge in order (later plugins add to and override earlier ones).

use std::sync::Arc;

use crate::policy::{
    Call, Claims, ClaimsInput, Decision, DeletionInput, DeviceBindingInput, Facts, Hook, PasswordInput, Plugin,
    RegistrationInput, SignInInput, SubmissionDecision, SubmissionInput,
};

/// One plugin of the chain with its configuration.
#[derive(Clone)]
pub struct Link {
    pub plugin: Arc<dyn Plugin>,
    pub config: String,
}

/// The chain of one tenant, swapped as a whole when plugins change.
#[derive(Clone, Default)]
pub struct Chain {
    pub links: Vec<Link>,
}

impl Chain {
    fn run(
        &self,
        tenant: &str,
        facts: &Facts,
        now: u64,
        hook: Hook,
        f: impl Fn(&dyn Plugin, &Call<'_>) -> Decision,
    ) -> Decision {
        let mut required = None;
        for link in self.links.iter().filter(|l| l.plugin.manifest().hooks.contains(&hook)) {
            let call = Call { tenant, config: &link.config, facts, now };
            match f(link.plugin.as_ref(), &call) {
                Decision::Allow => {}
                deny @ Decision::Deny { .. } => return deny,
                Decision::Require { requirement } => required = required.or(Some(requirement)),
            }
        }
        required.map(|requirement| Decision::Require { requirement }).unwrap_or(Decision::Allow)
    }

    pub fn registration(&self, tenant: &str, facts: &Facts, now: u64, input: &RegistrationInput) -> Decision {
        self.run(tenant, facts, now, Hook::Registration, |p, c| p.registration(c, input))
    }

    pub fn password(&self, tenant: &str, facts: &Facts, now: u64, input: &PasswordInput) -> Decision {
        self.run(tenant, facts, now, Hook::Password, |p, c| p.password(c, input))
    }

    pub fn device_binding(&self, tenant: &str, facts: &Facts, now: u64, input: &DeviceBindingInput) -> Decision {
        self.run(tenant, facts, now, Hook::DeviceBinding, |p, c| p.device_binding(c, input))
    }

    pub fn sign_in(&self, tenant: &str, facts: &Facts, now: u64, input: &SignInInput) -> Decision {
        self.run(tenant, facts, now, Hook::SignIn, |p, c| p.sign_in(c, input))
    }

    pub fn account_deletion(&self, tenant: &str, facts: &Facts, now: u64, input: &DeletionInput) -> Decision {
        self.run(tenant, facts, now, Hook::AccountDeletion, |p, c| p.account_deletion(c, input))
    }

    /// The first plugin that denies, approves or rejects decides; else `Accept`.
    pub fn developer_submission(
        &self,
        tenant: &str,
        facts: &Facts,
        now: u64,
        input: &SubmissionInput,
    ) -> SubmissionDecision {
        for link in self.links.iter().filter(|l| l.plugin.manifest().hooks.contains(&Hook::DeveloperSubmission)) {
            let call = Call { tenant, config: &link.config, facts, now };
            match link.plugin.developer_submission(&call, input) {
                SubmissionDecision::Accept => {}
                other => return other,
            }
        }
        SubmissionDecision::Accept
    }

    /// Claims merged in chain order. A failing plugin adds nothing; its failure is
    /// returned alongside so the caller can audit it.
    pub fn token_claims(&self, tenant: &str, facts: &Facts, now: u64, input: &ClaimsInput) -> (Claims, Vec<String>) {
        let mut merged = Claims::default();
        let mut failures = Vec::new();
        for link in self.links.iter().filter(|l| l.plugin.manifest().hooks.contains(&Hook::TokenClaims)) {
            let call = Call { tenant, config: &link.config, facts, now };
            match link.plugin.token_claims(&call, input) {
                Ok(c) => {
                    merged.id_token.extend(c.id_token);
                    merged.access_token.extend(c.access_token);
                    merged.userinfo.extend(c.userinfo);
                }
                Err(e) => failures.push(format!("{}: {e}", link.plugin.manifest().name)),
            }
        }
        (merged, failures)
    }
}

#[cfg(test)]
mod tests;
