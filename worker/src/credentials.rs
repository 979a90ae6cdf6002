//! Registry credentials: a username and password per registry host, for pulls and pushes
//! through the engine and for the stage cache's manifest lookups.
//!
//! Two sources, the first that has an entry for a host wins:
//!
//! 1. The command line (`--registry-user U --registry-password-file F`). With one or more
//!    `--registry-host H` they apply to those hosts only. Without any, they apply to the
//!    *stage registry*: the registry of each task's target (`REPO:SIGNATURE`), which is also
//!    where parent stages and import sources are pulled from. Base images from other registries
//!    (docker.io, ...) are then pulled with config.json's credentials or anonymously: a
//!    password for a private registry is never offered to a public one, where the wrong
//!    credentials would also make public pulls fail.
//! 2. Docker's `config.json` (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`):
//!    `auths` entries with `auth` (base64 of `user:password`) or `username` and `password`.
//!    Credential helpers (`credsStore`, `credHelpers`) and identity tokens are not supported:
//!    loading reports a warning naming them, and those registries are used anonymously.
//!
//! Hosts are matched like Docker does: a key may carry a scheme and a path
//! (`https://index.docker.io/v1/`, `http://localhost:5000`), which are ignored, and the Docker
//! Hub aliases (`index.docker.io`, `registry-1.docker.io`, `registry.hub.docker.com`) are all
//! `docker.io`.
//!
//! Secrets stay on the worker: they only go to the engine (`X-Registry-Auth`) and to the
//! registry (or its token service). `Debug` redacts them, and no message names them.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;

/// Docker Hub's name in references.
const DOCKER_HUB: &str = "docker.io";
/// Docker Hub's key in config.json and its `serveraddress` for the engine.
const DOCKER_HUB_INDEX: &str = "https://index.docker.io/v1/";

/// A username and password for one registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Auth {
    pub username: String,
    pub password: String,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl Auth {
    /// The credentials the engine is given for a pull from or a push to `host`.
    pub fn docker(&self, host: &str) -> bollard::auth::DockerCredentials {
        let host = normalize_host(host);
        let serveraddress = if host == DOCKER_HUB {
            DOCKER_HUB_INDEX.to_string()
        } else {
            host
        };
        bollard::auth::DockerCredentials {
            username: Some(self.username.clone()),
            password: Some(self.password.clone()),
            serveraddress: Some(serveraddress),
            ..Default::default()
        }
    }

    /// The value of an `Authorization: Basic ...` header.
    pub fn basic_header(&self) -> String {
        let pair = format!("{}:{}", self.username, self.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("password file {} is empty", .0.display())]
    EmptyPassword(PathBuf),
    #[error("{}: {message}", .path.display())]
    BadConfig { path: PathBuf, message: String },
}

/// Registry credentials by host. `Credentials::default()` is anonymous everywhere.
#[derive(Clone, Default)]
pub struct Credentials {
    /// From the command line, for the hosts given with `--registry-host`.
    flags: HashMap<String, Auth>,
    /// From the command line without `--registry-host`: for each task's stage registry.
    stage_registry: Option<Auth>,
    /// From Docker's config.json.
    config: HashMap<String, Auth>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Auth's Debug redacts the passwords; sorted so the output is stable.
        let sorted = |m: &HashMap<String, Auth>| -> BTreeMap<String, Auth> {
            m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
        };
        f.debug_struct("Credentials")
            .field("flags", &sorted(&self.flags))
            .field("stage_registry", &self.stage_registry)
            .field("config", &sorted(&self.config))
            .finish()
    }
}

impl Credentials {
    /// The credentials of Docker's config.json at [`docker_config_path`]; none (and no
    /// warning) when there is no such file. Returns warnings about what is not supported.
    pub fn from_docker_config() -> Result<(Credentials, Vec<String>), CredentialsError> {
        match docker_config_path() {
            Some(path) => Credentials::from_docker_config_file(&path),
            None => Ok((Credentials::default(), Vec::new())),
        }
    }

