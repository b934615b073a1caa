//! Test plugin: refuses sign-ins by configured methods, requires a second factor for
//! new devices or a CAPTCHA for some methods when asked, and adds a claim to every token.

use latchkey_sdk::{Claims, Context, Decision, Policy, Requirement, SignIn, TokenClaimsInput, config, deny, policy};
use serde::Deserialize;

#[derive(Deserialize, Default)]
#[serde(default)]
struct Config {
    deny_methods: Vec<String>,
    second_factor_on_new_device: bool,
    captcha_methods: Vec<String>,
    claim: Option<String>,
}

struct Gate;

#[policy]
impl Policy for Gate {
    const NAME: &'static str = "sign-in-gate";

    fn on_sign_in(ctx: Context, s: SignIn) -> Decision {
        let c = config::<Config>(&ctx).unwrap_or_default();
        if c.deny_methods.contains(&s.method) {
            return deny("sign_in_method_refused", "This tenant does not allow this way of signing in.");
        }
        if c.second_factor_on_new_device && s.new_device {
            return Decision::Require(Requirement::SecondFactor);
        }
        if c.captcha_methods.contains(&s.method) {
            return Decision::Require(Requirement::Captcha);
        }
        Decision::Allow
    }

    fn on_token_claims(ctx: Context, t: TokenClaimsInput) -> Claims {
        let c = config::<Config>(&ctx).unwrap_or_default();
        let value = c.claim.unwrap_or_else(|| "gate".into());
        let obj = format!("{{\"tenant_tier\":\"{value}\",\"scopes_seen\":{}}}", t.scopes.len());
        Claims { id_token: obj.clone(), access_token: obj.clone(), userinfo: obj }
    }
}
