//! Planner tests: stage order, signature sharing and chaining, cycles, determinism.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::{plan, Plan};
use crate::config::load;

const META: &str = "project: demo\nconfigVersion: 1\n";

fn planned(body: &str) -> Plan {
    let config = load("werf.yaml", &format!("{META}---\n{body}")).expect("valid config");
    plan(&config, &BTreeMap::new()).expect("plans")
}

fn stage_names(plan: &Plan, image: &str) -> Vec<&'static str> {
    let image = plan.images.iter().find(|i| i.name == image).unwrap();
    image.stages.iter().map(|s| s.name).collect()
}

fn sig<'p>(plan: &'p Plan, image: &str) -> &'p str {
    &plan
        .images
        .iter()
        .find(|i| i.name == image)
        .unwrap()
        .signature
}

#[test]
fn stages_follow_werf_order_and_empty_ones_are_skipped() {
    let p = planned(
        "image: app\nfrom: alpine\nshell:\n  setup: s\n  beforeInstall: b\n  install: i\n\
         import:\n- artifact: t\n  add: /x\n  before: setup\n- artifact: t\n  add: /y\n  after: install\n\
         docker:\n  WORKDIR: /app\n---\nartifact: t\nfrom: alpine\nshell:\n  install: make\n",
    );
    assert_eq!(
        stage_names(&p, "app"),
        [
            "from",
            "beforeInstall",
            "install",
            "importsAfterInstall",
            "importsBeforeSetup",
            "setup",
            "dockerInstructions"
        ]
    );
    assert_eq!(stage_names(&p, "t"), ["from", "install"]);
    let app = &p.images[0];
    for pair in app.stages.windows(2) {
        assert_eq!(pair[1].parent.as_deref(), Some(pair[0].signature.as_str()));
    }
    assert_eq!(app.signature, app.stages.last().unwrap().signature);
    assert_eq!(app.depends_on, ["t"]);
    assert_eq!(app.stages[3].needs, [sig(&p, "t").to_string()]);
}

#[test]
fn image_names_are_not_inputs_and_references_are_normalized() {
    let p = planned(
        "image: a\nfrom: alpine\nshell:\n  install: x\n---\n\
         image: b\nfrom: docker.io/library/alpine:latest\nshell:\n  install: x\n---\n\
         image: c\nfrom: alpine:3\nshell:\n  install: x\n",
    );
    assert_eq!(sig(&p, "a"), sig(&p, "b"), "same instructions, same stages");
    assert_ne!(sig(&p, "a"), sig(&p, "c"));
    assert_eq!(
        p.images[0].from.reference,
        "docker.io/library/alpine:latest"
    );
}

#[test]
fn from_image_chains_on_the_base_image_and_cache_versions_count() {
    let base = "image: base\nfrom: alpine\nshell:\n  install: x\n---\nimage: app\nfromImage: base\nshell:\n  setup: y\n";
    let p = planned(base);
    let app_from = &p.images[1].stages[0];
    assert_eq!(app_from.parent.as_deref(), Some(sig(&p, "base")));
    let bumped = planned(&base.replace("from: alpine\n", "from: alpine\nfromCacheVersion: 2\n"));
    assert_ne!(sig(&p, "base"), sig(&bumped, "base"));
    assert_ne!(sig(&p, "app"), sig(&bumped, "app"), "dependents change too");
    let shell_bumped =
        planned(&base.replace("  setup: y\n", "  setup: y\n  setupCacheVersion: 1\n"));
    assert_eq!(sig(&p, "base"), sig(&shell_bumped, "base"));
    assert_ne!(sig(&p, "app"), sig(&shell_bumped, "app"));
    // `fromCacheVersion` on the `fromImage` image: its `from` stage and all above it change,
    // still on the same base.
    let from_bumped = planned(&base.replace(
        "fromImage: base
",
        "fromImage: base
fromCacheVersion: 2
",
    ));
    assert_eq!(sig(&p, "base"), sig(&from_bumped, "base"));
    let bumped_from = &from_bumped.images[1].stages[0];
    assert_eq!(bumped_from.parent.as_deref(), Some(sig(&p, "base")));
    assert_ne!(bumped_from.signature, app_from.signature);
    assert_ne!(sig(&p, "app"), sig(&from_bumped, "app"));
}

