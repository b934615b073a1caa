//! Page texts in English and Simplified Chinese, and choosing between them:
//! `ui_locales` first, then `Accept-Language`, then English.

use std::collections::BTreeMap;

/// A supported locale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    En,
    ZhCn,
}

impl Locale {
    pub fn tag(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::ZhCn => "zh-CN",
        }
    }

    fn from_tag(tag: &str) -> Option<Locale> {
        let t = tag.trim().to_ascii_lowercase();
        if t == "en" || t.starts_with("en-") {
            Some(Locale::En)
        } else if t == "zh" || t == "zh-cn" || t == "zh-hans" || t.starts_with("zh-hans-") || t == "zh-sg" {
            Some(Locale::ZhCn)
        } else {
            None
        }
    }

    /// Negotiates: the first supported of `ui_locales` (space-separated), else the
    /// best of `Accept-Language` by q-value, else English.
    pub fn negotiate(ui_locales: Option<&str>, accept_language: Option<&str>) -> Locale {
        if let Some(l) = ui_locales.into_iter().flat_map(|s| s.split(' ')).find_map(Locale::from_tag) {
            return l;
        }
        let mut best: Option<(f32, Locale)> = None;
        for part in accept_language.unwrap_or("").split(',') {
            let mut it = part.split(';');
            let tag = it.next().unwrap_or("");
            let q = it.find_map(|p| p.trim().strip_prefix("q=")).and_then(|q| q.parse::<f32>().ok()).unwrap_or(1.0);
            if let Some(l) = Locale::from_tag(tag)
                && q > 0.0
                && best.is_none_or(|(bq, _)| q > bq)
            {
                best = Some((q, l));
            }
        }
        best.map(|(_, l)| l).unwrap_or(Locale::En)
    }
}

const EN: &[(&str, &str)] = &[
    ("sign_in", "Sign in"),
    ("continue_to", "to continue to"),
    ("identifier", "Mobile, email, account name or account ID"),
    ("password", "Password"),
    ("bad_credentials", "The account or password is wrong."),
    ("consent_title", "Allow access?"),
    ("consent_asks", "asks to access your account:"),
    ("allow", "Allow"),
    ("deny", "Deny"),
    ("sign_out", "Sign out"),
    ("sign_out_confirm", "Sign out of every app of this account system?"),
    ("signed_out", "You have signed out."),
    ("signed_in", "You are signed in."),
    ("error", "Something is not right"),
    ("flow_expired", "This sign-in request has expired. Go back to the app and start again."),
    ("csrf", "The form expired. Please try again."),
    ("scope_openid", "Your account ID"),
    ("scope_profile", "Your account name"),
    ("scope_email", "Your email address"),
    ("scope_phone", "Your mobile number"),
    ("scope_offline_access", "Access while you are away"),
    ("scope_account", "Manage your account"),
    ("several_accounts", "This number or email is linked to several accounts: sign in with your account name."),
    ("code_wrong", "The code is wrong or has expired. Ask for a new one."),
    ("rate_limited", "Too many requests. Try again later"),
    ("invalid_mobile", "Enter a mobile number with its country code, e.g. +8613800138000."),
    ("code_sent_if_registered", "If this number is registered, a code is on its way."),
    ("code_sent", "A code is on its way."),
    ("mobile", "Mobile number"),
    ("email", "Email"),
    ("account_name", "Account name"),
    ("send_code", "Send code"),
    ("code", "Verification code"),
    ("use_password", "Sign in with a password"),
    ("use_sms", "Sign in with an SMS code"),
    ("register", "Create an account"),
    ("forgot_password", "Forgot password"),
    ("forgot_account", "Forgot account"),
    ("notice_title", "Before you continue"),
    ("password_old", "Your password has not been changed for a long time. We suggest changing it now."),
    ("change_password", "Change password"),
    ("continue", "Continue"),
];

const ZH_CN: &[(&str, &str)] = &[
    ("sign_in", "登录"),
    ("continue_to", "以继续使用"),
    ("identifier", "手机号、邮箱、账号名或账号 ID"),
    ("password", "密码"),
    ("bad_credentials", "账号或密码错误。"),
    ("consent_title", "是否允许访问？"),
    ("consent_asks", "请求访问您的账号："),
    ("allow", "允许"),
    ("deny", "拒绝"),
    ("sign_out", "退出登录"),
    ("sign_out_confirm", "要退出此账号体系下的所有应用吗？"),
    ("signed_out", "您已退出登录。"),
    ("signed_in", "您已登录。"),
    ("error", "出错了"),
    ("flow_expired", "此登录请求已过期，请返回应用重新开始。"),
    ("csrf", "表单已过期，请重试。"),
    ("scope_openid", "您的账号 ID"),
    ("scope_profile", "您的账号名"),
    ("scope_email", "您的邮箱地址"),
    ("scope_phone", "您的手机号"),
    ("scope_offline_access", "在您离开时继续访问"),
    ("scope_account", "管理您的账号"),
    ("several_accounts", "该手机号或邮箱绑定了多个账号，请使用账号名登录。"),
    ("code_wrong", "验证码错误或已过期，请重新获取。"),
    ("rate_limited", "请求过于频繁，请稍后再试"),
    ("invalid_mobile", "请输入带国家码的手机号，例如 +8613800138000。"),
    ("code_sent_if_registered", "如果该手机号已注册，验证码已发送。"),
    ("code_sent", "验证码已发送。"),
    ("mobile", "手机号"),
    ("email", "邮箱"),
    ("account_name", "账号名"),
    ("send_code", "获取验证码"),
    ("code", "验证码"),
    ("use_password", "使用密码登录"),
    ("use_sms", "使用短信验证码登录"),
    ("register", "注册账号"),
    ("forgot_password", "忘记密码"),
    ("forgot_account", "忘记账号"),
    ("notice_title", "继续之前"),
    ("password_old", "您的密码已很久未修改，建议现在修改。"),
    ("change_password", "修改密码"),
    ("continue", "继续"),
];

/// All texts of a locale, for templates (`t.sign_in`).
pub fn texts(locale: Locale) -> BTreeMap<&'static str, &'static str> {
    let table = match locale {
        Locale::En => EN,
        Locale::ZhCn => ZH_CN,
    };
    table.iter().copied().collect()
}

/// One text.
pub fn text(locale: Locale, key: &str) -> &'static str {
    let table = match locale {
        Locale::En => EN,
        Locale::ZhCn => ZH_CN,
    };
    table.iter().find(|(k, _)| *k == key).map(|(_, v)| *v).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ui_locales_win_then_accept_language_by_quality() {
        assert_eq!(Locale::negotiate(Some("fr zh-CN"), Some("en")), Locale::ZhCn);
        assert_eq!(Locale::negotiate(None, Some("en;q=0.5, zh-Hans;q=0.9")), Locale::ZhCn);
        assert_eq!(Locale::negotiate(None, Some("de")), Locale::En);
    }

    #[test]
    fn both_locales_have_every_text() {
        let en: Vec<_> = EN.iter().map(|(k, _)| *k).collect();
        let zh: Vec<_> = ZH_CN.iter().map(|(k, _)| *k).collect();
        assert_eq!(en, zh);
    }
}
