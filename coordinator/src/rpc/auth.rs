//! The coordinator's side of the shared token: an interceptor that lets a call through only
//! with `authorization: Bearer TOKEN` metadata naming the configured token.
//!
//! - The comparison is constant-time over SHA-256 digests of the presented and the expected
//!   token (`subtle`), so neither the content nor the length of the token leaks through timing.
//! - A refusal is `Unauthenticated` with a message that never repeats what was presented.
//! - Without a configured token every call passes (a coordinator started without
//!   `--token-file`).
//! - `Debug` never shows the token.

use std::fmt;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tonic::{Request, Status};

/// The interceptor for `Builds`, `Workers` and reflection.
#[derive(Clone, Default)]
pub struct RequireToken {
    /// SHA-256 of the token; `None` lets every call through.
    expected: Option<Arc<[u8; 32]>>,
}

impl fmt::Debug for RequireToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.expected {
            Some(_) => f.write_str("RequireToken(<redacted>)"),
            None => f.write_str("RequireToken(none)"),
        }
    }
}

impl RequireToken {
    /// Calls must present `token`.
    pub fn new(token: &str) -> RequireToken {
        RequireToken {
            expected: Some(Arc::new(digest(token.as_bytes()))),
        }
    }

    /// Every call passes.
    pub fn open() -> RequireToken {
        RequireToken::default()
    }

    /// Whether a token is required.
    pub fn is_required(&self) -> bool {
        self.expected.is_some()
    }

    /// Checks the call's `authorization` metadata.
    pub fn check<T>(&self, request: &Request<T>) -> Result<(), Status> {
        let Some(expected) = &self.expected else {
            return Ok(());
        };
        let Some(value) = request.metadata().get("authorization") else {
            return Err(Status::unauthenticated(
                "This coordinator requires a token: send `authorization: Bearer TOKEN` \
                 metadata (conveyor: --token-file)",
            ));
        };
        let presented = value
            .as_encoded_bytes()
            .strip_prefix(b"Bearer ")
            .ok_or_else(|| {
                Status::unauthenticated(
                    "The `authorization` metadata must be `Bearer TOKEN` (conveyor: --token-file)",
                )
            })?;
        if bool::from(digest(presented).ct_eq(&expected[..])) {
            Ok(())
        } else {
            Err(Status::unauthenticated(
                "The token is not this coordinator's (conveyor: --token-file)",
            ))
        }
    }
}

impl tonic::service::Interceptor for RequireToken {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        self.check(&request)?;
        Ok(request)
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(auth: Option<&str>) -> Result<(), Status> {
        let mut request = Request::new(());
        if let Some(auth) = auth {
            request
                .metadata_mut()
                .insert("authorization", auth.parse().unwrap());
        }
        RequireToken::new("s3cret-token").check(&request)
    }

    #[test]
    fn only_the_right_bearer_token_passes() {
        assert!(call(Some("Bearer s3cret-token")).is_ok());
        for (auth, wanted) in [
            (None, "requires a token"),
            (Some("s3cret-token"), "must be `Bearer TOKEN`"),
            (Some("Basic s3cret-token"), "must be `Bearer TOKEN`"),
            (Some("Bearer s3cret-tokeN"), "not this coordinator's"),
            (Some("Bearer s3cret-token2"), "not this coordinator's"),
            (Some("Bearer "), "not this coordinator's"),
            (Some("Bearer  s3cret-token"), "not this coordinator's"),
        ] {
            let status = call(auth).unwrap_err();
            assert_eq!(status.code(), tonic::Code::Unauthenticated, "{auth:?}");
            assert!(status.message().contains(wanted), "{auth:?}: {status:?}");
            assert!(!status.message().contains("s3cret"), "{status:?}");
        }
    }

    #[test]
    fn without_a_token_everything_passes_and_debug_hides_it() {
        assert!(RequireToken::open().check(&Request::new(())).is_ok());
        assert!(!RequireToken::open().is_required());
        let required = RequireToken::new("hunter2");
        assert!(required.is_required());
        let shown = format!("{required:?} {required:#?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert_eq!(shown, "RequireToken(<redacted>) RequireToken(<redacted>)");
    }
}
