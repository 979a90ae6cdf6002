//! The stage executor against the real engines and registry (`scripts/services.sh up
//! --engines 2`): from and build stages, imports, failures, cancellation, and a second engine
//! continuing from the registry. They fail, never skip, when the services are down.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::*;
use conveyor_proto::v1::{DockerInstructions, FailureClass, ImportSpec};
use conveyor_worker::cache::{self, Location};
use conveyor_worker::credentials::Credentials;
use conveyor_worker::executor::StageError;

#[tokio::test]
async fn from_then_build_stages_make_the_image_with_its_instructions() {
    let docker = engine1().await;
    let repo = repo("build");
    let from = from_task(&repo, &base_image());
    let (out, _) = run(&docker, &from).await;
    let out = out.unwrap_or_else(|e| panic!("from stage: {e}"));
    assert_eq!(out.reference, from.target);
    assert!(out.digest.starts_with("sha256:"), "{}", out.digest);
    assert!(out.size > 0);
    let image = docker.inspect_image(&from.target).await.unwrap();
    let base = docker.inspect_image(&base_image()).await.unwrap();
    let (config, base_config) = (image.config.unwrap(), base.config.unwrap());
    assert_eq!(
        config.cmd, base_config.cmd,
        "the from stage keeps the base's cmd"
    );
    assert!(config.entrypoint.unwrap_or_default().is_empty());
    assert_eq!(config.env, base_config.env);
    let labels = config.labels.unwrap();
    assert_eq!(labels["conveyor.signature"], from.signature);
    assert_eq!(labels["conveyor.stage"], "from");
    assert_eq!(labels["conveyor.project"], "conveyor-tests");

    let mut install = build_task(
        &repo,
        &from,
        "install",
        &[
            "mkdir -p /app",
            "echo hello from install > /app/greeting",
            "echo to stderr >&2",
            "printf 'no newline'",
        ],
    );
    install.docker = Some(DockerInstructions {
        env: HashMap::from([
            ("GREETING".into(), "hi \"there\"".into()),
            ("PATH".into(), "/app/bin:$PATH".into()),
        ]),
        label: HashMap::from([("team".into(), "core".into())]),
        workdir: "/app".into(),
        entrypoint: vec!["/bin/cat".into()],
        cmd: vec!["/app/greeting".into()],
        expose: vec!["8080/tcp".into()],
        volume: vec!["/data".into()],
        user: "app".into(),
        healthcheck: "--interval=5s CMD true".into(),
    });
    let (out, log) = run(&docker, &install).await;
    let out = out.unwrap_or_else(|e| panic!("install stage: {e}"));
    assert!(out.digest.starts_with("sha256:"));
    assert!(
        log.iter().any(|l| l.line == "to stderr" && l.stderr),
        "{log:?}"
    );
    assert!(
        log.iter().any(|l| l.line == "no newline" && !l.stderr),
        "{log:?}"
    );

    let image = docker.inspect_image(&install.target).await.unwrap();
    let config = image.config.unwrap();
    let env = config.env.unwrap();
    assert!(
        env.contains(&"GREETING=hi \"there\"".to_string()),
        "{env:?}"
    );
    let path = env.iter().find(|e| e.starts_with("PATH=")).unwrap();
    assert!(
        path.starts_with("PATH=/app/bin:/") && !path.contains('$'),
        "{path}"
    );
    let labels = config.labels.unwrap();
    assert_eq!(labels["team"], "core");
    assert_eq!(labels["conveyor.signature"], install.signature);
    assert_eq!(labels["conveyor.parent"], from.signature);
    assert_eq!(config.working_dir.as_deref(), Some("/app"));
    assert_eq!(config.entrypoint, Some(vec!["/bin/cat".to_string()]));
    assert_eq!(config.cmd, Some(vec!["/app/greeting".to_string()]));
    assert_eq!(config.user.as_deref(), Some("app"));
    assert_eq!(config.exposed_ports, Some(vec!["8080/tcp".to_string()]));
    assert_eq!(config.volumes, Some(vec!["/data".to_string()]));
    let health = config.healthcheck.unwrap();
    assert_eq!(
        health.test,
        Some(vec!["CMD-SHELL".to_string(), "true".to_string()])
    );
    assert_eq!(health.interval, Some(5_000_000_000));

    // The next stage runs its commands despite the entrypoint and the user, and keeps both.
    let setup = build_task(
        &repo,
        &install,
        "setup",
        &["cat greeting > copy", "id -u > uid", "pwd > pwd"],
    );
    let (out, _) = run(&docker, &setup).await;
    let out = out.unwrap_or_else(|e| panic!("setup stage: {e}"));
    assert_eq!(out.digest, registry_digest(&setup).await);
    let files = sh(&docker, &setup.target, "cat /app/copy /app/uid /app/pwd").await;
    assert_eq!(files, "hello from install\n0\n/app\n");
    let config = docker
        .inspect_image(&setup.target)
        .await
        .unwrap()
        .config
        .unwrap();
    assert_eq!(config.entrypoint, Some(vec!["/bin/cat".to_string()]));
    assert_eq!(config.cmd, Some(vec!["/app/greeting".to_string()]));
    assert_eq!(config.user.as_deref(), Some("app"));
    assert_eq!(
        config.labels.unwrap()["conveyor.signature"],
        setup.signature
    );

    assert!(containers_of(&docker, &install.signature).await.is_empty());
    assert!(containers_of(&docker, &setup.signature).await.is_empty());
    let found = cache::lookup(&docker, &Credentials::default(), &setup.target)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.location, Location::Local);
    assert_eq!(
        found.digest.as_deref(),
        Some(registry_digest(&setup).await.as_str())
    );
    forget(&docker, &[&setup, &install, &from]).await;
}

