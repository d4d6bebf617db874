//! Digests as artifacts are keyed by, and the key each one is stored under.

use object_store::path::Path as ObjectPath;

use super::ArtifactError;

/// Lowercase hex of exactly 64 digits; anything else (which could also escape the directory
/// when joined to a path) is refused.
pub(crate) fn normalize_digest(digest: &str) -> Result<String, ArtifactError> {
    if digest.len() == 64 && digest.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        Ok(digest.to_ascii_lowercase())
    } else {
        Err(ArtifactError::InvalidDigest {
            digest: digest.to_owned(),
        })
    }
}

/// `sha256/<first 2 hex>/<full hex>`: the layout of every artifact store, local or not, so that
/// no directory holds more than a 256th of them.
pub(crate) fn key(digest: &str) -> String {
    format!("sha256/{}/{digest}", &digest[..2])
}

/// [`key`] as an object store path.
pub(crate) fn object_key(digest: &str) -> ObjectPath {
    ObjectPath::from(key(digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_a_digest() {
        for digest in ["", "../../etc/passwd", &"g".repeat(64), &"a".repeat(63)] {
            assert!(
                matches!(normalize_digest(digest), Err(ArtifactError::InvalidDigest { .. })),
                "{digest}"
            );
        }
        assert_eq!(normalize_digest(&"AB".repeat(32)).unwrap(), "ab".repeat(32));
    }

    #[test]
    fn keys_spread_by_the_first_two_digits() {
        let digest = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
        assert_eq!(key(digest), format!("sha256/2c/{digest}"));
    }
}
