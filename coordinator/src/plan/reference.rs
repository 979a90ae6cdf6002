//! Normalizing `from:` image references with oci-spec's parser (the one oci-client uses),
//! so `alpine`, `alpine:latest` and `docker.io/library/alpine:latest` are one reference, and
//! a digest stays a digest.

use oci_client::Reference;

/// The canonical form of `reference`, or why it is not a valid image reference.
pub fn normalize(reference: &str) -> Result<String, String> {
    Reference::try_from(reference)
        .map(|r| r.whole())
        .map_err(|e| format!("`{reference}` is not a valid image reference: {e}"))
}

/// Parses a normalized reference back (for the registry client).
pub fn parse(reference: &str) -> Result<Reference, String> {
    Reference::try_from(reference).map_err(|e| format!("`{reference}`: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_tags_and_hosts_normalize_alike() {
        let want = "docker.io/library/alpine:latest";
        for r in [
            "alpine",
            "alpine:latest",
            "docker.io/library/alpine:latest",
            "library/alpine",
        ] {
            assert_eq!(normalize(r).unwrap(), want, "{r}");
        }
        assert_eq!(
            normalize("localhost:5000/library/busybox").unwrap(),
            "localhost:5000/library/busybox:latest"
        );
        assert_eq!(normalize("user/app:1.2").unwrap(), "docker.io/user/app:1.2");
    }

    #[test]
    fn digests_stay_digests() {
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(
            normalize(&format!("alpine@{d}")).unwrap(),
            format!("docker.io/library/alpine@{d}")
        );
    }

    #[test]
    fn invalid_references_are_refused_with_the_reference_named() {
        for bad in ["Alpine", "alpine:", "http://registry/x", "a@sha256:12"] {
            let err = normalize(bad).unwrap_err();
            assert!(err.contains(&format!("`{bad}`")), "{err}");
        }
    }
}