async fn registry_digest(task: &conveyor_proto::v1::StageTask) -> String {
    let parsed = cache::Reference::parse(&task.target).unwrap();
    cache::registry_digest(&Credentials::default(), &parsed, &task.target)
        .await
        .unwrap()
        .expect("pushed")
}

#[tokio::test]
async fn a_stage_without_commands_only_applies_instructions() {
    let docker = engine1().await;
    let repo = repo("instructions");
    let from = from_task(&repo, &base_image());
    run(&docker, &from).await.0.unwrap();
    let mut stage = build_task(&repo, &from, "dockerInstructions", &[]);
    stage.docker = Some(DockerInstructions {
        entrypoint: vec!["/bin/echo".into(), "hi".into()],
        ..Default::default()
    });
    run(&docker, &stage).await.0.unwrap();
    let config = docker
        .inspect_image(&stage.target)
        .await
        .unwrap()
        .config
        .unwrap();
    assert_eq!(
        config.entrypoint,
        Some(vec!["/bin/echo".to_string(), "hi".to_string()])
    );
    // ENTRYPOINT resets the inherited CMD, as in a Dockerfile.
    assert!(config.cmd.unwrap_or_default().is_empty());
    forget(&docker, &[&stage, &from]).await;
}

#[tokio::test]
async fn imports_copy_only_the_included_paths_with_the_owner_asked_for() {
    let docker = engine1().await;
    let repo = repo("import");
    let from = from_task(&repo, &base_image());
    run(&docker, &from).await.0.unwrap();
    let artifact = build_task(
        &repo,
        &from,
        "install",
        &[
            "mkdir -p /src/sub/skip /src/other",
            "for f in a.txt b.log sub/c.txt sub/skip/d.txt other/e.txt; do echo $f > /src/$f; done",
            "echo conf > /etc/artifact.conf",
        ],
    );
    run(&docker, &artifact).await.0.unwrap();

    let mut target = build_task(&repo, &from, "importsBeforeInstall", &["ls -lnR /app"]);
    target.imports = vec![
        ImportSpec {
            source: artifact.target.clone(),
            add: "/src".into(),
            to: "/app".into(),
            include_paths: vec!["*.txt".into(), "sub".into()],
            exclude_paths: vec!["sub/skip".into()],
            owner: "app".into(),
            group: "nogroup".into(),
        },
        ImportSpec {
            source: artifact.target.clone(),
            add: "/etc/artifact.conf".into(),
            to: "/etc/app/app.conf".into(),
            owner: "1234".into(),
            ..Default::default()
        },
    ];
    let (out, log) = run(&docker, &target).await;
    out.unwrap_or_else(|e| panic!("import stage: {e}"));
    assert!(log.iter().any(|l| l.line.contains("a.txt")), "{log:?}");

    let listing = sh(
        &docker,
        &target.target,
        "cd /app && find . | sort && stat -c '%u:%g %n' . a.txt sub sub/c.txt /etc/app/app.conf \
         && cat sub/c.txt /etc/app/app.conf",
    )
    .await;
    let nobody_gid = sh(
        &docker,
        &target.target,
        "grep ^nogroup: /etc/group | cut -d: -f3",
    )
    .await;
    let nobody_gid = nobody_gid.trim();
    assert_eq!(
        listing,
        format!(
            ".\n./a.txt\n./sub\n./sub/c.txt\n\
             1000:{nobody_gid} .\n1000:{nobody_gid} a.txt\n1000:{nobody_gid} sub\n\
             1000:{nobody_gid} sub/c.txt\n1234:0 /etc/app/app.conf\nsub/c.txt\nconf\n"
        )
    );
    forget(&docker, &[&target, &artifact, &from]).await;
}