#[test]
fn cycles_are_found_over_every_edge_kind_and_named() {
    let text = format!(
        "{META}---\nimage: a\nfromImage: b\n---\nimage: b\nfrom: alpine\nimport:\n- artifact: c\n  add: /x\n  after: setup\n\
         ---\nartifact: c\nfromImage: a\n"
    );
    let config = load("werf.yaml", &text).unwrap();
    let err = plan(&config, &BTreeMap::new()).unwrap_err().to_string();
    insta::assert_snapshot!(err);
}

#[test]
fn unsupported_builders_are_refused_at_plan_time() {
    let config = load(
        "werf.yaml",
        &format!("{META}---\nimage: a\nfrom: alpine\nansible:\n  install: []\n"),
    )
    .unwrap();
    let err = plan(&config, &BTreeMap::new()).unwrap_err().to_string();
    insta::assert_snapshot!(err);
}

#[test]
fn from_latest_signature_follows_the_digest() {
    let text = format!("{META}---\nimage: a\nfrom: busybox\nfromLatest: true\n");
    let config = load("werf.yaml", &text).unwrap();
    let refs = super::latest_references(&config).unwrap();
    assert_eq!(refs[0].reference, "docker.io/library/busybox:latest");
    let with = |d: &str| {
        let digests = BTreeMap::from([(refs[0].reference.clone(), d.to_string())]);
        plan(&config, &digests).unwrap().images[0].signature.clone()
    };
    assert_ne!(with("sha256:1"), with("sha256:2"));
    assert!(
        plan(&config, &BTreeMap::new()).is_err(),
        "a missing digest is an error"
    );
}

/// A random monorepo: images in a random DAG (each may build on or import from earlier ones).
fn monorepo() -> impl Strategy<Value = Vec<(Option<usize>, Vec<usize>, String)>> {
    prop::collection::vec(
        (
            any::<Option<prop::sample::Index>>(),
            prop::collection::vec(any::<prop::sample::Index>(), 0..3),
            "[a-z]{1,3}",
        ),
        1..12,
    )
    .prop_map(|raw| {
        raw.into_iter()
            .enumerate()
            .map(|(i, (base, imports, cmd))| {
                let base = if i == 0 {
                    None
                } else {
                    base.map(|b| b.index(i))
                };
                let imports = if i == 0 {
                    vec![]
                } else {
                    imports.iter().map(|x| x.index(i)).collect()
                };
                (base, imports, cmd)
            })
            .collect()
    })
}

fn documents(repo: &[(Option<usize>, Vec<usize>, String)]) -> Vec<String> {
    repo.iter()
        .enumerate()
        .map(|(i, (base, imports, cmd))| {
            let mut d = format!("image: i{i}\n");
            match base {
                Some(b) => d.push_str(&format!("fromImage: i{b}\n")),
                None => d.push_str("from: alpine\n"),
            }
            d.push_str(&format!(
                "shell:\n  setup: {cmd}\n  install: [\"echo {i}\"]\n"
            ));
            if !imports.is_empty() {
                d.push_str("import:\n");
                for s in imports {
                    d.push_str(&format!("- image: i{s}\n  add: /out\n  after: install\n"));
                }
            }
            d
        })
        .collect()
}

fn signatures(docs: &[String]) -> BTreeMap<String, String> {
    let text = format!("{META}---\n{}", docs.join("---\n"));
    let config = load("werf.yaml", &text).unwrap();
    plan(&config, &BTreeMap::new())
        .unwrap()
        .images
        .into_iter()
        .map(|i| (i.name, i.signature))
        .collect()
}

