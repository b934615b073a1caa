//! What stands between a first factor and a session (R19, R20): failure limits,
//! second factors and remembered devices, the journey record of an unfinished
//! sign-in (`journey`), and how strong the
//! result is (`amr`, `acr`; P4); the `SignIns` service runs the whole journey.

pub mod attempts;
pub mod federated;
pub mod federated_first;
#[cfg(test)]
mod federated_tests;
pub mod first_factor;
pub mod journey;
pub mod level;
#[cfg(test)]
mod machine_tests;
pub mod remembered;
pub mod rule;
pub mod second_step;
pub mod service;
pub mod step_up;

pub use federated::{FederatedPending, FederatedStep, Linked, NextPath};
pub use first_factor::FlowFacts;
pub use second_step::{Answered, SecondStep};
pub use service::{Browser, Completed, Finished, SignInStep, SignIns};

/// Why a second factor is asked for, given everything known after the first.
#[derive(Debug, Clone, Copy, Default)]
pub struct Need {
    /// The person turned 2-step verification on.
    pub two_step_on: bool,
    /// The tenant requires a second factor of everyone.
    pub tenant_requires: bool,
    /// A tenant plugin's sign-in hook asked for one (W1).
    pub plugin_requires: bool,
    /// The app asked for `acr` 2 (step-up).
    pub app_requires: bool,
    /// This browser is remembered for the account.
    pub remembered: bool,
    /// The first factor already counts as two (a passkey).
    pub already_two: bool,
}

impl Need {
    /// Whether to ask. A remembered device skips what the person or tenant asks
    /// for, never what an app or a plugin asks for on this sign-in.
    pub fn second_factor(&self) -> bool {
        if self.already_two {
            return false;
        }
        self.plugin_requires || self.app_requires || ((self.two_step_on || self.tenant_requires) && !self.remembered)
    }
}

#[cfg(test)]
mod tests {
    use super::Need;

    #[test]
    fn r20_when_a_second_factor_is_asked() {
        assert!(!Need::default().second_factor());
        assert!(Need { two_step_on: true, ..Default::default() }.second_factor());
        assert!(!Need { two_step_on: true, remembered: true, ..Default::default() }.second_factor());
        assert!(!Need { tenant_requires: true, remembered: true, ..Default::default() }.second_factor());
        assert!(Need { app_requires: true, remembered: true, ..Default::default() }.second_factor());
        assert!(Need { plugin_requires: true, remembered: true, ..Default::default() }.second_factor());
        assert!(!Need { plugin_requires: true, already_two: true, ..Default::default() }.second_factor());
    }
}