#[tokio::test]
async fn an_unknown_import_owner_is_a_stage_error() {
    let docker = engine1().await;
    let repo = repo("import-owner");
    let from = from_task(&repo, &base_image());
    run(&docker, &from).await.0.unwrap();
    let mut target = build_task(&repo, &from, "importsAfterSetup", &[]);
    target.imports = vec![ImportSpec {
        source: from.target.clone(),
        add: "/etc/passwd".into(),
        to: "/x".into(),
        owner: "ghost".into(),
        ..Default::default()
    }];
    let err = run(&docker, &target).await.0.unwrap_err();
    assert_eq!(err.class(), FailureClass::Stage, "{err}");
    assert!(err.to_string().contains("ghost"), "{err}");
    assert!(containers_of(&docker, &target.signature).await.is_empty());
    forget(&docker, &[&from]).await;
}

#[tokio::test]
async fn a_failing_command_fails_the_stage_with_its_log_tail_and_no_container_left() {
    let docker = engine1().await;
    let repo = repo("fail");
    let from = from_task(&repo, &base_image());
    run(&docker, &from).await.0.unwrap();
    let stage = build_task(
        &repo,
        &from,
        "install",
        &[
            "i=0; while [ $i -lt 30 ]; do echo line $i; i=$((i+1)); done",
            "echo about to fail >&2",
            "false",
            "echo never",
        ],
    );
    let (out, log) = run(&docker, &stage).await;
    let err = out.unwrap_err();
    assert_eq!(err.class(), FailureClass::Stage);
    match &err {
        StageError::Stage {
            exit_code,
            log_tail,
            ..
        } => {
            assert_eq!(*exit_code, Some(1));
            assert_eq!(log_tail.len(), 20);
            // stdout and stderr are not ordered with respect to each other.
            assert!(
                log_tail.iter().any(|l| l == "about to fail"),
                "{log_tail:?}"
            );
            assert!(log_tail.iter().any(|l| l == "line 29"), "{log_tail:?}");
        }
        other => panic!("not a stage error: {other}"),
    }
    let message = err.to_string();
    assert!(
        message.contains("exit code 1") && message.contains("about to fail"),
        "{message}"
    );
    assert!(!log.iter().any(|l| l.line == "never"));
    assert_eq!(log.len(), 31);
    assert!(containers_of(&docker, &stage.signature).await.is_empty());
    assert!(
        docker.inspect_image(&stage.target).await.is_err(),
        "no image for a failed stage"
    );
    forget(&docker, &[&from]).await;
}

