//! The two ways a forge proves a delivery is its own, both checked in constant time: an
//! HMAC-SHA256 of the raw body under the shared secret (GitHub, Gitea, Forgejo, and Gantry's own
//! notifications), or the secret itself sent back in a header (GitLab).

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &[u8], body: &[u8]) -> HmacSha256 {
    // HMAC takes a key of any length (longer keys are hashed), so this cannot fail.
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(body);
    mac
}

/// The lowercase hex HMAC-SHA256 of `body` under `secret`: what GitHub sends after `sha256=`
/// in `X-Hub-Signature-256`, what Gitea sends in `X-Gitea-Signature`, and what Gantry's
/// generic webhook notifications carry (see [`crate::NOTIFICATION_SIGNATURE_HEADER`]).
pub fn hmac_sha256_hex(secret: &[u8], body: &[u8]) -> String {
    hex::encode(mac(secret, body).finalize().into_bytes())
}

/// Whether `signature` (hex, either case) is the HMAC-SHA256 of `body` under `secret`. The
/// comparison takes the same time wherever the first differing byte is.
pub(crate) fn hmac_matches(secret: &[u8], body: &[u8], signature: &str) -> bool {
    let Ok(given) = hex::decode(signature.trim()) else {
        return false;
    };
    mac(secret, body).verify_slice(&given).is_ok()
}

/// Whether a token sent back by the forge is the secret. Both sides are hashed first, so the
/// comparison takes the same time whatever their lengths and wherever they differ.
pub(crate) fn token_matches(given: &str, secret: &str) -> bool {
    Sha256::digest(given.as_bytes())
        .ct_eq(&Sha256::digest(secret.as_bytes()))
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_documented_example_verifies() {
        // The example of GitHub's "Validating webhook deliveries" page
        // (https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries).
        let expected = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert_eq!(
            hmac_sha256_hex(b"It's a Secret to Everybody", b"Hello, World!"),
            expected
        );
        assert!(hmac_matches(
            b"It's a Secret to Everybody",
            b"Hello, World!",
            expected
        ));
        assert!(hmac_matches(
            b"It's a Secret to Everybody",
            b"Hello, World!",
            &expected.to_uppercase()
        ));
    }

    #[test]
    fn wrong_signatures_are_refused() {
        let good = hmac_sha256_hex(b"secret", b"body");
        for bad in ["", "zz", &good[..10], &hmac_sha256_hex(b"other", b"body")] {
            assert!(!hmac_matches(b"secret", b"body", bad), "{bad}");
        }
        assert!(!hmac_matches(b"secret", b"body!", &good));
    }

    #[test]
    fn tokens_match_only_exactly() {
        assert!(token_matches("s3cret", "s3cret"));
        assert!(!token_matches("s3cret ", "s3cret"));
        assert!(!token_matches("", "s3cret"));
    }
}
