//! The merge of a tenant's plugin chain, table by table (W1 to W6): deny wins and
//! stops the chain, the first requirement is kept, a plugin only sees the hooks it
//! declares, claims merge in order with later plugins overriding, a failing claims
//! plugin adds nothing and is reported, a failure of any hook denies.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Map, Value, json};

use super::*;
use crate::policy::{Manifest, Requirement};

/// A scripted plugin: one answer for every decision hook, one for claims.
struct Scripted {
    manifest: Manifest,
    decision: Decision,
    submission: SubmissionDecision,
    claims: Result<Claims, String>,
    calls: AtomicUsize,
    configs: Mutex<Vec<String>>,
}

impl Scripted {
    fn called(&self, call: &Call<'_>) {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.configs.lock().unwrap().push(call.config.to_string());
    }
    fn answer(&self, call: &Call<'_>) -> Decision {
        self.called(call);
        self.decision.clone()
    }
}

impl Plugin for Scripted {
    fn manifest(&self) -> &Manifest {
        &self.manifest
    }
    fn registration(&self, call: &Call<'_>, _: &RegistrationInput) -> Decision {
        self.answer(call)
    }
    fn password(&self, call: &Call<'_>, _: &PasswordInput) -> Decision {
        self.answer(call)
    }
    fn developer_submission(&self, call: &Call<'_>, _: &SubmissionInput) -> SubmissionDecision {
        self.called(call);
        self.submission.clone()
    }
    fn device_binding(&self, call: &Call<'_>, _: &DeviceBindingInput) -> Decision {
        self.answer(call)
    }
    fn sign_in(&self, call: &Call<'_>, _: &SignInInput) -> Decision {
        self.answer(call)
    }
    fn token_claims(&self, call: &Call<'_>, _: &ClaimsInput) -> Result<Claims, String> {
        self.called(call);
        self.claims.clone()
    }
    fn account_deletion(&self, call: &Call<'_>, _: &DeletionInput) -> Decision {
        self.answer(call)
    }
}

fn plugin(name: &str, hooks: &[Hook], decision: Decision) -> Arc<Scripted> {
    Arc::new(Scripted {
        manifest: Manifest { name: name.into(), version: "1".into(), hooks: hooks.to_vec() },
        decision,
        submission: SubmissionDecision::Accept,
        claims: Ok(Claims::default()),
        calls: AtomicUsize::new(0),
        configs: Mutex::new(Vec::new()),
    })
}

fn chain(plugins: &[Arc<Scripted>]) -> Chain {
    let links = plugins
        .iter()
        .map(|p| Link { plugin: p.clone() as Arc<dyn Plugin>, config: format!("config of {}", p.manifest.name) })
        .collect();
    Chain { links }
}

fn calls(p: &Scripted) -> usize {
    p.calls.load(Ordering::SeqCst)
}

const ALLOW: Decision = Decision::Allow;

fn deny(reason: &str) -> Decision {
    Decision::deny(reason, "no")
}

fn require(r: Requirement) -> Decision {
    Decision::Require { requirement: r }
}

/// Every decision hook, run on a chain, as `(hook, run)`.
type Run = fn(&Chain) -> Decision;
fn decision_hooks() -> Vec<(Hook, Run)> {
    vec![
        (Hook::Registration, |c| c.registration("t", &Facts::default(), 1, &RegistrationInput::default())),
        (Hook::Password, |c| c.password("t", &Facts::default(), 1, &PasswordInput::default())),
        (Hook::DeviceBinding, |c| c.device_binding("t", &Facts::default(), 1, &DeviceBindingInput::default())),
        (Hook::SignIn, |c| c.sign_in("t", &Facts::default(), 1, &SignInInput::default())),
        (Hook::AccountDeletion, |c| c.account_deletion("t", &Facts::default(), 1, &DeletionInput::default())),
    ]
}

#[test]
fn w1_decisions_merge_deny_first_then_the_first_requirement_then_allow() {
    use Requirement::{Captcha, SecondFactor};
    // (the plugins' answers in chain order) -> (merged decision, how many plugins ran)
    let table: Vec<(Vec<Decision>, Decision, usize)> = vec![
        (vec![], ALLOW, 0),
        (vec![ALLOW], ALLOW, 1),
        (vec![ALLOW, ALLOW, ALLOW], ALLOW, 3),
        (vec![deny("a")], deny("a"), 1),
        (vec![ALLOW, deny("b")], deny("b"), 2),
        // the first deny wins and the rest never run
        (vec![deny("a"), deny("b"), ALLOW], deny("a"), 1),
        (vec![ALLOW, deny("b"), deny("c")], deny("b"), 2),
        // a requirement is kept while the chain runs on; a later deny still wins
        (vec![require(Captcha)], require(Captcha), 1),
        (vec![require(Captcha), ALLOW], require(Captcha), 2),
        (vec![ALLOW, require(SecondFactor)], require(SecondFactor), 2),
        (vec![require(Captcha), deny("b")], deny("b"), 2),
        // the first requirement is the one asked for
        (vec![require(SecondFactor), require(Captcha)], require(SecondFactor), 2),
        (vec![require(Captcha), require(SecondFactor)], require(Captcha), 2),
        // a plugin failure is a policy_error denial: it never allows
        (vec![ALLOW, Decision::policy_error("trap"), ALLOW], Decision::policy_error("trap"), 2),
        (vec![require(Captcha), Decision::policy_error("trap")], Decision::policy_error("trap"), 2),
    ];
    for (hook, run) in decision_hooks() {
        for (answers, want, ran) in &table {
            let plugins: Vec<_> =
                answers.iter().enumerate().map(|(i, d)| plugin(&format!("p{i}"), &[hook], d.clone())).collect();
            let got = run(&chain(&plugins));
            assert_eq!(&got, want, "{hook:?} {answers:?}");
            let total: usize = plugins.iter().map(|p| calls(p)).sum();
            assert_eq!(total, *ran, "{hook:?} {answers:?}: plugins run");
        }
    }
}

