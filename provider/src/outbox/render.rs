//! Message texts per locale (English, Simplified Chinese): a subject for email and a
//! body for every channel.

use latchkey_core::code::{Message, MessageKind, Notice, Purpose};

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    pub subject: String,
    pub body: String,
}

fn zh(locale: &str) -> bool {
    locale.to_ascii_lowercase().starts_with("zh")
}

fn purpose_text(p: Purpose, zh: bool) -> &'static str {
    match (p, zh) {
        (Purpose::Register, false) => "to finish registering",
        (Purpose::SignIn, false) => "to sign in",
        (Purpose::Recover, false) => "to reset your password",
        (Purpose::VerifyOldChannel, false) => "to confirm it is you before changing this contact",
        (Purpose::VerifyNewChannel, false) => "to confirm this new contact",
        (Purpose::VerifyIdentity, false) => "to confirm it is you",
        (Purpose::SecondFactor, false) => "to finish signing in (2-step verification)",
        (Purpose::Register, true) => "用于完成注册",
        (Purpose::SignIn, true) => "用于登录",
        (Purpose::Recover, true) => "用于重置密码",
        (Purpose::VerifyOldChannel, true) => "用于更换前验证身份",
        (Purpose::VerifyNewChannel, true) => "用于验证新的联系方式",
        (Purpose::VerifyIdentity, true) => "用于验证身份",
        (Purpose::SecondFactor, true) => "用于登录二次验证",
    }
}

/// Renders a message in its locale.
pub fn render(m: &Message) -> Text {
    let z = zh(&m.locale);
    let (subject, body) = match (&m.kind, z) {
        (MessageKind::Code { purpose, code, minutes }, false) => (
            format!("Your verification code: {code}"),
            format!(
                "Your verification code is {code}, {}. It is valid for {minutes} minutes. Do not share it with anyone.",
                purpose_text(*purpose, false)
            ),
        ),
        (MessageKind::Code { purpose, code, minutes }, true) => (
            format!("您的验证码：{code}"),
            format!("您的验证码为 {code}，{}，{minutes} 分钟内有效。请勿泄露给他人。", purpose_text(*purpose, true)),
        ),
        (MessageKind::Link { purpose, url, hours }, false) => (
            "Confirm with this link".to_string(),
            format!("Open this link {} (valid for {hours} hours): {url}", purpose_text(*purpose, false)),
        ),
        (MessageKind::Link { purpose, url, hours }, true) => (
            "请通过链接确认".to_string(),
            format!("请打开以下链接{}（{hours} 小时内有效）：{url}", purpose_text(*purpose, true)),
        ),
        (MessageKind::AccountNames { names }, false) => {
            ("Your account names".to_string(), format!("The accounts bound to this number: {}.", names.join(", ")))
        }
        (MessageKind::AccountNames { names }, true) => {
            ("您的账号名".to_string(), format!("此手机号绑定的账号：{}。", names.join("、")))
        }
        (MessageKind::Notice(n), z) => notice(n, z),
    };
    Text { subject, body }
}

