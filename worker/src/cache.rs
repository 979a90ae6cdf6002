//! Finding a stage image that already exists: on the local engine first, then in the registry.
//!
//! A stage is identified by its reference `REPO:SIGNATURE`. [`lookup`] inspects the engine's
//! image store, then asks the registry with a single manifest `HEAD` (a point lookup: tags are
//! never listed). The registry is talked to over plain HTTP, which is only allowed for loopback
//! hosts (`localhost`, `127.0.0.0/8`, `[::1]`); other registries (TLS) are not supported yet
//! and give [`CacheError::UnsupportedRegistry`]. A registry that asks for authentication gets
//! the stage registry's [`Credentials`]: HTTP basic auth, or a bearer token from its token
//! service (which must be plain HTTP on a loopback host too).

use std::time::Duration;

use bollard::Docker;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::credentials::{Auth, Credentials};

/// The manifest types a stage image may be stored as (Docker v2 and OCI, single or index).
const MANIFEST_ACCEPT: &str = "application/vnd.docker.distribution.manifest.v2+json, \
     application/vnd.docker.distribution.manifest.list.v2+json, \
     application/vnd.oci.image.manifest.v1+json, \
     application/vnd.oci.image.index.v1+json";

const REGISTRY_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("`{0}` is not an image reference")]
    BadReference(String),
    #[error(
        "registry `{0}` is not supported yet: only plain-HTTP registries on loopback hosts are"
    )]
    UnsupportedRegistry(String),
    #[error(
        "registry `{registry}` {}",
        match .user {
            Some(user) => format!("refused the credentials of user `{user}`"),
            None => "requires credentials and none are configured for it".to_string(),
        }
    )]
    Unauthorized {
        registry: String,
        user: Option<String>,
    },
    #[error("registry lookup of `{reference}` failed: {message}")]
    Registry { reference: String, message: String },
    #[error("engine lookup of `{reference}` failed: {source}")]
    Engine {
        reference: String,
        #[source]
        source: bollard::errors::Error,
    },
}

/// Where a stage image was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// In the engine's own image store.
    Local,
    /// In the registry only: pull it before use.
    Registry,
}

/// A stage image that exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub reference: String,
    pub location: Location,
    /// The manifest digest (`sha256:...`) when known: always from the registry; locally only
    /// when the image was pushed or pulled by this reference's repository.
    pub digest: Option<String>,
}

/// A parsed `[HOST/]PATH[:TAG|@DIGEST]` reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// Registry host with port (`docker.io` when the reference names none).
    pub host: String,
    /// Repository path inside the registry (`library/busybox`).
    pub path: String,
    /// A tag or a `sha256:...` digest.
    pub tag_or_digest: String,
}

impl Reference {
    pub fn parse(reference: &str) -> Result<Reference, CacheError> {
        let bad = || CacheError::BadReference(reference.to_string());
        let (name, tag_or_digest) = match reference.split_once('@') {
            Some((name, digest)) => (name, digest.to_string()),
            None => match reference.rsplit_once(':') {
                Some((name, tag)) if !tag.contains('/') => (name, tag.to_string()),
                _ => (reference, "latest".to_string()),
            },
        };
        let (host, path) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_string(), rest.to_string())
            }
            Some(_) => ("docker.io".to_string(), name.to_string()),
            None => ("docker.io".to_string(), format!("library/{name}")),
        };
        if path.is_empty() || tag_or_digest.is_empty() || host.is_empty() {
            return Err(bad());
        }
        Ok(Reference {
            host,
            path,
            tag_or_digest,
        })
    }

    /// The repository as the engine names it: `HOST/PATH` (without tag).
    pub fn repository(&self) -> String {
        format!("{}/{}", self.host, self.path)
    }
}

/// Whether the registry at `host` (with port) may be talked to over plain HTTP.
pub fn plain_http_allowed(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.split(':').next().unwrap_or(""),
    };
    name == "localhost"
        || name == "::1"
        || name
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The repository of stages kept in one engine only (`conveyor build` without `--repo`):
/// never pushed, never looked up or pulled from a registry.
pub const LOCAL_ONLY_PREFIX: &str = "conveyor-stages/";

