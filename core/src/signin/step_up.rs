//! Step-up (P4): an app asked for `acr` 2 and the browser's session has one factor.
//! The signed-in person owes a second factor on a journey, like any other;
//! with none set up, the flow goes on with what the session has.

use crate::account::second_factor::available;
use crate::error::Result;
use crate::grant::request;
use crate::session::Session;
use crate::signin::journey::{self, Journey, Offer, State};
use crate::signin::service::SignIns;

/// What a step-up leads to.
#[derive(Debug)]
pub enum StepUp {
    /// No second factor to give: the flow is marked so and goes on (acr 1).
    Skipped,
    /// The browser keeps `token` (the journey) and goes to the second step.
    Owes { token: String },
}

impl SignIns {
    /// Steps the `session` up to two factors for flow `flow_id`, going to `next` after; durable.
    pub async fn step_up(&self, tenant: &str, flow_id: &str, session: &Session, next: String) -> Result<StepUp> {
        let account = self.accounts.get(tenant, &session.account_id).await?;
        if available(&account, &self.enrolled(tenant, &account.id).await?, &session.amr).is_empty() {
            request::skip_step_up(&self.store, tenant, flow_id).await?;
            self.store.commit().await?;
            return Ok(StepUp::Skipped);
        }
        let journey = Journey {
            account_id: Some(account.id.clone()),
            amr: session.amr.clone(),
            next,
            flow: Some(flow_id.to_string()),
            failures: 0,
            expires_at: self.clock.now() + journey::OWED_LIFETIME,
            state: State::OwesSecondFactor { offer: Offer { may_remember: false }, password_expired: false },
        };
        Ok(StepUp::Owes { token: self.owe(tenant, &journey, None).await? })
    }
}
