//! `remove_stale_containers` against the real engine. A test binary of its own: it removes
//! every build container on the engine, so it must not run beside the executor's tests.

mod common;

use std::collections::HashMap;

use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder};
use common::*;
use conveyor_worker::executor::{remove_stale_containers, set_owner, OWNER_LABEL, SIGNATURE_LABEL};

#[tokio::test]
async fn stale_build_containers_are_removed_and_others_kept() {
    // This test is the worker `stale-test`; `other-worker` shares its engine.
    set_owner("stale-test");
    let docker = engine1().await;
    let image = base_image();
    let pull = from_task(&repo("stale"), &image);
    // Makes the base image present (and exercises a from stage on the way).
    run(&docker, &pull).await.0.unwrap();
    let signature = random_hex();
    let stale = format!("conveyor-{}-{}", &signature[..12], &random_hex()[..16]);
    let foreign = format!("conveyor-{}-{}", &signature[..12], &random_hex()[..16]);
    let other = format!("conveyor-test-{}-{}", std::process::id(), random_hex());
    for (name, owner) in [
        (&stale, "stale-test"),
        (&foreign, "other-worker"),
        (&other, "stale-test"),
    ] {
        let body = ContainerCreateBody {
            image: Some(image.clone()),
            labels: Some(HashMap::from([
                (SIGNATURE_LABEL.to_string(), signature.clone()),
                (OWNER_LABEL.to_string(), owner.to_string()),
            ])),
            host_config: Some(HostConfig {
                network_mode: Some("none".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let opts = CreateContainerOptionsBuilder::default().name(name).build();
        docker.create_container(Some(opts), body).await.unwrap();
    }
    let removed = remove_stale_containers(&docker).await.unwrap();
    assert!(removed >= 1);
    // Ours named like a build container went; another worker's, and ours named otherwise
    // (a container run from a stage image), stay.
    let mut left = containers_of(&docker, &signature).await;
    left.sort();
    let mut want = vec![format!("/{foreign}"), format!("/{other}")];
    want.sort();
    assert_eq!(left, want);
    for name in [&foreign, &other] {
        docker
            .remove_container(
                name,
                Some(RemoveContainerOptionsBuilder::default().force(true).build()),
            )
            .await
            .unwrap();
    }
    forget(&docker, &[&pull]).await;
}
