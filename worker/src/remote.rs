//! How a client reaches the coordinator: its URL, the bearer token every call carries, and the
//! CA that its TLS certificate is checked against. Workers (`agent`) and `conveyor build` use
//! it for every channel they open.
//!
//! - The token goes in `authorization: Bearer TOKEN` metadata on every call (an interceptor),
//!   marked sensitive so HTTP/2 never puts it in a compression table. It is never formatted:
//!   the `Debug` of [`Token`], [`Bearer`] and [`Remote`] shows `<redacted>`.
//! - `https://` URLs use TLS (rustls): against `--tls-ca` when given, else the system's CAs.
//!   A CA with an `http://` URL is refused rather than ignored, so a mistyped URL cannot
//!   silently send the token in clear text.

use std::fmt;
use std::path::{Path, PathBuf};

use conveyor_proto::v1::builds_client::BuildsClient;
use conveyor_proto::v1::workers_client::WorkersClient;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

use crate::credentials;

/// A channel to the coordinator whose calls carry the token.
pub type AuthChannel = InterceptedService<Channel, Bearer>;

#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("cannot read the token file {}: {source}", .path.display())]
    ReadToken {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the token file {} is empty", .0.display())]
    EmptyToken(PathBuf),
    #[error(
        "the token in {} must be printable ASCII without spaces (one line; a trailing line \
         break is ignored)", .0.display()
    )]
    BadToken(PathBuf),
    #[error("`{url}` is not a coordinator URL (e.g. `http://10.0.0.5:7070`): {message}")]
    Url { url: String, message: String },
    #[error("a TLS CA is given but `{0}` is not an `https://` URL")]
    CaWithoutHttps(String),
    #[error("TLS set-up for `{url}`: {message}")]
    Tls { url: String, message: String },
    #[error("cannot reach the coordinator at `{url}`: {message}")]
    Connect { url: String, message: String },
}

/// The shared secret clients present to the coordinator. Printable ASCII without spaces, so
/// it fits an HTTP header as it is.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl Token {
    /// Reads a token file: its content without the trailing line break. An empty file, or a
    /// token with spaces, control or non-ASCII characters, is an error naming the file (never
    /// its content).
    pub fn from_file(path: &Path) -> Result<Token, RemoteError> {
        let text =
            credentials::read_secret_file(path).map_err(|source| RemoteError::ReadToken {
                path: path.to_path_buf(),
                source,
            })?;
        if text.is_empty() {
            return Err(RemoteError::EmptyToken(path.to_path_buf()));
        }
        Token::new(text).ok_or_else(|| RemoteError::BadToken(path.to_path_buf()))
    }

    /// The token, when it is printable ASCII without spaces.
    pub fn new(token: String) -> Option<Token> {
        let valid = !token.is_empty() && token.bytes().all(|b| b.is_ascii_graphic());
        valid.then_some(Token(token))
    }

    /// The secret itself, for the coordinator's check: never print it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The interceptor that adds `authorization: Bearer TOKEN` to every call (nothing without a
/// token).
#[derive(Clone, Default)]
pub struct Bearer(Option<MetadataValue<Ascii>>);

impl fmt::Debug for Bearer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(_) => f.write_str("Bearer(<redacted>)"),
            None => f.write_str("Bearer(none)"),
        }
    }
}

impl tonic::service::Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// Where the coordinator is and how to prove who we are to it.
#[derive(Clone, Debug)]
pub struct Remote {
    /// `http://HOST:PORT` or `https://HOST:PORT`.
    pub url: String,
    pub token: Option<Token>,
    /// PEM certificates to check an `https://` coordinator's certificate against (default:
    /// the system's CAs).
    pub tls_ca: Option<Vec<u8>>,
}

impl Remote {
    /// A coordinator reached without token or CA.
    pub fn new(url: impl Into<String>) -> Remote {
        Remote {
            url: url.into(),
            token: None,
            tls_ca: None,
        }
    }

    pub fn with_token(mut self, token: Token) -> Remote {
        self.token = Some(token);
        self
    }