#[tokio::test]
async fn a_cancelled_stage_leaves_no_container() {
    let docker = engine1().await;
    let repo = repo("cancel");
    let from = from_task(&repo, &base_image());
    run(&docker, &from).await.0.unwrap();
    let stage = build_task(&repo, &from, "install", &["echo started", "sleep 60"]);
    let mut started = false;
    let cancelled = tokio::time::timeout(
        Duration::from_secs(4),
        conveyor_worker::executor::run_stage(&docker, &Credentials::default(), &stage, &mut |_| {
            started = true
        }),
    )
    .await;
    assert!(cancelled.is_err(), "the stage was still running");
    assert!(started, "the commands had started");
    // The removal runs in the background after the drop.
    let mut left = containers_of(&docker, &stage.signature).await;
    for _ in 0..50 {
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        left = containers_of(&docker, &stage.signature).await;
    }
    assert!(left.is_empty(), "left behind: {left:?}");
    forget(&docker, &[&from]).await;
}

#[tokio::test]
async fn a_second_engine_continues_from_the_registry_without_rerunning_stages() {
    let one = engine1().await;
    let two = engine2().await;
    let repo = repo("shared");
    let from = from_task(&repo, &base_image());
    run(&one, &from).await.0.unwrap();
    let install = build_task(&repo, &from, "install", &["date +%s%N > /stamp"]);
    let pushed = run(&one, &install).await.0.unwrap();
    let stamp = sh(&one, &install.target, "cat /stamp").await;

    // Engine 2 holds nothing of this repository: lookup finds the stage in the registry.
    assert!(two.inspect_image(&install.target).await.is_err());
    let found = cache::lookup(&two, &Credentials::default(), &install.target)
        .await
        .unwrap()
        .expect("in the registry");
    assert_eq!(found.location, Location::Registry);
    assert_eq!(found.digest.as_deref(), Some(pushed.digest.as_str()));
    let missing = format!("{repo}:{}", random_hex());
    assert_eq!(
        cache::lookup(&two, &Credentials::default(), &missing)
            .await
            .unwrap(),
        None
    );

    let setup = build_task(&repo, &install, "setup", &["cat /stamp > /stamp2"]);
    let (out, _) = run(&two, &setup).await;
    out.unwrap_or_else(|e| panic!("setup on engine 2: {e}"));
    let both = sh(&two, &setup.target, "cat /stamp /stamp2").await;
    assert_eq!(both, format!("{stamp}{stamp}"));
    forget(&two, &[&setup, &install]).await;
    forget(&one, &[&install, &from]).await;
}

#[tokio::test]
async fn registry_trouble_is_an_environment_error() {
    let docker = engine1().await;
    // Nothing listens there: the push fails after its retries.
    let unreachable = format!("localhost:1/conveyor-tests/down-{}", std::process::id());
    let from = from_task(&unreachable, &base_image());
    let err = run(&docker, &from).await.0.unwrap_err();
    assert_eq!(err.class(), FailureClass::Environment, "{err}");
    assert!(err.to_string().contains("pushing"), "{err}");
    assert!(containers_of(&docker, &from.signature).await.is_empty());
    forget(&docker, &[&from]).await;

    let missing = from_task(
        &repo("missing"),
        &format!("{}/conveyor-tests/no-such-image:1", registry()),
    );
    let err = run(&docker, &missing).await.0.unwrap_err();
    assert_eq!(err.class(), FailureClass::Environment, "{err}");
    assert!(err.to_string().contains("pulling"), "{err}");
}

#[tokio::test]
async fn instructions_the_engine_refuses_are_a_stage_error() {
    let docker = engine1().await;
    let repo = repo("bad-instructions");
    let from = from_task(&repo, &base_image());
    run(&docker, &from).await.0.unwrap();
    let mut stage = build_task(&repo, &from, "dockerInstructions", &[]);
    stage.docker = Some(DockerInstructions {
        healthcheck: "--interval=banana CMD true".into(),
        ..Default::default()
    });
    let err = run(&docker, &stage).await.0.unwrap_err();
    assert_eq!(err.class(), FailureClass::Stage, "{err}");
    assert!(err.to_string().contains("banana"), "{err}");
    assert!(containers_of(&docker, &stage.signature).await.is_empty());
    forget(&docker, &[&from]).await;
}
