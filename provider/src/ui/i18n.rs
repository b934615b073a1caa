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

    /// The first supported locale of `ui_locales` (space-separated), if any.
    pub fn requested(ui_locales: &str) -> Option<Locale> {
        ui_locales.split(' ').find_map(Locale::from_tag)
    }

    /// Negotiates: the first supported of `ui_locales` (space-separated), else the
    /// best of `Accept-Language` by q-value, else English.
    pub fn negotiate(ui_locales: Option<&str>, accept_language: Option<&str>) -> Locale {
        if let Some(l) = ui_locales.and_then(Locale::requested) {
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
    ("device_title", "Connect a device"),
    ("device_enter", "Enter the code shown on your device."),
    ("device_user_code", "Device code"),
    ("device_continue", "Continue"),
    ("device_sign_in_first", "Sign in first, then open your device's link or enter its code again."),
    ("device_confirm_pre", "Allow"),
    ("device_confirm_post", "to use your account on this device?"),
    ("device_code_invalid", "That code is wrong or was already used. Check the code on your device."),
    ("device_code_expired", "That code has expired. Start again on your device."),
    ("device_approved", "Your device is connected. You can go back to it now."),
    ("device_denied", "The device was not connected."),
    ("device_limit", "Your account has reached its device limit. Unbind a device first."),
    ("device_refused", "This device cannot be bound to your account."),
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
    ("register_by_mobile", "With a mobile number"),
    ("register_by_email", "With an email"),
    ("register_by_name", "With an account name"),
    ("account_name_rule", "4 to 20 characters: Chinese characters, letters, digits, - and _; not all digits."),
    ("security_mobile", "Security mobile number"),
    ("security_mobile_hint", "It receives codes and security notices for this account."),
    ("send_code_voice", "Call me with the code"),
    ("code_sent_voice", "You will get a call that reads out the code."),
    ("password_again", "Password again"),
    ("passwords_differ", "The two passwords are not the same."),
    ("have_account", "I already have an account"),
    ("recycled_mine", "This number was recycled by my carrier and is mine now: move it to my new account."),
    (
        "taken_mobile_recycled",
        "This mobile number already signs in another account. If your carrier gave you this number after its previous owner, tick the box below and register again with the same code: the other account will no longer sign in with it.",
    ),
    ("pw_rules", "Password: "),
    ("pw_rule_length", "{min} to {max} characters"),
    ("pw_rule_classes", "at least {n} of letters, digits and symbols"),
    ("pw_rule_name", "not the account name"),
    ("pw_rule_history", "not one of your last {n} passwords"),
    ("list_sep", "; "),
    ("sentence_end", "."),
    ("current_password_wrong", "The current password is wrong."),
    ("delivery_failed", "The message could not be sent. Try again later."),
    ("rate_limited_in", "Too many requests. Try again in {s} seconds."),
    ("denied_mobile_range", "This mobile number cannot be used here: its number range is not accepted."),
    ("denied_too_many_accounts", "This mobile number is already linked to as many accounts as allowed."),
    ("denied_registration_closed", "Registration is closed."),
    ("denied_other", "Refused by the service's rules: {reason}"),
    ("taken_mobile", "This mobile number is already registered."),
    ("taken_email", "This email is already registered."),
    ("taken_account_name", "This account name is already taken."),
    ("taken_other", "This is already taken."),
    ("invalid_email", "Enter a valid email address."),
    (
        "invalid_account_name",
        "An account name has 4 to 20 characters: Chinese characters, letters, digits, - and _; not all digits.",
    ),
    ("invalid_identifier", "Enter a mobile number (with country code), email, account name or account ID."),
    ("invalid_same_value", "That is already your current value."),
    ("invalid_current_code", "Enter the code sent to your current value first."),
    ("invalid_address", "Choose one of your verification methods."),
    ("invalid_password", "This password does not meet the rules."),
    ("invalid_field", "Check this field: {field}."),
    ("try_again", "That did not work. Please try again."),
    (
        "forgot_password_sub",
        "Enter your mobile number, email, account name or account ID. We send a code to the account's recovery mobile or email.",
    ),
    ("recover_code_sent", "If an account uses this, a code was sent to its recovery mobile or email."),
    ("new_password", "New password"),
    ("set_password", "Set the new password"),
    ("send_again", "Send the code again"),
    ("password_changed", "Password changed"),
    (
        "password_changed_sign_in",
        "Your password was changed and every device was signed out. Sign in with the new password.",
    ),
    ("password_changed_others_out", "Your password was changed. Your other devices were signed out."),
    ("forgot_account_sub", "Enter your mobile number: we send it the names of the accounts it is linked to."),
    ("send_account_names", "Send my account names"),
    ("account_names_sent", "If accounts use this number, their names were sent to it by SMS."),
    ("account_center", "Your account"),
    ("account_id", "Account ID"),
    ("not_set", "Not set"),
    ("change", "Change"),
    ("add_email", "Add an email"),
    ("add_mobile", "Add a mobile number"),
    ("change_email", "Change email"),
    ("change_mobile", "Change mobile number"),
    ("password_changed_at", "last changed"),
    ("channels", "Mobile numbers and emails"),
    ("channel", "Bound to the account"),
    ("roles", "Used for"),
    ("role_login", "sign-in"),
    ("role_recovery", "recovery"),
    ("role_contact", "security notices"),
    ("unverified", "not verified"),
    ("devices", "Signed-in devices"),
    ("device", "Device"),
    ("last_seen", "Last active"),
    ("signed_in_at", "signed in"),
    ("unknown_device", "Unknown device"),
    ("this_device", "This device"),
    ("sign_out_others", "Sign out all other devices"),
    ("done_email", "Your email was saved."),
    ("done_mobile", "Your mobile number was saved."),
    ("done_ended", "The device was signed out."),
    ("done_ended_all", "Every other device was signed out."),
    ("current_password", "Current password"),
    ("prove_with_code", "Confirm it is you with a code sent to one of these:"),
    ("no_other_method", "This account has no recovery mobile or email. Use the current password."),
    ("others_signed_out", "Your other devices will be signed out."),
    ("use_another_method", "Use another method"),
    ("use_current_password", "Use the current password"),
    ("cancel", "Cancel"),
    ("verify_current", "Confirm the current one"),
    ("verify_new", "Enter the new one"),
    ("new_value", "New"),
    ("save", "Save"),
    ("skip", "Skip"),
    ("welcome_email_title", "Add a security email"),
    (
        "welcome_email_text",
        "A security email helps you recover your account and tells you about important changes. You can skip this step and add it later in your account.",
    ),
    ("recover_by_link", "Or get a link by email"),
    ("recover_by_link_sub", "Enter the account's email: we send it a link to set a new password."),
    ("send_link", "Email me a link"),
    (
        "recover_link_sent",
        "If an account uses this email, a link to set a new password was sent to it. It works for {m} minutes.",
    ),
    ("recover_link_sub", "Choose a new password. Every device signed in to the account will be signed out."),
    ("link_dead_title", "Link expired or used"),
    ("link_dead", "This link has expired or was already used. Ask for a new one."),
    ("send_email_link", "Send me a link instead"),
    (
        "email_link_hint",
        "Rather not type a code? We can email a link instead: open it within {h} hours, on any device, to add the email.",
    ),
    ("email_link_sent", "A link is on its way to this email. Open it to add the email to your account."),
    ("email_confirm_title", "Add this email to your account?"),
    ("email_confirm_text", "It becomes the account's security email: it receives recovery links and security notices."),
    ("email_confirm", "Add the email"),
    ("email_added", "Email added"),
    ("email_added_text", "The email was added to your account."),
    ("email_link_has_email", "This account already has an email. Change it in your account with codes."),
    ("scope_developer", "Your developer type and review status"),
    ("developer_profile", "Developer profile"),
    ("dev_title", "Developer profile"),
    ("dev_status", "Review status"),
    ("dev_type", "Developer type"),
    ("dev_reason", "Reason"),
    ("dev_status_not_submitted", "Not submitted"),
    ("dev_status_pending", "Pending review"),
    ("dev_status_approved", "Approved"),
    ("dev_status_rejected", "Rejected"),
    (
        "dev_choose_type",
        "Choose your developer type and fill in its details. You can edit and resubmit until the review approves them.",
    ),
    ("dev_submit", "Submit for review"),
    ("dev_resubmit", "Resubmit for review"),
    ("dev_submitted", "Your details were submitted for review."),
    ("dev_locked", "Your developer profile is approved: its identity details can no longer be changed."),
    ("dev_fields_invalid", "Fill in every field of the type, at most 200 characters each."),
    ("dev_type_enterprise", "Enterprise"),
    ("dev_type_personal", "Personal"),
    ("dev_field_company_name", "Company name"),
    ("dev_field_address", "Address"),
    ("dev_field_contact_number", "Contact number"),
    ("dev_field_licence_number", "Business licence number"),
    ("dev_field_real_name", "Real name"),
    ("dev_field_id_number", "Identity document number"),
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
    ("device_title", "连接设备"),
    ("device_enter", "请输入设备上显示的代码。"),
    ("device_user_code", "设备代码"),
    ("device_continue", "继续"),
    ("device_sign_in_first", "请先登录，然后重新打开设备提供的链接或再次输入代码。"),
    ("device_confirm_pre", "是否允许"),
    ("device_confirm_post", "在此设备上使用您的账号？"),
    ("device_code_invalid", "代码错误或已被使用，请核对设备上显示的代码。"),
    ("device_code_expired", "代码已过期，请在设备上重新开始。"),
    ("device_approved", "设备已连接，您现在可以返回设备继续操作。"),
    ("device_denied", "已拒绝该设备的连接请求。"),
    ("device_limit", "您的账号绑定的设备数量已达上限，请先解绑其他设备。"),
    ("device_refused", "此设备无法绑定到您的账号。"),
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
    ("register_by_mobile", "用手机号注册"),
    ("register_by_email", "用邮箱注册"),
    ("register_by_name", "用账号名注册"),
    ("account_name_rule", "4 到 20 个字符：汉字、字母、数字、- 和 _，不能全是数字。"),
    ("security_mobile", "安全手机号"),
    ("security_mobile_hint", "用于接收此账号的验证码和安全通知。"),
    ("send_code_voice", "语音播报验证码"),
    ("code_sent_voice", "您将接到一通播报验证码的电话。"),
    ("password_again", "再次输入密码"),
    ("passwords_differ", "两次输入的密码不一致。"),
    ("have_account", "已有账号，去登录"),
    ("recycled_mine", "此号码已由运营商回收并重新分配给我：将其转到我的新账号。"),
    (
        "taken_mobile_recycled",
        "该手机号已是另一个账号的登录手机号。如果这是运营商回收后重新分配给您的号码，请勾选下方选项并使用同一验证码重新注册：原账号将不能再用此号码登录。",
    ),
    ("pw_rules", "密码要求："),
    ("pw_rule_length", "{min} 到 {max} 个字符"),
    ("pw_rule_classes", "至少包含字母、数字、符号中的 {n} 类"),
    ("pw_rule_name", "不能与账号名相同"),
    ("pw_rule_history", "不能与最近 {n} 次使用的密码相同"),
    ("list_sep", "；"),
    ("sentence_end", "。"),
    ("current_password_wrong", "当前密码错误。"),
    ("delivery_failed", "消息发送失败，请稍后再试。"),
    ("rate_limited_in", "请求过于频繁，请在 {s} 秒后重试。"),
    ("denied_mobile_range", "此手机号所在号段不支持在这里使用。"),
    ("denied_too_many_accounts", "此手机号绑定的账号数量已达上限。"),
    ("denied_registration_closed", "暂不开放注册。"),
    ("denied_other", "不符合服务规则，已拒绝：{reason}"),
    ("taken_mobile", "该手机号已被注册。"),
    ("taken_email", "该邮箱已被注册。"),
    ("taken_account_name", "该账号名已被占用。"),
    ("taken_other", "已被占用。"),
    ("invalid_email", "请输入有效的邮箱地址。"),
    ("invalid_account_name", "账号名为 4 到 20 个字符：汉字、字母、数字、- 和 _，不能全是数字。"),
    ("invalid_identifier", "请输入手机号（带国家码）、邮箱、账号名或账号 ID。"),
    ("invalid_same_value", "这已经是您当前使用的值。"),
    ("invalid_current_code", "请先输入发送到当前号码或邮箱的验证码。"),
    ("invalid_address", "请选择一种验证方式。"),
    ("invalid_password", "密码不符合要求。"),
    ("invalid_field", "请检查此项：{field}。"),
    ("try_again", "操作未成功，请重试。"),
    ("forgot_password_sub", "请输入手机号、邮箱、账号名或账号 ID，我们会向该账号的安全手机或邮箱发送验证码。"),
    ("recover_code_sent", "如果有账号使用此信息，验证码已发送到该账号的安全手机或邮箱。"),
    ("new_password", "新密码"),
    ("set_password", "设置新密码"),
    ("send_again", "重新发送验证码"),
    ("password_changed", "密码已修改"),
    ("password_changed_sign_in", "密码已修改，所有设备均已退出登录。请使用新密码登录。"),
    ("password_changed_others_out", "密码已修改，您的其他设备已退出登录。"),
    ("forgot_account_sub", "请输入手机号，我们会把它绑定的账号名以短信发送给它。"),
    ("send_account_names", "发送我的账号名"),
    ("account_names_sent", "如果有账号使用此号码，账号名已通过短信发送到该号码。"),
    ("account_center", "账号中心"),
    ("account_id", "账号 ID"),
    ("not_set", "未设置"),
    ("change", "修改"),
    ("add_email", "添加邮箱"),
    ("add_mobile", "添加手机号"),
    ("change_email", "修改邮箱"),
    ("change_mobile", "修改手机号"),
    ("password_changed_at", "上次修改于"),
    ("channels", "手机号与邮箱"),
    ("channel", "绑定信息"),
    ("roles", "用途"),
    ("role_login", "登录"),
    ("role_recovery", "找回账号"),
    ("role_contact", "安全通知"),
    ("unverified", "未验证"),
    ("devices", "已登录的设备"),
    ("device", "设备"),
    ("last_seen", "最近活动"),
    ("signed_in_at", "登录于"),
    ("unknown_device", "未知设备"),
    ("this_device", "当前设备"),
    ("sign_out_others", "退出其他所有设备"),
    ("done_email", "邮箱已保存。"),
    ("done_mobile", "手机号已保存。"),
    ("done_ended", "该设备已退出登录。"),
    ("done_ended_all", "其他所有设备均已退出登录。"),
    ("current_password", "当前密码"),
    ("prove_with_code", "请通过发送到以下任一方式的验证码确认身份："),
    ("no_other_method", "此账号没有安全手机或邮箱，请使用当前密码。"),
    ("others_signed_out", "您的其他设备将退出登录。"),
    ("use_another_method", "使用其他验证方式"),
    ("use_current_password", "使用当前密码"),
    ("cancel", "取消"),
    ("verify_current", "验证当前信息"),
    ("verify_new", "填写新信息"),
    ("new_value", "新"),
    ("save", "保存"),
    ("skip", "跳过"),
    ("welcome_email_title", "添加安全邮箱"),
    ("welcome_email_text", "安全邮箱可帮助您找回账号并接收重要变更通知。您可以跳过此步骤，之后在账号中心添加。"),
    ("recover_by_link", "或通过邮件获取链接"),
    ("recover_by_link_sub", "输入账号的邮箱，我们会向其发送设置新密码的链接。"),
    ("send_link", "发送链接到我的邮箱"),
    ("recover_link_sent", "如果有账号使用此邮箱，设置新密码的链接已发送到该邮箱，{m} 分钟内有效。"),
    ("recover_link_sub", "请设置新密码。该账号已登录的所有设备将退出登录。"),
    ("link_dead_title", "链接已失效"),
    ("link_dead", "此链接已过期或已被使用，请重新获取。"),
    ("send_email_link", "改为发送验证链接"),
    ("email_link_hint", "不想输入验证码？我们也可以发送验证链接：请在 {h} 小时内在任意设备上打开该链接以添加邮箱。"),
    ("email_link_sent", "验证链接已发送到该邮箱，打开链接即可将邮箱添加到您的账号。"),
    ("email_confirm_title", "将此邮箱添加到您的账号？"),
    ("email_confirm_text", "它将成为账号的安全邮箱：用于接收找回链接和安全通知。"),
    ("email_confirm", "添加邮箱"),
    ("email_added", "邮箱已添加"),
    ("email_added_text", "邮箱已添加到您的账号。"),
    ("email_link_has_email", "此账号已有邮箱，请在账号中心通过验证码修改。"),
    ("scope_developer", "您的开发者类型和审核状态"),
    ("developer_profile", "开发者资料"),
    ("dev_title", "开发者资料"),
    ("dev_status", "审核状态"),
    ("dev_type", "开发者类型"),
    ("dev_reason", "原因"),
    ("dev_status_not_submitted", "未提交"),
    ("dev_status_pending", "审核中"),
    ("dev_status_approved", "已通过"),
    ("dev_status_rejected", "未通过"),
    ("dev_choose_type", "请选择开发者类型并填写相应资料。审核通过前，您可以随时修改并重新提交。"),
    ("dev_submit", "提交审核"),
    ("dev_resubmit", "重新提交审核"),
    ("dev_submitted", "您的资料已提交审核。"),
    ("dev_locked", "您的开发者资料已审核通过，身份信息不能再修改。"),
    ("dev_fields_invalid", "请填写该类型的所有字段，每项不超过 200 个字符。"),
    ("dev_type_enterprise", "企业开发者"),
    ("dev_type_personal", "个人开发者"),
    ("dev_field_company_name", "公司名称"),
    ("dev_field_address", "地址"),
    ("dev_field_contact_number", "联系电话"),
    ("dev_field_licence_number", "营业执照号"),
    ("dev_field_real_name", "真实姓名"),
    ("dev_field_id_number", "身份证件号码"),
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