proptest! {
    #[test]
    fn reordering_documents_and_keys_keeps_every_signature(
        repo in monorepo(), seed in any::<u64>()
    ) {
        let docs = documents(&repo);
        let before = signatures(&docs);
        let mut shuffled = docs.clone();
        // A deterministic shuffle from the seed, and keys reversed inside each document.
        let mut s = seed;
        for i in (1..shuffled.len()).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.swap(i, (s >> 33) as usize % (i + 1));
        }
        let reordered: Vec<String> = shuffled.iter().map(|d| reverse_keys(d)).collect();
        prop_assert_eq!(before, signatures(&reordered));
    }

    #[test]
    fn changing_one_image_changes_exactly_it_and_its_dependents(
        repo in monorepo(), pick in any::<prop::sample::Index>()
    ) {
        let changed = pick.index(repo.len());
        let docs = documents(&repo);
        let before = signatures(&docs);
        let mut edited = docs.clone();
        edited[changed] = edited[changed].replace("  install: [", "  install: [\"changed\", ");
        let after = signatures(&edited);
        // Dependents: the transitive closure over fromImage and import edges.
        let mut affected = vec![false; repo.len()];
        affected[changed] = true;
        for (i, (base, imports, _)) in repo.iter().enumerate() {
            if base.iter().chain(imports).any(|d| affected[*d]) {
                affected[i] = true;
            }
        }
        for (i, hit) in affected.iter().enumerate() {
            let name = format!("i{i}");
            prop_assert_eq!(before[&name] != after[&name], *hit, "image {}", name);
        }
    }
}

/// Reverses the order of a document's top-level keys (each key keeps its indented block).
fn reverse_keys(doc: &str) -> String {
    let mut blocks: Vec<String> = vec![];
    for line in doc.lines() {
        if line.starts_with(' ') || line.starts_with('-') {
            if let Some(last) = blocks.last_mut() {
                last.push_str(line);
                last.push('\n');
            }
        } else {
            blocks.push(format!("{line}\n"));
        }
    }
    blocks.reverse();
    blocks.concat()
}

/// A level of 300 images (more than enough to be planned on several threads) built on two
/// bases: each image's signature is the one it gets when planned with its base alone, and an
/// error is reported for the first failing image in document order.
#[test]
fn wide_levels_plan_on_threads_as_they_would_one_by_one() {
    let base = "image: base\nfrom: busybox\nshell:\n  install: [\"echo base\"]\n";
    let leaf =
        |i: usize| format!("image: leaf{i}\nfromImage: base\nshell:\n  setup: [\"echo {i}\"]\n");
    let docs: Vec<String> = std::iter::once(base.to_string())
        .chain((0..300).map(leaf))
        .collect();
    let wide = planned(&docs.join("---\n"));
    for i in [0, 1, 150, 299] {
        let alone = planned(&format!("{base}---\n{}", leaf(i)));
        let name = format!("leaf{i}");
        assert_eq!(sig(&wide, &name), sig(&alone, &name), "{name}");
    }
    let images: Vec<&str> = wide.images.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(images.len(), 301);
    assert_eq!(
        images[..3],
        ["base", "leaf0", "leaf1"],
        "document order kept"
    );

    // Two leaves want digests that are missing: the first of them in the file is named.
    let latest = |i: usize| {
        format!("image: leaf{i}\nfrom: busybox:{i}\nfromLatest: true\nshell:\n  setup: [\"echo {i}\"]\n")
    };
    let mut docs = docs;
    docs[101] = latest(100);
    docs[251] = latest(250);
    let config = load("werf.yaml", &format!("{META}---\n{}", docs.join("---\n"))).unwrap();
    let digests = BTreeMap::from([(
        "docker.io/library/busybox:250".to_string(),
        "sha256:1".to_string(),
    )]);
    assert!(plan(&config, &digests)
        .unwrap_err()
        .to_string()
        .contains("leaf100"));
    let digests = BTreeMap::new();
    let err = plan(&config, &digests).unwrap_err().to_string();
    assert!(err.contains("leaf100") && !err.contains("leaf250"), "{err}");
}