fn notice(n: &Notice, zh: bool) -> (String, String) {
    let (s, b) = match (n, zh) {
        (Notice::PasswordChanged, false) => (
            "Your password was changed",
            "Your password was changed. If this was not you, recover your account now.".to_string(),
        ),
        (Notice::PasswordChanged, true) => {
            ("您的密码已修改", "您的账号密码已修改。如非本人操作，请立即找回账号。".to_string())
        }
        (Notice::EmailChanged { new_email }, false) => (
            "Your email was changed",
            format!("Your account email was changed to {new_email}. If this was not you, recover your account now."),
        ),
        (Notice::EmailChanged { new_email }, true) => {
            ("您的邮箱已更换", format!("您的账号邮箱已更换为 {new_email}。如非本人操作，请立即找回账号。"))
        }
        (Notice::MobileChanged { new_mobile }, false) => (
            "Your mobile number was changed",
            format!(
                "Your account mobile number was changed to {new_mobile}. If this was not you, recover your account now."
            ),
        ),
        (Notice::MobileChanged { new_mobile }, true) => {
            ("您的手机号已更换", format!("您的账号手机号已更换为 {new_mobile}。如非本人操作，请立即找回账号。"))
        }
        (Notice::NewDeviceSignIn { user_agent, ip }, false) => (
            "New sign-in to your account",
            format!(
                "Your account was signed in from a new device ({user_agent}, {ip}). If this was not you, change your password."
            ),
        ),
        (Notice::NewDeviceSignIn { user_agent, ip }, true) => {
            ("新设备登录提醒", format!("您的账号在新设备上登录（{user_agent}，{ip}）。如非本人操作，请修改密码。"))
        }
        (Notice::MobileReassigned { mobile }, false) => (
            "Mobile number moved to a new owner",
            format!("The mobile number {mobile} now belongs to someone else and no longer signs you in."),
        ),
        (Notice::MobileReassigned { mobile }, true) => {
            ("手机号已被新机主使用", format!("手机号 {mobile} 已由新机主使用，不能再用于登录您的账号。"))
        }
        (Notice::TwoStepEnabled, false) => (
            "2-step verification is on",
            "2-step verification was turned on for your account. If this was not you, recover your account now."
                .to_string(),
        ),
        (Notice::TwoStepEnabled, true) => {
            ("已开启两步验证", "您的账号已开启两步验证。如非本人操作，请立即找回账号。".to_string())
        }
        (Notice::TwoStepDisabled, false) => (
            "2-step verification is off",
            "2-step verification was turned off for your account. If this was not you, change your password now."
                .to_string(),
        ),
        (Notice::TwoStepDisabled, true) => {
            ("已关闭两步验证", "您的账号已关闭两步验证。如非本人操作，请立即修改密码。".to_string())
        }
        (Notice::PasskeyAdded { label }, false) => (
            "A passkey was added",
            format!(
                "A passkey ({label}) was added to your account. If this was not you, remove it and change your password."
            ),
        ),
        (Notice::PasskeyAdded { label }, true) => {
            ("已添加通行密钥", format!("您的账号添加了通行密钥（{label}）。如非本人操作，请删除它并修改密码。"))
        }
        (Notice::RecoveryCodeUsed { remaining }, false) => (
            "A recovery code was used",
            format!(
                "A recovery code was used to sign in to your account; {remaining} remain. If this was not you, change your password now."
            ),
        ),
        (Notice::RecoveryCodeUsed { remaining }, true) => (
            "恢复码已使用",
            format!("有人使用恢复码登录了您的账号，剩余 {remaining} 个。如非本人操作，请立即修改密码。"),
        ),
        (Notice::TotpEnabled, false) => (
            "An authenticator app was set up",
            "An authenticator app was set up for your account. If this was not you, remove it and change your password now."
                .to_string(),
        ),
        (Notice::TotpEnabled, true) => {
            ("已设置身份验证器", "您的账号设置了身份验证器应用。如非本人操作，请删除它并立即修改密码。".to_string())
        }
        (Notice::RecoveryCodesGenerated { count }, false) => (
            "New recovery codes were made",
            format!(
                "{count} new recovery codes were made for your account; the old ones no longer work. If this was not you, change your password now."
            ),
        ),
        (Notice::RecoveryCodesGenerated { count }, true) => (
            "已生成新的恢复码",
            format!("您的账号生成了 {count} 个新的恢复码，旧的恢复码已失效。如非本人操作，请立即修改密码。"),
        ),
        (Notice::UpstreamLinked { upstream }, false) => (
            "A third-party account was linked",
            format!(
                "A {upstream} account was linked to your account and can now sign you in. If this was not you, unlink it and change your password now."
            ),
        ),
        (Notice::UpstreamLinked { upstream }, true) => (
            "已绑定第三方账号",
            format!("您的账号绑定了 {upstream} 账号，现在可用它登录。如非本人操作，请解除绑定并立即修改密码。"),
        ),
    };
    (s.to_string(), b)
}