/// True for a stage reference that lives in one engine only (see [`LOCAL_ONLY_PREFIX`]).
pub fn is_local_only(reference: &str) -> bool {
    reference.starts_with(LOCAL_ONLY_PREFIX)
}

/// Looks `reference` up on the engine, then in the registry. `Ok(None)`: nowhere.
pub async fn lookup(
    docker: &Docker,
    credentials: &Credentials,
    reference: &str,
) -> Result<Option<Found>, CacheError> {
    let parsed = Reference::parse(reference)?;
    match docker.inspect_image(reference).await {
        Ok(image) => {
            let prefix = format!("{}@", parsed.repository());
            let digest = image
                .repo_digests
                .unwrap_or_default()
                .iter()
                .find_map(|d| d.strip_prefix(&prefix).map(str::to_string));
            return Ok(Some(Found {
                reference: reference.to_string(),
                location: Location::Local,
                digest,
            }));
        }
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => {}
        Err(source) => {
            return Err(CacheError::Engine {
                reference: reference.to_string(),
                source,
            })
        }
    }
    if is_local_only(reference) {
        return Ok(None);
    }
    Ok(registry_digest(credentials, &parsed, reference)
        .await?
        .map(|digest| Found {
            reference: reference.to_string(),
            location: Location::Registry,
            digest: Some(digest),
        }))
}

/// `HEAD /v2/PATH/manifests/TAG`: the manifest digest if the registry holds the reference.
///
/// The reference is a stage's, so the stage registry's credentials apply
/// ([`Credentials::get_stage`]). The request goes out anonymously first; on `401` it is
/// answered as the registry's `WWW-Authenticate` challenge asks: `Basic` with the
/// credentials, or `Bearer` with a token fetched from the challenge's realm (with basic auth
/// when there are credentials, anonymously otherwise).
pub async fn registry_digest(
    credentials: &Credentials,
    parsed: &Reference,
    reference: &str,
) -> Result<Option<String>, CacheError> {
    if !plain_http_allowed(&parsed.host) {
        return Err(CacheError::UnsupportedRegistry(parsed.host.clone()));
    }
    let failed = |message: String| CacheError::Registry {
        reference: reference.to_string(),
        message,
    };
    let url = format!(
        "http://{}/v2/{}/manifests/{}",
        parsed.host, parsed.path, parsed.tag_or_digest
    );
    let client = Client::builder(TokioExecutor::new()).build_http();
    let auth = credentials.get_stage(&parsed.host);
    let mut response = head_manifest(&client, &url, None).await.map_err(failed)?;
    if response.status() == hyper::StatusCode::UNAUTHORIZED {
        let challenge = response
            .headers()
            .get_all(hyper::header::WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(parse_challenge);
        let authorization = match challenge {
            Some(Challenge::Basic) => match auth {
                Some(auth) => auth.basic_header(),
                None => return Err(unauthorized(parsed, None)),
            },
            Some(Challenge::Bearer {
                realm,
                service,
                scope,
            }) => {
                let scope = scope.unwrap_or_else(|| format!("repository:{}:pull", parsed.path));
                let token = fetch_token(
                    &client,
                    &parsed.host,
                    &realm,
                    service.as_deref(),
                    &scope,
                    auth,
                )
                .await
                .map_err(failed)?;
                format!("Bearer {token}")
            }
            None => {
                return Err(failed(format!(
                    "HEAD {url}: HTTP 401 without a Basic or Bearer challenge"
                )))
            }
        };
        response = head_manifest(&client, &url, Some(&authorization))
            .await
            .map_err(failed)?;
    }
    match response.status().as_u16() {
        200 => {
            let digest = response
                .headers()
                .get("docker-content-digest")
                .and_then(|v| v.to_str().ok())
                .filter(|v| v.starts_with("sha256:"))
                .ok_or_else(|| failed(format!("HEAD {url}: no Docker-Content-Digest")))?;
            Ok(Some(digest.to_string()))
        }
        404 => Ok(None),
        401 | 403 => Err(unauthorized(parsed, auth)),
        status => Err(failed(format!("HEAD {url}: HTTP {status}"))),
    }
}

type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Empty<Bytes>>;

fn unauthorized(parsed: &Reference, auth: Option<&Auth>) -> CacheError {
    CacheError::Unauthorized {
        registry: parsed.host.clone(),
        user: auth.map(|a| a.username.clone()),
    }
}

/// One manifest `HEAD`, with `authorization` (never shown in errors) if given.
async fn head_manifest(
    client: &HttpClient,
    url: &str,
    authorization: Option<&str>,
) -> Result<hyper::Response<hyper::body::Incoming>, String> {
    let mut request = hyper::Request::head(url).header(hyper::header::ACCEPT, MANIFEST_ACCEPT);
    if let Some(value) = authorization {
        request = request.header(hyper::header::AUTHORIZATION, value);
    }
    let request = request
        .body(Empty::<Bytes>::new())
        .map_err(|e| format!("bad request {url}: {e}"))?;
    tokio::time::timeout(REGISTRY_TIMEOUT, client.request(request))
        .await
        .map_err(|_| format!("HEAD {url} timed out"))?
        .map_err(|e| format!("HEAD {url}: {e}"))
}

/// A registry's `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    /// `Basic realm="..."`: send the credentials themselves.
    Basic,
    /// `Bearer realm="...",service="...",scope="..."`: get a token from `realm` first.
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

/// Parses one `WWW-Authenticate` value (`SCHEME k="v", k=v, ...`; quoted values may hold
/// commas and `\`-escapes). None for other schemes or a Bearer challenge without a realm.
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, mut rest) = header
        .split_once(|c: char| c.is_ascii_whitespace())
        .unwrap_or((header, ""));
    let mut params: Vec<(String, String)> = Vec::new();
    loop {
        rest = rest.trim_start_matches(|c: char| c == ',' || c.is_ascii_whitespace());
        if rest.is_empty() {
            break;
        }
        let (key, after) = rest.split_once('=')?;
        let key = key.trim().to_ascii_lowercase();
        let after = after.trim_start();
        let value;
        if let Some(quoted) = after.strip_prefix('"') {
            let mut out = String::new();
            let mut chars = quoted.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => out.extend(chars.next().map(|(_, c)| c)),
                    '"' => {
                        end = Some(i + 1);
                        break;
                    }
                    c => out.push(c),
                }
            }
            value = out;
            rest = &quoted[end?..];
        } else {
            let end = after.find(',').unwrap_or(after.len());
            value = after[..end].trim().to_string();
            rest = &after[end..];
        }
        params.push((key, value));
    }
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    if scheme.eq_ignore_ascii_case("basic") {
        Some(Challenge::Basic)
    } else if scheme.eq_ignore_ascii_case("bearer") {
        Some(Challenge::Bearer {
            realm: param("realm").filter(|r| !r.is_empty())?,
            service: param("service"),
            scope: param("scope"),
        })
    } else {
        None
    }
}

