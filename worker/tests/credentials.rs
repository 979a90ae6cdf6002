//! Registry credentials against a real registry with htpasswd auth that this test starts
//! itself (Debian's `docker-registry` on a free loopback port, data in a temporary directory),
//! on engine 1. Needs the services (`scripts/services.sh up --engines 2`) for the base image.

mod common;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::*;
use conveyor_proto::v1::FailureClass;
use conveyor_worker::cache::{self, CacheError, Location};
use conveyor_worker::credentials::{Auth, Credentials};
use conveyor_worker::executor::{self, StageError};

const USER: &str = "conveyor";
const PASSWORD: &str = "pw-9f3c1e-secret";

/// A `docker-registry` with htpasswd auth; killed and its data removed on drop.
struct AuthRegistry {
    child: Child,
    dir: PathBuf,
    /// `127.0.0.1:PORT`.
    host: String,
}

impl AuthRegistry {
    fn start() -> AuthRegistry {
        let dir = std::env::temp_dir().join(format!(
            "conveyor-auth-registry-{}-{}",
            std::process::id(),
            &random_hex()[..8]
        ));
        std::fs::create_dir_all(dir.join("data")).unwrap();
        let hash = bcrypt::hash_with_result(PASSWORD, 5)
            .unwrap()
            .format_for_version(bcrypt::Version::TwoY);
        std::fs::write(dir.join("htpasswd"), format!("{USER}:{hash}\n")).unwrap();
        // A free port: bound by the OS, released just before the registry takes it.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let host = format!("127.0.0.1:{port}");
        let config = format!(
            "version: 0.1\n\
             log:\n  level: warn\n  accesslog:\n    disabled: true\n\
             storage:\n  filesystem:\n    rootdirectory: {data}\n  delete:\n    enabled: true\n\
             http:\n  addr: {host}\n\
             auth:\n  htpasswd:\n    realm: conveyor-test\n    path: {htpasswd}\n",
            data = dir.join("data").display(),
            htpasswd = dir.join("htpasswd").display(),
        );
        std::fs::write(dir.join("config.yml"), config).unwrap();
        let log = std::fs::File::create(dir.join("registry.log")).unwrap();
        let child = Command::new("/usr/bin/docker-registry")
            .arg("serve")
            .arg(dir.join("config.yml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start /usr/bin/docker-registry");
        let registry = AuthRegistry { child, dir, host };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(&registry.host).is_err() {
            assert!(
                Instant::now() < deadline,
                "the registry did not listen on {}: {}",
                registry.host,
                std::fs::read_to_string(registry.dir.join("registry.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        registry
    }

    fn repo(&self, name: &str) -> String {
        format!(
            "{}/conveyor-tests/{name}-{}-{}",
            self.host,
            std::process::id(),
            &random_hex()[..8]
        )
    }
}

impl Drop for AuthRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn auth(password: &str) -> Auth {
    Auth {
        username: USER.into(),
        password: password.into(),
    }
}

#[tokio::test]
async fn pushes_pulls_and_lookups_use_the_credentials() {
    let registry = AuthRegistry::start();
    let docker = engine1().await;
    let repo = registry.repo("creds");
    let from = from_task(&repo, &base_image());

    // Anonymous: the push is refused, reported as an environment error that names the
    // registry. Not retried four times either (refused access is permanent).
    let anonymous = Credentials::default();
    let started = Instant::now();
    let err = executor::run_stage(&docker, &anonymous, &from, &mut |_| {})
        .await
        .unwrap_err();
    assert_eq!(err.class(), FailureClass::Environment, "{err}");
    let message = err.to_string();
    assert!(message.contains(&registry.host), "{message}");
    assert!(
        message.contains("no credentials are configured"),
        "{message}"
    );
    assert!(started.elapsed() < Duration::from_secs(20), "{message}");

    // A wrong password: refused too, and the message shows no password.
    let wrong = Credentials::default().with_user(auth("wrong-password-1234"), &[]);
    let err = executor::run_stage(&docker, &wrong, &from, &mut |_| {})
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, StageError::Environment(_)), "{message}");
    assert!(message.contains(&registry.host), "{message}");
    assert!(!message.contains("wrong-password-1234"), "{message}");

    // The command line's credentials without --registry-host: for the stage registry.
    let creds = Credentials::default().with_user(auth(PASSWORD), &[]);
    let out = executor::run_stage(&docker, &creds, &from, &mut |_| {})
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.digest.starts_with("sha256:"), "{out:?}");

    // The registry answers a lookup only with credentials (basic auth after the challenge);
    // here they come from a config.json with a scheme in its key.
    forget(&docker, &[&from]).await;
    let parsed = cache::Reference::parse(&from.target).unwrap();
    match cache::lookup(&docker, &anonymous, &from.target).await {
        Err(CacheError::Unauthorized { registry: r, user }) => {
            assert_eq!((r.as_str(), user), (registry.host.as_str(), None))
        }
        other => panic!("anonymous lookup: {other:?}"),
    }
    let err = cache::registry_digest(&wrong, &parsed, &from.target)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&registry.host) && err.contains(USER) && !err.contains("wrong-password"),
        "{err}"
    );
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    let (config, warnings) = Credentials::parse_docker_config(
        &format!(
            r#"{{"auths": {{"http://{}/v2/": {{"auth": "{encoded}"}}}}}}"#,
            registry.host
        ),
        std::path::Path::new("config.json"),
    )
    .unwrap();
    assert!(warnings.is_empty());
    let found = cache::lookup(&docker, &config, &from.target)
        .await
        .unwrap()
        .expect("the stage is in the registry");
    assert_eq!(found.location, Location::Registry);
    assert_eq!(found.digest.as_deref(), Some(out.digest.as_str()));

    // A build stage pulls its parent from the registry: refused anonymously, done with the
    // credentials for that host (`--registry-host` style).
    let build = build_task(&repo, &from, "install", &["echo built > /built"]);
    let err = executor::run_stage(&docker, &anonymous, &build, &mut |_| {})
        .await
        .unwrap_err();
    let message = err.to_string();
    assert_eq!(err.class(), FailureClass::Environment, "{message}");
    assert!(
        message.contains("pulling") && message.contains(&registry.host),
        "{message}"
    );
    let scoped =
        Credentials::default().with_user(auth(PASSWORD), std::slice::from_ref(&registry.host));
    let built = executor::run_stage(&docker, &scoped, &build, &mut |_| {})
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sh(&docker, &build.target, "cat /built").await, "built\n");
    let found = cache::registry_digest(&scoped, &parsed_of(&build.target), &build.target)
        .await
        .unwrap();
    assert_eq!(found.as_deref(), Some(built.digest.as_str()));
    forget(&docker, &[&from, &build]).await;
}

fn parsed_of(reference: &str) -> cache::Reference {
    cache::Reference::parse(reference).unwrap()
}
