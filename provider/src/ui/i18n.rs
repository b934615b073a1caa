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