#[test]
fn w1_a_plugin_only_runs_for_the_hooks_it_declares_with_its_own_config() {
    for (hook, run) in decision_hooks() {
        let other = Hook::ALL.into_iter().find(|h| *h != hook).unwrap();
        let bystander = plugin("bystander", &[other], deny("never"));
        let guard = plugin("guard", &[other, hook], ALLOW);
        let got = run(&chain(&[bystander.clone(), guard.clone()]));
        assert_eq!(got, ALLOW, "{hook:?}: a plugin without the hook does not decide");
        assert_eq!((calls(&bystander), calls(&guard)), (0, 1), "{hook:?}");
        assert_eq!(*guard.configs.lock().unwrap(), vec!["config of guard".to_string()], "{hook:?}");
    }
}

#[test]
fn w1_the_first_submission_decision_that_is_not_accept_decides() {
    let accept = SubmissionDecision::Accept;
    let approve = SubmissionDecision::Approve;
    let reject = SubmissionDecision::Reject { reason: "r".into() };
    let deny = SubmissionDecision::Deny { reason: "d".into(), message: "m".into() };
    // (answers in chain order) -> (decision, plugins run)
    let table: Vec<(Vec<SubmissionDecision>, SubmissionDecision, usize)> = vec![
        (vec![], accept.clone(), 0),
        (vec![accept.clone(), accept.clone()], accept.clone(), 2),
        (vec![approve.clone(), deny.clone()], approve.clone(), 1),
        (vec![accept.clone(), reject.clone(), approve.clone()], reject.clone(), 2),
        (vec![accept.clone(), deny.clone(), approve.clone()], deny.clone(), 2),
    ];
    for (answers, want, ran) in table {
        let plugins: Vec<_> = answers
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let mut p = plugin(&format!("p{i}"), &[Hook::DeveloperSubmission], ALLOW);
                Arc::get_mut(&mut p).unwrap().submission = d.clone();
                p
            })
            .collect();
        let got = chain(&plugins).developer_submission("t", &Facts::default(), 1, &SubmissionInput::default());
        assert_eq!(got, want, "{answers:?}");
        assert_eq!(plugins.iter().map(|p| calls(p)).sum::<usize>(), ran, "{answers:?}");
    }
}

fn map(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn claims_plugin(name: &str, claims: Result<Claims, String>) -> Arc<Scripted> {
    let mut p = plugin(name, &[Hook::TokenClaims], ALLOW);
    Arc::get_mut(&mut p).unwrap().claims = claims;
    p
}

#[test]
fn w3_claims_merge_in_chain_order_and_a_failing_plugin_adds_nothing() {
    let first = Claims {
        id_token: map(json!({ "team": "a", "tier": 1 })),
        access_token: map(json!({ "scope_extra": "x" })),
        userinfo: map(json!({ "nickname": "first" })),
    };
    let second = Claims {
        id_token: map(json!({ "tier": 2, "region": "eu" })),
        access_token: Map::new(),
        userinfo: map(json!({ "nickname": "second" })),
    };
    // (plugins in chain order) -> (merged claims, failures reported)
    let cases: Vec<(Vec<Arc<Scripted>>, Claims, Vec<String>)> = vec![
        (vec![], Claims::default(), vec![]),
        (vec![claims_plugin("one", Ok(first.clone()))], first.clone(), vec![]),
        (
            vec![claims_plugin("one", Ok(first.clone())), claims_plugin("two", Ok(second.clone()))],
            Claims {
                id_token: map(json!({ "team": "a", "tier": 2, "region": "eu" })),
                access_token: map(json!({ "scope_extra": "x" })),
                userinfo: map(json!({ "nickname": "second" })),
            },
            vec![],
        ),
        (
            vec![
                claims_plugin("one", Ok(first.clone())),
                claims_plugin("broken", Err("trap".into())),
                claims_plugin("two", Ok(second.clone())),
            ],
            Claims {
                id_token: map(json!({ "team": "a", "tier": 2, "region": "eu" })),
                access_token: map(json!({ "scope_extra": "x" })),
                userinfo: map(json!({ "nickname": "second" })),
            },
            vec!["broken: trap".to_string()],
        ),
        (vec![claims_plugin("broken", Err("timeout".into()))], Claims::default(), vec!["broken: timeout".into()]),
        (
            vec![plugin("no-claims-hook", &[Hook::SignIn], ALLOW), claims_plugin("one", Ok(first.clone()))],
            first.clone(),
            vec![],
        ),
    ];
    for (plugins, want, failures) in cases {
        let names: Vec<_> = plugins.iter().map(|p| p.manifest.name.clone()).collect();
        let (got, failed) = chain(&plugins).token_claims("t", &Facts::default(), 1, &ClaimsInput::default());
        assert_eq!(got, want, "{names:?}");
        assert_eq!(failed, failures, "{names:?}");
    }
}
