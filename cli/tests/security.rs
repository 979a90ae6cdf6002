//! The coordinator's token and TLS, as users run them: `conveyor coordinator --token-file`
//! (and `--tls-cert`/`--tls-key`) as a process, called with gRPC clients and with
//! `conveyor build --coordinator`. Only calls that need no Docker engine are made (Plan, a
//! Submit the coordinator refuses, health, reflection, Attach).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use conveyor_proto::v1::workers_client::WorkersClient;
use conveyor_proto::v1::{worker_message, Hello, PlanRequest, Project, WorkerMessage};
use conveyor_worker::remote::{Remote, Token};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

mod common;
use common::free_port;

const CONFIG: &str = "project: sec\nconfigVersion: 1\n---\nimage: app\nfrom: alpine\n\
shell:\n  install: [\"echo hi\"]\n";

fn conveyor() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_conveyor"));
    // The tests say which files they mean; the environment must not add any.
    for var in [
        "CONVEYOR_TOKEN_FILE",
        "CONVEYOR_TLS_CA",
        "CONVEYOR_TLS_CERT",
        "CONVEYOR_TLS_KEY",
    ] {
        command.env_remove(var);
    }
    command
}

/// A `conveyor coordinator` process, logging everything (`--log trace`) to a file: the token
/// must not appear there.
struct Coordinator {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Coordinator {
    fn start(dir: &Path, args: &[&str]) -> Coordinator {
        let port = free_port();
        let log = dir.join("coordinator.log");
        let child = conveyor()
            .args(["--log", "trace", "coordinator", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("--db")
            .arg(dir.join("db"))
            .args(args)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut coordinator = Coordinator { child, port, log };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = coordinator.child.try_wait().unwrap() {
                panic!(
                    "the coordinator exited ({status}): {}",
                    coordinator.logged()
                );
            }
            assert!(Instant::now() < deadline, "the coordinator listens");
            std::thread::sleep(Duration::from_millis(50));
        }
        coordinator
    }

    fn logged(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Coordinator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn project() -> Project {
    Project {
        config_name: "werf.yaml".into(),
        config: CONFIG.into(),
        files: Default::default(),
        env: Default::default(),
    }
}

fn remote(url: &str, token: Option<&str>, ca: Option<&[u8]>) -> Remote {
    let mut remote = Remote::new(url);
    if let Some(token) = token {
        remote = remote.with_token(Token::new(token.into()).unwrap());
    }
    remote.tls_ca = ca.map(<[u8]>::to_vec);
    remote
}

/// Plans [`CONFIG`] on the coordinator: the number of stages, or the refusal.
async fn plan(remote: &Remote) -> Result<usize, tonic::Status> {
    let mut client = remote
        .builds()
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    let plan = client
        .plan(PlanRequest {
            project: Some(project()),
        })
        .await?;
    Ok(plan.into_inner().stages.len())
}

fn write(dir: &Path, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

/// `conveyor build --coordinator URL --repo ... ARGS nope` of [`CONFIG`]: `nope` is no image
/// of it, so a coordinator that lets the client in answers with that user error (and no
/// worker is needed).
fn build(dir: &Path, url: &str, args: &[&str]) -> (i32, String) {
    outcome(&mut build_command(dir, url, args))
}

fn build_command(dir: &Path, url: &str, args: &[&str]) -> Command {
    let project = dir.join("project");
    std::fs::create_dir_all(&project).unwrap();
    write(&project, "werf.yaml", CONFIG);
    let mut command = conveyor();
    command
        .args(["build", "--coordinator", url])
        .args(["--repo", "localhost:5000/conveyor-tests/sec"])
        .arg("--dir")
        .arg(&project)
        .args(args)
        .arg("nope");
    command
}

/// A finished command's exit code and stderr.
fn outcome(command: &mut Command) -> (i32, String) {
    let out = command.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const NOT_AN_IMAGE: &str = "No image or artifact called `nope`";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coordinator_with_a_token_refuses_calls_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let token = format!("right-token-{}", std::process::id());
    let token_file = write(dir.path(), "token", format!("{token}\n"));
    let wrong_file = write(dir.path(), "wrong", "wrong-token-42\n");
    let coordinator =
        Coordinator::start(dir.path(), &["--token-file", token_file.to_str().unwrap()]);
    let url = format!("http://127.0.0.1:{}", coordinator.port);

    for (presented, wanted) in [
        (None, "requires a token"),
        (Some("wrong-token-42"), "not this coordinator's"),
    ] {
        let status = plan(&remote(&url, presented, None)).await.unwrap_err();
        assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");
        assert!(status.message().contains(wanted), "{status:?}");
        assert!(
            !status.message().contains("token-42") && !status.message().contains(&token),
            "{status:?}"
        );
    }
    assert_eq!(plan(&remote(&url, Some(&token), None)).await.unwrap(), 2);

    // Workers must present it too.
    let channel = remote(&url, None, None).connect().await.unwrap();
    let hello = WorkerMessage {
        msg: Some(worker_message::Msg::Hello(Hello {
            name: "intruder".into(),
            slots: 1,
            ..Default::default()
        })),
    };
    let attached = WorkersClient::new(channel)
        .attach(tokio_stream::iter(vec![hello]))
        .await
        .unwrap_err();
    assert_eq!(attached.code(), tonic::Code::Unauthenticated);

    // Health stays open for probes; reflection does not.
    let channel = remote(&url, None, None).connect().await.unwrap();
    let health = HealthClient::new(channel.clone())
        .check(HealthCheckRequest {
            service: "conveyor.v1.Builds".into(),
        })
        .await
        .unwrap();
    assert_eq!(health.into_inner().status, ServingStatus::Serving as i32);
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::{server_reflection_request, ServerReflectionRequest};
    let list = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let reflected = ServerReflectionClient::new(channel)
        .server_reflection_info(tokio_stream::iter(vec![list]))
        .await
        .unwrap_err();
    assert_eq!(reflected.code(), tonic::Code::Unauthenticated);

    // `conveyor build`: refused without the token or with the wrong one (exit 2, told to
    // pass --token-file); let in with it (from the flag or CONVEYOR_TOKEN_FILE).
    for args in [vec![], vec!["--token-file", wrong_file.to_str().unwrap()]] {
        let (code, stderr) = build(dir.path(), &url, &args);
        assert_eq!(code, 2, "{stderr}");
        assert!(stderr.contains("--token-file"), "{stderr}");
        assert!(!stderr.contains("wrong-token-42"), "{stderr}");
    }
    let (code, stderr) = build(
        dir.path(),
        &url,
        &["--token-file", token_file.to_str().unwrap()],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains(NOT_AN_IMAGE), "{stderr}");
    let (code, stderr) =
        outcome(build_command(dir.path(), &url, &[]).env("CONVEYOR_TOKEN_FILE", &token_file));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains(NOT_AN_IMAGE), "{stderr}");

    // Everything the coordinator logged, at trace level, holds neither token.
    let logged = coordinator.logged();
    assert!(logged.contains("token required"), "{logged}");
    assert!(logged.lines().count() > 20, "trace logging is on: {logged}");
    assert!(!logged.contains(&token), "the token was logged");
    assert!(
        !logged.contains("wrong-token-42"),
        "a wrong token was logged"
    );
}

/// A self-signed certificate for `localhost` and 127.0.0.1: (certificate PEM, key PEM).
fn self_signed() -> (String, String) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    (certified.cert.pem(), certified.signing_key.serialize_pem())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_coordinator_is_reached_with_its_ca_only() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed();
    let cert_file = write(dir.path(), "cert.pem", &cert);
    let key_file = write(dir.path(), "key.pem", &key);
    let token_file = write(dir.path(), "token", "tls-token\n");
    let coordinator = Coordinator::start(
        dir.path(),
        &[
            "--token-file",
            token_file.to_str().unwrap(),
            "--tls-cert",
            cert_file.to_str().unwrap(),
            "--tls-key",
            key_file.to_str().unwrap(),
        ],
    );
    let port = coordinator.port;
    let https = format!("https://localhost:{port}");

    // With the CA (and the token): in, by name and by address.
    let ca = cert.as_bytes();
    assert_eq!(
        plan(&remote(&https, Some("tls-token"), Some(ca)))
            .await
            .unwrap(),
        2
    );
    let by_ip = format!("https://127.0.0.1:{port}");
    assert_eq!(
        plan(&remote(&by_ip, Some("tls-token"), Some(ca)))
            .await
            .unwrap(),
        2
    );
    // TLS does not replace the token.
    let status = plan(&remote(&https, None, Some(ca))).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");

    // Without TLS, without the CA (the system's CAs do not know it), or with another CA: out.
    let (other, _) = self_signed();
    for (url, ca) in [
        (format!("http://localhost:{port}"), None),
        (https.clone(), None),
        (https.clone(), Some(other.as_bytes())),
    ] {
        let err = plan(&remote(&url, Some("tls-token"), ca))
            .await
            .unwrap_err();
        assert_ne!(err.code(), tonic::Code::Ok);
        assert_ne!(err.code(), tonic::Code::Unauthenticated, "{err:?}");
    }
    let err = plan(&remote(&https, Some("tls-token"), Some(other.as_bytes())))
        .await
        .unwrap_err();
    assert!(err.message().contains("certificate"), "{err:?}");

    // `conveyor build` with --tls-ca gets in (and to the user error about `nope`); without it
    // the coordinator is unreachable (exit 3).
    let args = [
        "--token-file",
        token_file.to_str().unwrap(),
        "--tls-ca",
        cert_file.to_str().unwrap(),
    ];
    let (code, stderr) = build(dir.path(), &https, &args);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains(NOT_AN_IMAGE), "{stderr}");
    let (code, stderr) = build(dir.path(), &https, &args[..2]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("Cannot reach the coordinator"), "{stderr}");
    assert!(!coordinator.logged().contains("tls-token"));
}

/// Runs `conveyor ARGS`: exit code and stderr.
fn run(args: &[&str]) -> (i32, String) {
    outcome(conveyor().args(args))
}

#[test]
fn bad_secret_files_are_user_errors_that_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let db = d("db");
    let (cert, key) = self_signed();
    write(dir.path(), "cert.pem", &cert);
    write(dir.path(), "key.pem", &key);
    write(dir.path(), "empty", "\n");
    write(dir.path(), "spaced", "secret with spaces\n");
    write(dir.path(), "garbage.pem", "not a certificate\n");

