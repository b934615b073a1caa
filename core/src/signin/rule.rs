//! What a passed first factor leads to (R20, W1): the tenant plugin's sign-in
//! decision, then whether a second factor is owed (`Need`) and whether the account
//! can give one. Pure, so the whole table is tested here.

use crate::error::Result;
use crate::policy::{Decision, Requirement};
use crate::signin::Need;

/// The next state of a sign-in after its first factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A tenant plugin refused the sign-in (W1).
    Denied { reason: String, message: String },
    /// A second factor is required and the account has none to give.
    NoSecondFactor,
    /// The sign-in owes a CAPTCHA (a plugin asked) and/or a second factor.
    Owes { captcha: bool, second_factor: bool, may_remember: bool },
    /// Nothing left to prove: start the session.
    Complete,
}

/// What follows a first factor. `need` carries everything but the plugin's wish,
/// which `plugin` adds; `remember_allowed` is the tenant's "remember this device"
/// setting (days > 0); `has_factor` (a store read) is asked only when a second
/// factor is owed.
pub async fn after_first_factor(
    plugin: Decision,
    mut need: Need,
    remember_allowed: bool,
    has_factor: impl AsyncFnOnce() -> Result<bool>,
) -> Result<Outcome> {
    let captcha = match plugin {
        Decision::Allow => false,
        Decision::Require { requirement: Requirement::SecondFactor } => {
            need.plugin_requires = true;
            false
        }
        Decision::Require { requirement: Requirement::Captcha } => true,
        Decision::Deny { reason, message } => return Ok(Outcome::Denied { reason, message }),
    };
    let mut second_factor = need.second_factor();
    if second_factor && !has_factor().await? {
        // An app's acr_values is a wish (it gets acr 1); the person's, the tenant's
        // or a plugin's requirement is not.
        let own = (need.two_step_on || need.tenant_requires) && !need.remembered;
        if need.app_requires && !need.plugin_requires && !own {
            second_factor = false;
        } else {
            return Ok(Outcome::NoSecondFactor);
        }
    }
    if !second_factor && !captcha {
        return Ok(Outcome::Complete);
    }
    let may_remember = remember_allowed && !need.plugin_requires && !need.app_requires;
    Ok(Outcome::Owes { captcha, second_factor, may_remember })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALLOW: u8 = 0;
    const FACTOR: u8 = 1;
    const CAPTCHA: u8 = 2;
    const DENY: u8 = 3;

    fn plugin(p: u8) -> Decision {
        match p {
            ALLOW => Decision::Allow,
            FACTOR => Decision::Require { requirement: Requirement::SecondFactor },
            CAPTCHA => Decision::Require { requirement: Requirement::Captcha },
            _ => Decision::deny("blocked", "not today"),
        }
    }

    fn owes(captcha: bool, second_factor: bool, may_remember: bool) -> Outcome {
        Outcome::Owes { captcha, second_factor, may_remember }
    }

    /// (plugin, two_step_on, tenant_requires, app_requires, remembered, already_two,
    /// has_factor, remember_allowed) -> outcome.
    #[tokio::test]
    #[allow(clippy::type_complexity)]
    async fn r20_w1_what_a_first_factor_leads_to() {
        let complete = Outcome::Complete;
        let none = Outcome::NoSecondFactor;
        let denied = Outcome::Denied { reason: "blocked".into(), message: "not today".into() };
        let table: &[((u8, bool, bool, bool, bool, bool, bool, bool), Outcome)] = &[
            // Nothing asked: straight to the session, factors or not.
            ((ALLOW, false, false, false, false, false, false, true), complete.clone()),
            ((ALLOW, false, false, false, false, false, true, true), complete.clone()),
            // A plugin's denial wins over everything.
            ((DENY, true, true, true, false, false, true, true), denied.clone()),
            ((DENY, false, false, false, false, true, false, false), denied),
            // The person's 2-step: owed, may remember; skipped when remembered.
            ((ALLOW, true, false, false, false, false, true, true), owes(false, true, true)),
            ((ALLOW, true, false, false, false, false, true, false), owes(false, true, false)),
            ((ALLOW, true, false, false, true, false, true, true), complete.clone()),
            ((ALLOW, true, false, false, false, false, false, true), none.clone()),
            // The tenant's requirement: the same.
            ((ALLOW, false, true, false, false, false, true, true), owes(false, true, true)),
            ((ALLOW, false, true, false, true, false, false, true), complete.clone()),
            ((ALLOW, false, true, false, false, false, false, true), none.clone()),
            // A passkey already counts as two.
            ((ALLOW, true, true, true, false, true, false, true), complete.clone()),
            ((FACTOR, false, false, false, false, true, false, true), complete.clone()),
            // A plugin's second factor: remembered devices do not skip it, no remembering,
            // and without a factor the sign-in is refused.
            ((FACTOR, false, false, false, true, false, true, true), owes(false, true, false)),
            ((FACTOR, false, false, false, false, false, false, true), none.clone()),
            ((FACTOR, false, false, true, false, false, false, true), none.clone()),
            // An app's acr 2: owed, no remembering; without a factor it is a wish (acr 1)...
            ((ALLOW, false, false, true, true, false, true, true), owes(false, true, false)),
            ((ALLOW, false, false, true, false, false, false, true), complete.clone()),
            // ...unless the person's or tenant's own requirement stands (not remembered).
            ((ALLOW, true, false, true, false, false, false, true), none.clone()),
            ((ALLOW, false, true, true, false, false, false, true), none),
            ((ALLOW, true, false, true, true, false, false, true), complete.clone()),
            // A plugin's CAPTCHA, alone or before a second factor.
            ((CAPTCHA, false, false, false, false, false, false, true), owes(true, false, true)),
            ((CAPTCHA, true, false, false, false, false, true, true), owes(true, true, true)),
            ((CAPTCHA, false, false, true, false, false, false, true), owes(true, false, false)),
            ((CAPTCHA, true, false, false, true, false, false, false), owes(true, false, false)),
        ];
        for (i, ((p, two_step_on, tenant_requires, app_requires, remembered, already_two, has, days), want)) in
            table.iter().enumerate()
        {
            let need = Need {
                two_step_on: *two_step_on,
                tenant_requires: *tenant_requires,
                plugin_requires: false,
                app_requires: *app_requires,
                remembered: *remembered,
                already_two: *already_two,
            };
            let got = after_first_factor(plugin(*p), need, *days, async || Ok(*has)).await.unwrap();
            assert_eq!(&got, want, "row {i}");
        }
    }

    #[tokio::test]
    async fn r20_the_enrolled_factors_are_read_only_when_a_second_factor_is_owed() {
        let asked = std::cell::Cell::new(false);
        let got = after_first_factor(Decision::Allow, Need::default(), true, async || {
            asked.set(true);
            Ok(true)
        })
        .await;
        assert_eq!(got.unwrap(), Outcome::Complete);
        assert!(!asked.get());
    }
}