/// The URL of a token request: `REALM?service=S&scope=X` (values percent-encoded).
pub fn token_url(realm: &str, service: Option<&str>, scope: &str) -> String {
    let mut url = realm.to_string();
    let mut sep = if realm.contains('?') { '&' } else { '?' };
    for (key, value) in [("service", service), ("scope", Some(scope))] {
        if let Some(value) = value {
            url.push(sep);
            url.push_str(key);
            url.push('=');
            url.push_str(&percent_encode(value));
            sep = '&';
        }
    }
    url
}

fn percent_encode(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Gets a bearer token from a registry's token service (plain HTTP on a loopback host only:
/// credentials never travel unencrypted off the machine). The token is never put in errors.
async fn fetch_token(
    client: &HttpClient,
    registry: &str,
    realm: &str,
    service: Option<&str>,
    scope: &str,
    auth: Option<&Auth>,
) -> Result<String, String> {
    let realm_host = realm
        .strip_prefix("http://")
        .map(|rest| rest.split(['/', '?']).next().unwrap_or(""))
        .filter(|host| plain_http_allowed(host))
        .ok_or_else(|| {
            format!(
                "registry `{registry}` asks for a token from `{realm}`, which is not supported \
                 yet: only plain-HTTP token services on loopback hosts are"
            )
        })?;
    let url = token_url(realm, service, scope);
    let mut request = hyper::Request::get(&url);
    if let Some(auth) = auth {
        request = request.header(hyper::header::AUTHORIZATION, auth.basic_header());
    }
    let request = request
        .body(Empty::<Bytes>::new())
        .map_err(|e| format!("bad token request {url}: {e}"))?;
    let response = tokio::time::timeout(REGISTRY_TIMEOUT, client.request(request))
        .await
        .map_err(|_| format!("GET {url} timed out"))?
        .map_err(|e| format!("GET {url}: {e}"))?;
    let status = response.status().as_u16();
    if status == 401 || status == 403 {
        return Err(match auth {
            Some(auth) => format!(
                "the token service of `{registry}` ({realm_host}) refused the credentials of \
                 user `{}`",
                auth.username
            ),
            None => format!(
                "the token service of `{registry}` ({realm_host}) requires credentials and none \
                 are configured for `{registry}`"
            ),
        });
    }
    if status != 200 {
        return Err(format!("GET {url}: HTTP {status}"));
    }
    let body = tokio::time::timeout(REGISTRY_TIMEOUT, response.into_body().collect())
        .await
        .map_err(|_| format!("GET {url} timed out"))?
        .map_err(|e| format!("GET {url}: {e}"))?
        .to_bytes();
    #[derive(serde::Deserialize)]
    struct TokenAnswer {
        token: Option<String>,
        access_token: Option<String>,
    }
    let answer: TokenAnswer =
        serde_json::from_slice(&body).map_err(|e| format!("GET {url}: not a token answer: {e}"))?;
    answer
        .token
        .or(answer.access_token)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| format!("GET {url}: the answer holds no token"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_into_host_path_and_tag() {
        let r = Reference::parse("localhost:5000/conveyor/app:abc123").unwrap();
        assert_eq!(
            (r.host.as_str(), r.path.as_str(), r.tag_or_digest.as_str()),
            ("localhost:5000", "conveyor/app", "abc123")
        );
        let r = Reference::parse("busybox").unwrap();
        assert_eq!(r.repository(), "docker.io/library/busybox");
        assert_eq!(r.tag_or_digest, "latest");
        let r = Reference::parse("localhost:5000/x@sha256:00").unwrap();
        assert_eq!(
            (r.path.as_str(), r.tag_or_digest.as_str()),
            ("x", "sha256:00")
        );
        let r = Reference::parse("localhost:5000/x").unwrap();
        assert_eq!(
            (r.host.as_str(), r.tag_or_digest.as_str()),
            ("localhost:5000", "latest")
        );
        assert!(Reference::parse("localhost:5000/").is_err());
    }

    #[test]
    fn plain_http_only_on_loopback() {
        for ok in [
            "localhost:5000",
            "localhost",
            "127.0.0.1:5000",
            "[::1]:5000",
        ] {
            assert!(plain_http_allowed(ok), "{ok}");
        }
        for no in [
            "registry.example.com",
            "10.0.0.1:5000",
            "docker.io",
            "localhost.evil:1",
        ] {
            assert!(!plain_http_allowed(no), "{no}");
        }
    }
    #[test]
    fn challenges_are_parsed() {
        assert_eq!(
            parse_challenge(
                r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull,push""#
            ),
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:library/busybox:pull,push".into()),
            })
        );
        assert_eq!(
            parse_challenge(
                r#"bearer  realm = "http://127.0.0.1:9/t" , error="insufficient_scope""#
            ),
            Some(Challenge::Bearer {
                realm: "http://127.0.0.1:9/t".into(),
                service: None,
                scope: None,
            })
        );
        assert_eq!(
            parse_challenge(r#"Bearer realm=http://x/t,service=s\"q"#),
            Some(Challenge::Bearer {
                realm: "http://x/t".into(),
                service: Some(r#"s\"q"#.into()),
                scope: None,
            })
        );
        assert_eq!(
            parse_challenge(r#"Bearer realm="a\"b\\c""#),
            Some(Challenge::Bearer {
                realm: r#"a"b\c"#.into(),
                service: None,
                scope: None,
            })
        );
        assert_eq!(
            parse_challenge(r#"Basic realm="Registry Realm""#),
            Some(Challenge::Basic)
        );
        assert_eq!(parse_challenge("Basic"), Some(Challenge::Basic));
        for bad in [
            r#"Bearer service="s""#,
            r#"Bearer realm="unterminated"#,
            r#"Negotiate abc"#,
            "",
        ] {
            assert_eq!(parse_challenge(bad), None, "{bad}");
        }
    }

    #[test]
    fn token_urls_carry_service_and_scope() {
        assert_eq!(
            token_url(
                "http://127.0.0.1:5001/token",
                Some("my registry"),
                "repository:a/b:pull,push"
            ),
            "http://127.0.0.1:5001/token?service=my%20registry&scope=repository%3Aa%2Fb%3Apull%2Cpush"
        );
        assert_eq!(
            token_url("http://h/t?x=1", None, "s"),
            "http://h/t?x=1&scope=s"
        );
    }

    /// A fake registry with a token service on one loopback port: `HEAD` without the right
    /// bearer token gets a Bearer challenge; `/token` wants basic auth `u:p`. Returns its
    /// address and the requests it saw (`METHOD PATH AUTHORIZATION`).
    async fn token_registry() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (realm, log) = (format!("http://{addr}/token"), seen.clone());
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let (realm, log) = (realm.clone(), log.clone());
                tokio::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut lines = BufReader::new(read).lines();
                    loop {
                        let Ok(Some(first)) = lines.next_line().await else {
                            return;
                        };
                        let mut authorization = String::new();
                        while let Ok(Some(line)) = lines.next_line().await {
                            if line.is_empty() {
                                break;
                            }
                            if let Some((k, v)) = line.split_once(':') {
                                if k.eq_ignore_ascii_case("authorization") {
                                    authorization = v.trim().to_string();
                                }
                            }
                        }
                        let mut parts = first.split(' ');
                        let (method, path) = (parts.next().unwrap(), parts.next().unwrap());
                        log.lock()
                            .unwrap()
                            .push(format!("{method} {path} {authorization}"));
                        let reply = if path.starts_with("/token?") {
                            if authorization == "Basic dTpw" {
                                let body = r#"{"token":"tok-123"}"#;
                                format!(
                                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
                                    body.len()
                                )
                            } else {
                                "HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\n\r\n".into()
                            }
                        } else if authorization == "Bearer tok-123" {
                            "HTTP/1.1 200 OK\r\ndocker-content-digest: sha256:abc\r\n\
                             content-length: 0\r\n\r\n"
                                .into()
                        } else {
                            format!(
                                "HTTP/1.1 401 Unauthorized\r\nwww-authenticate: Bearer \
                                 realm=\"{realm}\",service=\"fake\",\
                                 scope=\"repository:x/y:pull\"\r\ncontent-length: 0\r\n\r\n"
                            )
                        };
                        if write.write_all(reply.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (addr, seen)
    }

    #[tokio::test]
    async fn the_bearer_token_flow_uses_basic_auth_for_the_token() {
        let (addr, seen) = token_registry().await;
        let reference = format!("{addr}/x/y:t");
        let parsed = Reference::parse(&reference).unwrap();
        let (creds, _) = Credentials::parse_docker_config(
            &format!(r#"{{"auths": {{"http://{addr}": {{"auth": "dTpw"}}}}}}"#),
            std::path::Path::new("config.json"),
        )
        .unwrap();
        let digest = registry_digest(&creds, &parsed, &reference).await.unwrap();
        assert_eq!(digest.as_deref(), Some("sha256:abc"));
        assert_eq!(
            *seen.lock().unwrap(),
            [
                "HEAD /v2/x/y/manifests/t ".to_string(),
                "GET /token?service=fake&scope=repository%3Ax%2Fy%3Apull Basic dTpw".into(),
                "HEAD /v2/x/y/manifests/t Bearer tok-123".into(),
            ]
        );

        let err = registry_digest(&Credentials::default(), &parsed, &reference)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&addr) && err.contains("requires credentials"),
            "{err}"
        );
        let wrong = Credentials::default().with_user(
            Auth {
                username: "u".into(),
                password: "wrong-secret".into(),
            },
            &[],
        );
        let err = registry_digest(&wrong, &parsed, &reference)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`u`") && !err.contains("wrong-secret"),
            "{err}"
        );
    }
}
