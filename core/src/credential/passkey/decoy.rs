//! Decoy sign-in challenges (R36): an identifier without passkeys (no account, or
//! an account that has none) gets request options shaped like a real challenge,
//! with fake credentials derived from an HMAC of the identifier under the server's
//! key, so repeated asks look the same and nothing tells who has an account.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::credential::passkey::Rp;
use crate::seal::Sealer;
use crate::secret;

/// What authenticators commonly report as their transports; a decoy picks one set.
const TRANSPORTS: [Option<&[&str]>; 4] = [None, Some(&["internal"]), Some(&["hybrid", "internal"]), Some(&["usb"])];
/// Credential id lengths of common authenticators, in bytes.
const ID_LENGTHS: [usize; 3] = [16, 20, 32];

/// The `navigator.credentials.get` options of a decoy for `identifier` in `tenant`:
/// a fresh challenge, and one or two credentials stable per identifier.
pub(super) fn options(sealer: &Sealer, rp: &Rp, tenant: &str, identifier: &str) -> Value {
    let seed = |n: u8| -> Vec<u8> {
        let digest = sealer.digest(&format!("passkey decoy/{tenant}/{n}"), identifier);
        URL_SAFE_NO_PAD.decode(digest).unwrap_or_default()
    };
    let shape = seed(0);
    let pick = |i: usize| usize::from(shape.get(i).copied().unwrap_or(0));
    let count = if pick(0) % 5 == 0 { 2 } else { 1 };
    let credentials: Vec<Value> = (1..=count)
        .map(|n| {
            let mut id = seed(n);
            id.truncate(ID_LENGTHS[pick(usize::from(n)) % ID_LENGTHS.len()]);
            let mut c = json!({ "type": "public-key", "id": URL_SAFE_NO_PAD.encode(id) });
            if let Some(t) = TRANSPORTS[pick(3) % TRANSPORTS.len()] {
                c["transports"] = json!(t);
            }
            c
        })
        .collect();
    let timeout = u64::try_from(webauthn_rs::DEFAULT_AUTHENTICATOR_TIMEOUT.as_millis()).unwrap_or(300_000);
    json!({
        "publicKey": {
            "challenge": secret::token(),
            "timeout": timeout,
            "rpId": rp.id,
            "allowCredentials": credentials,
            "userVerification": "required",
        }
    })
}