    /// The endpoint with its TLS settings; errors here are the caller's (bad URL, CA for a
    /// plain URL) and never get better by retrying.
    pub fn endpoint(&self) -> Result<Endpoint, RemoteError> {
        let url = &self.url;
        let endpoint = Endpoint::from_shared(url.clone()).map_err(|e| RemoteError::Url {
            url: url.clone(),
            message: e.to_string(),
        })?;
        let https = match endpoint.uri().scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => {
                return Err(RemoteError::Url {
                    url: url.clone(),
                    message: "it must start with `http://` or `https://`".into(),
                })
            }
        };
        let tls = match (&self.tls_ca, https) {
            (Some(_), false) => return Err(RemoteError::CaWithoutHttps(url.clone())),
            (None, false) => return Ok(endpoint),
            (Some(ca), true) => ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca)),
            (None, true) => ClientTlsConfig::new().with_native_roots(),
        };
        endpoint.tls_config(tls).map_err(|e| RemoteError::Tls {
            url: url.clone(),
            message: error_chain(&e),
        })
    }

    /// The interceptor carrying this remote's token.
    pub fn bearer(&self) -> Bearer {
        Bearer(self.token.as_ref().map(|t| {
            let mut value = MetadataValue::try_from(format!("Bearer {}", t.0))
                .expect("a token is printable ASCII");
            value.set_sensitive(true);
            value
        }))
    }

    /// Connects; every call on the channel carries the token.
    pub async fn connect(&self) -> Result<AuthChannel, RemoteError> {
        let channel = self
            .endpoint()?
            .connect()
            .await
            .map_err(|e| RemoteError::Connect {
                url: self.url.clone(),
                message: error_chain(&e),
            })?;
        Ok(InterceptedService::new(channel, self.bearer()))
    }

    /// A `Builds` client (`conveyor build`).
    pub async fn builds(&self) -> Result<BuildsClient<AuthChannel>, RemoteError> {
        Ok(BuildsClient::new(self.connect().await?))
    }

    /// A `Workers` client (the agent).
    pub async fn workers(&self) -> Result<WorkersClient<AuthChannel>, RemoteError> {
        Ok(WorkersClient::new(self.connect().await?))
    }
}

/// An error with its sources, which is where tonic keeps what went wrong (`transport error:
/// invalid peer certificate: UnknownIssuer`).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        // Some errors repeat their source in their own text: say it once.
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::service::Interceptor;

    #[test]
    fn token_files_lose_their_line_break_and_must_be_one_printable_word() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "tok-3xample_1.2\r\n").unwrap();
        assert_eq!(Token::from_file(&file).unwrap().expose(), "tok-3xample_1.2");
        for (content, wanted) in [
            ("\n", "is empty"),
            ("", "is empty"),
            ("two words\n", "printable ASCII"),
            ("tab\there", "printable ASCII"),
            ("tök", "printable ASCII"),
            ("line\nline\n", "printable ASCII"),
        ] {
            std::fs::write(&file, content).unwrap();
            let err = Token::from_file(&file).unwrap_err().to_string();
            assert!(err.contains(wanted), "{content:?}: {err}");
            assert!(err.contains(&file.display().to_string()), "{err}");
        }
        let err = Token::from_file(&dir.path().join("missing")).unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
    }

    #[test]
    fn debug_never_shows_the_token() {
        let remote = Remote::new("http://127.0.0.1:7070")
            .with_token(Token::new("hunter2-token".into()).unwrap());
        let shown = format!("{remote:?} {remote:#?} {:?}", remote.bearer());
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }

    #[test]
    fn the_bearer_adds_the_token_to_every_call() {
        let remote = Remote::new("http://h:1").with_token(Token::new("t0k".into()).unwrap());
        let request = remote.bearer().call(tonic::Request::new(())).unwrap();
        let value = request.metadata().get("authorization").unwrap();
        assert_eq!(value.to_str().unwrap(), "Bearer t0k");
        assert!(value.is_sensitive());
        let request = Remote::new("http://h:1")
            .bearer()
            .call(tonic::Request::new(()))
            .unwrap();
        assert!(request.metadata().get("authorization").is_none());
    }

    #[test]
    fn endpoints_refuse_bad_urls_and_a_ca_for_plain_http() {
        assert!(Remote::new("http://127.0.0.1:7070").endpoint().is_ok());
        let mut remote = Remote::new("http://127.0.0.1:7070");
        remote.tls_ca = Some(b"-----BEGIN CERTIFICATE-----\n".to_vec());
        let err = remote.endpoint().unwrap_err().to_string();
        assert!(err.contains("not an `https://` URL"), "{err}");
        let err = Remote::new("127.0.0.1:7070").endpoint().unwrap_err();
        assert!(err.to_string().contains("`127.0.0.1:7070`"), "{err}");
    }
}