    let coordinator = |extra: &[&str]| {
        let mut args = vec!["coordinator", "--listen", "127.0.0.1:0", "--db", &db];
        args.extend_from_slice(extra);
        run(&args)
    };
    for (args, file, wanted) in [
        (vec!["--token-file", &d("empty")], "empty", "is empty"),
        (
            vec!["--token-file", &d("missing")],
            "missing",
            "cannot read",
        ),
        (
            vec!["--token-file", &d("spaced")],
            "spaced",
            "printable ASCII",
        ),
        (
            vec!["--tls-cert", &d("garbage.pem"), "--tls-key", &d("key.pem")],
            "garbage.pem",
            "no PEM certificate",
        ),
        (
            vec!["--tls-cert", &d("cert.pem"), "--tls-key", &d("cert.pem")],
            "cert.pem",
            "no PEM private key",
        ),
        (
            vec!["--tls-cert", &d("missing.pem"), "--tls-key", &d("key.pem")],
            "missing.pem",
            "Cannot read `--tls-cert`",
        ),
    ] {
        let (code, stderr) = coordinator(&args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(
            stderr.contains(file) && stderr.contains(wanted),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("secret with"), "{stderr}");
    }
    let (code, stderr) = coordinator(&["--tls-cert", &d("cert.pem")]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--tls-key"), "{stderr}");

    // Clients: a bad CA file, a CA for a plain URL (the token would travel in clear), an
    // empty token file.
    for (url, args, wanted) in [
        (
            "https://127.0.0.1:1",
            ["--tls-ca", &d("garbage.pem")],
            "garbage.pem",
        ),
        (
            "http://127.0.0.1:1",
            ["--tls-ca", &d("cert.pem")],
            "not an `https://` URL",
        ),
        (
            "http://127.0.0.1:1",
            ["--token-file", &d("empty")],
            "is empty",
        ),
    ] {
        let (code, stderr) = build(dir.path(), url, &args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(wanted), "{args:?}: {stderr}");
    }
}