    /// The credentials of the config.json at `path`; none when the file does not exist.
    pub fn from_docker_config_file(
        path: &Path,
    ) -> Result<(Credentials, Vec<String>), CredentialsError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Credentials::parse_docker_config(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Ok((Credentials::default(), Vec::new()))
            }
            Err(source) => Err(CredentialsError::Read {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Parses the text of a config.json (`path` only names it in messages and warnings).
    pub fn parse_docker_config(
        text: &str,
        path: &Path,
    ) -> Result<(Credentials, Vec<String>), CredentialsError> {
        let bad = |message: String| CredentialsError::BadConfig {
            path: path.to_path_buf(),
            message,
        };
        let file: ConfigFile =
            serde_json::from_str(text).map_err(|e| bad(format!("not a Docker config: {e}")))?;
        let shown = path.display();
        let mut warnings = Vec::new();
        if let Some(store) = file.creds_store.filter(|s| !s.is_empty()) {
            warnings.push(format!(
                "{shown}: credential store `{store}` (credsStore) is not supported; registries \
                 whose credentials are kept there are used anonymously"
            ));
        }
        let mut helpers: Vec<&String> = file.cred_helpers.keys().collect();
        helpers.sort();
        for host in helpers {
            warnings.push(format!(
                "{shown}: credential helper for `{host}` (credHelpers) is not supported; it is \
                 used anonymously unless `auths` or the command line give credentials"
            ));
        }
        let mut config = HashMap::new();
        let mut keys: Vec<(&String, &AuthEntry)> = file.auths.iter().collect();
        keys.sort_by_key(|(k, _)| *k);
        for (key, entry) in keys {
            let host = normalize_host(key);
            let auth = match (&entry.auth, &entry.username, &entry.password) {
                (Some(encoded), _, _) if !encoded.is_empty() => {
                    let decoded = base64::engine::general_purpose::STANDARD
                        .decode(encoded.trim())
                        .ok()
                        .and_then(|b| String::from_utf8(b).ok())
                        .ok_or_else(|| bad(format!("auths.`{key}`.auth is not base64 text")))?;
                    let (username, password) = decoded
                        .split_once(':')
                        .ok_or_else(|| bad(format!("auths.`{key}`.auth is not `user:password`")))?;
                    Auth {
                        username: username.to_string(),
                        password: password.to_string(),
                    }
                }
                (_, Some(username), Some(password)) if !username.is_empty() => Auth {
                    username: username.clone(),
                    password: password.clone(),
                },
                _ => {
                    if entry
                        .identitytoken
                        .as_deref()
                        .is_some_and(|t| !t.is_empty())
                    {
                        warnings.push(format!(
                            "{shown}: the identity token for `{key}` is not supported; it is \
                             used anonymously"
                        ));
                    }
                    // `{}`: kept by a credential store (warned above), or nothing at all.
                    continue;
                }
            };
            config.insert(host, auth);
        }
        Ok((
            Credentials {
                config,
                ..Credentials::default()
            },
            warnings,
        ))
    }

    /// Adds the command line's credentials: for `hosts`, or for the stage registry when
    /// `hosts` is empty. They take precedence over config.json.
    pub fn with_user(mut self, auth: Auth, hosts: &[String]) -> Credentials {
        if hosts.is_empty() {
            self.stage_registry = Some(auth);
        } else {
            for host in hosts {
                self.flags.insert(normalize_host(host), auth.clone());
            }
        }
        self
    }

    /// The credentials for `host`: the command line's for that host, else config.json's.
    pub fn get(&self, host: &str) -> Option<&Auth> {
        let host = normalize_host(host);
        self.flags.get(&host).or_else(|| self.config.get(&host))
    }

    /// The credentials for `host` when it is the stage registry: as [`Credentials::get`], but
    /// the command line's credentials without `--registry-host` apply too (before config.json).
    pub fn get_stage(&self, host: &str) -> Option<&Auth> {
        let key = normalize_host(host);
        self.flags
            .get(&key)
            .or(self.stage_registry.as_ref())
            .or_else(|| self.config.get(&key))
    }

    /// These credentials for a task whose stage registry is `stage_host`: [`Credentials::get`]
    /// of the result gives the stage registry's credentials for that host.
    pub fn for_stage_registry(&self, stage_host: &str) -> Credentials {
        let mut out = self.clone();
        if let Some(auth) = out.stage_registry.take() {
            out.flags.entry(normalize_host(stage_host)).or_insert(auth);
        }
        out
    }

    /// Where credentials are configured, without secrets (for a start-up message): hosts
    /// and usernames.
    pub fn summary(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut flags: Vec<_> = self.flags.iter().collect();
        flags.sort_by_key(|(k, _)| *k);
        for (host, auth) in flags {
            out.push(format!("{host} as {} (command line)", auth.username));
        }
        if let Some(auth) = &self.stage_registry {
            out.push(format!(
                "the stage registry as {} (command line)",
                auth.username
            ));
        }
        let mut config: Vec<_> = self.config.iter().collect();
        config.sort_by_key(|(k, _)| *k);
        for (host, auth) in config {
            if !self.flags.contains_key(host) {
                out.push(format!("{host} as {} (config.json)", auth.username));
            }
        }
        out
    }
}

/// Reads a password file once: its content without the trailing line break. Empty is an error.
pub fn read_password_file(path: &Path) -> Result<String, CredentialsError> {
    let password = read_secret_file(path).map_err(|source| CredentialsError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if password.is_empty() {
        return Err(CredentialsError::EmptyPassword(path.to_path_buf()));
    }
    Ok(password)
}

/// A secret file's content without its trailing line breaks (password and token files).
pub(crate) fn read_secret_file(path: &Path) -> std::io::Result<String> {
    let text = std::fs::read_to_string(path)?;
    Ok(text.trim_end_matches(['\n', '\r']).to_string())
}

/// `$DOCKER_CONFIG/config.json`, else `$HOME/.docker/config.json` (None without either).
pub fn docker_config_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|home| PathBuf::from(home).join(".docker").join("config.json"))
}

/// A registry's key as Docker matches it: no scheme, no path, lower case, Docker Hub's
/// aliases as `docker.io`.
pub fn normalize_host(key: &str) -> String {
    let key = key.trim();
    let rest = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let host = rest.split('/').next().unwrap_or("").to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            DOCKER_HUB.to_string()
        }
        _ => host,
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct ConfigFile {
    auths: HashMap<String, AuthEntry>,
    #[serde(rename = "credsStore")]
    creds_store: Option<String>,
    #[serde(rename = "credHelpers")]
    cred_helpers: HashMap<String, String>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct AuthEntry {
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
    identitytoken: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (Credentials, Vec<String>) {
        Credentials::parse_docker_config(text, Path::new("/home/u/.docker/config.json")).unwrap()
    }

    fn auth(user: &str, password: &str) -> Auth {
        Auth {
            username: user.into(),
            password: password.into(),
        }
    }

    #[test]
    fn config_json_auth_and_username_forms() {
        // "alice:s3cr:et" (a password may hold colons) and "bob:pw".
        let encoded = base64::engine::general_purpose::STANDARD.encode("alice:s3cr:et");
        let text = format!(
            r#"{{"auths": {{
                "https://index.docker.io/v1/": {{"auth": "{encoded}"}},
                "localhost:5000": {{"username": "bob", "password": "pw"}},
                "http://Registry.Example.com:8443/v2/": {{"auth": "{}"}},
                "empty.example.com": {{}}
            }}}}"#,
            base64::engine::general_purpose::STANDARD.encode("carol:x")
        );
        let (creds, warnings) = parse(&text);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(creds.get("docker.io"), Some(&auth("alice", "s3cr:et")));
        assert_eq!(creds.get("localhost:5000"), Some(&auth("bob", "pw")));
        assert_eq!(
            creds.get("registry.example.com:8443"),
            Some(&auth("carol", "x"))
        );
        assert_eq!(creds.get("empty.example.com"), None);
    }

    #[test]
    fn docker_hub_aliases_match() {
        for key in [
            "https://index.docker.io/v1/",
            "index.docker.io",
            "docker.io",
            "https://registry-1.docker.io",
            "registry.hub.docker.com",
        ] {
            let (creds, _) = parse(&format!(
                r#"{{"auths": {{"{key}": {{"username": "u", "password": "p"}}}}}}"#
            ));
            for host in ["docker.io", "index.docker.io", "registry-1.docker.io"] {
                assert_eq!(creds.get(host), Some(&auth("u", "p")), "{key} for {host}");
            }
            assert_eq!(
                creds
                    .get("docker.io")
                    .unwrap()
                    .docker("docker.io")
                    .serveraddress,
                Some(DOCKER_HUB_INDEX.to_string())
            );
        }
    }

    #[test]
    fn no_match_and_no_file_are_anonymous() {
        let (creds, _) = parse(r#"{"auths": {"localhost:5000": {"auth": "dTpw"}}}"#);
        assert_eq!(creds.get("localhost:5000"), Some(&auth("u", "p")));
        for other in ["localhost:5001", "localhost", "127.0.0.1:5000", "docker.io"] {
            assert_eq!(creds.get(other), None, "{other}");
        }
        let (creds, warnings) = parse("{}");
        assert_eq!(creds.get("docker.io"), None);
        assert!(warnings.is_empty());
        let (creds, warnings) =
            Credentials::from_docker_config_file(Path::new("/nonexistent/config.json")).unwrap();
        assert!(creds.summary().is_empty() && warnings.is_empty());
    }

    #[test]
    fn helpers_are_reported_and_bad_entries_refused() {
        let (creds, warnings) = parse(
            r#"{"auths": {"ghcr.io": {}, "quay.io": {"identitytoken": "idtok-77"}},
                "credsStore": "desktop", "credHelpers": {"gcr.io": "gcloud"}}"#,
        );
        assert_eq!(creds.get("ghcr.io"), None);
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(warnings[0].contains("credsStore") && warnings[0].contains("desktop"));
        assert!(warnings[1].contains("credHelpers") && warnings[1].contains("gcr.io"));
        assert!(warnings[2].contains("quay.io") && !warnings[2].contains("idtok-77"));
        for bad in [
            r#"{"auths": {"h": {"auth": "!!!"}}}"#,
            r#"{"auths": {"h": {"auth": "bm9jb2xvbg=="}}}"#,
            "not json",
        ] {
            let err = Credentials::parse_docker_config(bad, Path::new("c.json")).unwrap_err();
            assert!(err.to_string().starts_with("c.json: "), "{err}");
        }
    }

    #[test]
    fn command_line_wins_and_scopes_to_hosts_or_the_stage_registry() {
        let (config, _) = parse(r#"{"auths": {"localhost:5000": {"auth": "dTpw"}}}"#);
        let scoped = config
            .clone()
            .with_user(auth("ci", "pw"), &["http://localhost:5000/".into()]);
        assert_eq!(scoped.get("localhost:5000"), Some(&auth("ci", "pw")));
        assert_eq!(scoped.get("docker.io"), None);

        let stage = config.with_user(auth("ci", "pw"), &[]);
        // Not offered to other registries ...
        assert_eq!(stage.get("docker.io"), None);
        assert_eq!(stage.get("localhost:5000"), Some(&auth("u", "p")));
        // ... but to the stage registry, before config.json.
        assert_eq!(stage.get_stage("localhost:5000"), Some(&auth("ci", "pw")));
        assert_eq!(stage.get_stage("localhost:7000"), Some(&auth("ci", "pw")));
        let task = stage.for_stage_registry("localhost:7000");
        assert_eq!(task.get("localhost:7000"), Some(&auth("ci", "pw")));
        assert_eq!(task.get("docker.io"), None);
        assert_eq!(task.get("localhost:5000"), Some(&auth("u", "p")));
    }

    #[test]
    fn debug_and_summary_redact_passwords() {
        let (creds, _) = parse(
            r#"{"auths": {"localhost:5000": {"username": "bob", "password": "hunter2-config"}}}"#,
        );
        let creds = creds
            .with_user(auth("ci", "hunter2-flag"), &["r.example.com".into()])
            .with_user(auth("ci", "hunter2-stage"), &[]);
        let shown = format!("{creds:?} {creds:#?} {:?}", creds.summary());
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(
            shown.contains("<redacted>") && shown.contains("bob"),
            "{shown}"
        );
        let one = creds.get("localhost:5000").unwrap();
        assert!(!format!("{one:?}").contains("hunter2"));
        assert_eq!(one.basic_header(), "Basic Ym9iOmh1bnRlcjItY29uZmln");
    }

    #[test]
    fn password_files_lose_their_line_break_and_must_not_be_empty() {
        let dir = std::env::temp_dir().join(format!("conveyor-pw-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("pw");
        std::fs::write(&file, "s e c\r\n").unwrap();
        assert_eq!(read_password_file(&file).unwrap(), "s e c");
        std::fs::write(&file, "\n").unwrap();
        let err = read_password_file(&file).unwrap_err();
        assert!(err.to_string().contains(&file.display().to_string()));
        let missing = dir.join("missing");
        let err = read_password_file(&missing).unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
