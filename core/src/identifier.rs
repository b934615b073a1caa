//! What a person types to say who they are: an email, a mobile number (E.164), an
//! account name or an account id. Parsed once at the edge into this enum.

use crate::error::{Error, Field, Result};

/// Length of an account id: all digits, so it never collides with an account name
/// (names may not be all digits, R3).
pub const ACCOUNT_ID_LEN: usize = 16;

/// A login identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identifier {
    Email(String),
    Phone(String),
    Name(String),
    AccountId(String),
}

impl Identifier {
    /// Parses what a person typed into the sign-in box.
    pub fn parse(input: &str) -> Result<Identifier> {
        let s = input.trim();
        if s.contains('@') {
            return parse_email(s).map(Identifier::Email);
        }
        if s.starts_with('+') {
            return parse_phone(s).map(Identifier::Phone);
        }
        if s.len() == ACCOUNT_ID_LEN && s.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(Identifier::AccountId(s.to_string()));
        }
        parse_name(s).map(Identifier::Name)
    }

    /// The key under which the identifier is indexed, unique per tenant.
    pub fn index_key(&self) -> Option<String> {
        match self {
            Identifier::Email(v) => Some(format!("email:{v}")),
            Identifier::Phone(v) => Some(format!("phone:{v}")),
            Identifier::Name(v) => Some(format!("name:{}", v.to_lowercase())),
            Identifier::AccountId(_) => None,
        }
    }

    /// The kind, as carried by `Error::IdentifierTaken`.
    pub fn kind(&self) -> crate::IdentifierKind {
        match self {
            Identifier::Email(_) => crate::IdentifierKind::Email,
            Identifier::Phone(_) => crate::IdentifierKind::Mobile,
            Identifier::Name(_) => crate::IdentifierKind::AccountName,
            Identifier::AccountId(_) => crate::IdentifierKind::AccountId,
        }
    }
}

/// An email address, lowercased. Deliberately permissive (one `@`, a dot in the
/// domain, no spaces), as mail systems are.
pub fn parse_email(s: &str) -> Result<String> {
    let s = s.trim().to_lowercase();
    let ok = s.len() <= 254
        && s.split('@').count() == 2
        && s.split_once('@').is_some_and(|(l, d)| {
            !l.is_empty() && l.len() <= 64 && d.contains('.') && !d.starts_with('.') && !d.ends_with('.')
        })
        && !s.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok { Ok(s) } else { Err(Error::invalid(Field::Email, "not an email address")) }
}

/// A mobile number in E.164: `+`, country code, 8 to 15 digits in all, no leading 0.
pub fn parse_phone(s: &str) -> Result<String> {
    let compact: String = s.trim().chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let digits = compact.strip_prefix('+').unwrap_or("");
    let ok = (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0');
    if ok {
        Ok(compact)
    } else {
        Err(Error::invalid(Field::Mobile, "not an E.164 mobile number (+ and 8 to 15 digits)"))
    }
}

/// An account name under the default rule (R3): 4 to 20 characters of CJK
/// ideographs, letters, digits, `-` and `_`, not all digits.
pub fn parse_name(s: &str) -> Result<String> {
    let s = s.trim();
    let n = s.chars().count();
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_' || is_cjk(c);
    if !(4..=20).contains(&n) {
        return Err(Error::invalid(Field::AccountName, "must be 4 to 20 characters"));
    }
    if !s.chars().all(allowed) {
        return Err(Error::invalid(Field::AccountName, "may hold only CJK ideographs, letters, digits, - and _"));
    }
    if s.chars().all(|c| c.is_ascii_digit()) {
        return Err(Error::invalid(Field::AccountName, "may not be all digits"));
    }
    Ok(s.to_string())
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x20000..=0x2A6DF | 0xF900..=0xFAFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_kind() {
        assert_eq!(Identifier::parse(" Ann@Example.COM ").ok(), Some(Identifier::Email("ann@example.com".into())));
        assert_eq!(Identifier::parse("+86 138-0013-8000").ok(), Some(Identifier::Phone("+8613800138000".into())));
        assert_eq!(Identifier::parse("1234567890123456").ok(), Some(Identifier::AccountId("1234567890123456".into())));
        assert_eq!(Identifier::parse("张三_dev").ok(), Some(Identifier::Name("张三_dev".into())));
    }

    #[test]
    fn r3_name_rule() {
        assert!(parse_name("abc").is_err());
        assert!(parse_name("12345").is_err());
        assert!(parse_name("a b c d").is_err());
        assert!(parse_name("a".repeat(21).as_str()).is_err());
        assert!(parse_name("dev-01").is_ok());
    }

    #[test]
    fn phone_rule() {
        assert!(parse_phone("+0123456789").is_err());
        assert!(parse_phone("13800138000").is_err());
        assert!(parse_phone("+1234567").is_err());
        assert!(parse_phone("+1234567890123456").is_err());
    }
}
