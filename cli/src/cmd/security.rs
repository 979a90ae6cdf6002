//! The token and TLS files of the coordinator and of the commands that talk to it (`build
//! --coordinator`, `worker`): reading them once at start, with errors that name the file and
//! the flag but never print a secret, and the hint a refused client gets.

use std::path::{Path, PathBuf};

use clap::Args;
use conveyor_worker::remote::{Remote, RemoteError, Token};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::exit::Failure;

/// How a client proves itself to the coordinator and checks the coordinator's certificate.
#[derive(Args, Debug, Clone)]
pub struct ClientArgs {
    /// File holding the coordinator's token (one line; the trailing line break is ignored),
    /// sent with every call. Needed when the coordinator runs with `--token-file`.
    #[arg(long, env = "CONVEYOR_TOKEN_FILE", value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// PEM file of the CA (or the self-signed certificate) that signed the coordinator's TLS
    /// certificate, for an `https://` coordinator (default: the system's CAs).
    #[arg(long, env = "CONVEYOR_TLS_CA", value_name = "PEM")]
    pub tls_ca: Option<PathBuf>,
}

impl ClientArgs {
    /// The coordinator at `url` with this token and CA, files read now. A bad file or URL is a
    /// user error (exit 2).
    pub fn remote(&self, url: &str) -> Result<Remote, Failure> {
        let mut remote = Remote::new(url);
        if let Some(path) = &self.token_file {
            remote = remote.with_token(read_token(path)?);
        }
        if let Some(path) = &self.tls_ca {
            remote.tls_ca = Some(read_certificates(path, "--tls-ca")?);
        }
        remote
            .endpoint()
            .map_err(|e| Failure::user(capitalized(&e)))?;
        Ok(remote)
    }
}

/// A token file (`--token-file`): a user error naming the file when it is unreadable, empty
/// or not one printable word.
pub fn read_token(path: &Path) -> Result<Token, Failure> {
    Token::from_file(path).map_err(|e| Failure::user(format!("`--token-file`: {e}")))
}

/// A PEM file of one or more certificates (`--tls-cert`, `--tls-ca`), checked to hold at least
/// one.
pub fn read_certificates(path: &Path, flag: &str) -> Result<Vec<u8>, Failure> {
    let pem = read(path, flag)?;
    match CertificateDer::pem_slice_iter(&pem).collect::<Result<Vec<_>, _>>() {
        Ok(certs) if !certs.is_empty() => Ok(pem),
        Ok(_) => Err(Failure::user(format!(
            "`{flag}` `{}` holds no PEM certificate (`-----BEGIN CERTIFICATE-----`)",
            path.display()
        ))),
        Err(e) => Err(Failure::user(format!(
            "`{flag}` `{}` is not a readable PEM file: {e}",
            path.display()
        ))),
    }
}

/// A PEM private key (`--tls-key`: PKCS#8, PKCS#1 or SEC1). Errors never show the file's
/// content.
pub fn read_private_key(path: &Path, flag: &str) -> Result<Vec<u8>, Failure> {
    let pem = read(path, flag)?;
    match PrivateKeyDer::from_pem_slice(&pem) {
        Ok(_) => Ok(pem),
        Err(_) => Err(Failure::user(format!(
            "`{flag}` `{}` holds no PEM private key (`-----BEGIN PRIVATE KEY-----`, \
             `RSA PRIVATE KEY` or `EC PRIVATE KEY`)",
            path.display()
        ))),
    }
}

fn read(path: &Path, flag: &str) -> Result<Vec<u8>, Failure> {
    std::fs::read(path)
        .map_err(|e| Failure::user(format!("Cannot read `{flag}` `{}`: {e}", path.display())))
}

/// What a client that the coordinator refused is told (exit 2): how to pass the token.
pub fn refused(message: &str) -> Failure {
    Failure::user(format!(
        "The coordinator refused the call: {message}. Pass its token with `--token-file FILE` \
         (or `CONVEYOR_TOKEN_FILE`)"
    ))
}

/// A connection problem as a failure: the coordinator unreachable is the environment's
/// (exit 3); a bad URL or CA is the user's (exit 2).
pub fn connect_failure(e: RemoteError) -> Failure {
    match e {
        RemoteError::Connect { .. } => Failure::environment(capitalized(&e)),
        _ => Failure::user(capitalized(&e)),
    }
}

/// A library error (lower case, as errors compose) as the first words of a message.
fn capitalized(e: &dyn std::fmt::Display) -> String {
    let text = e.to_string();
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => text,
    }
}
