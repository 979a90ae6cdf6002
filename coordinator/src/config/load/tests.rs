//! Every validation error, checked by snapshot (`insta`): the exact message a user sees.

use super::load;
use crate::config::model::{Base, ImageKind, ImportStage};

const META: &str = "project: demo\nconfigVersion: 1\n";

fn error(body: &str) -> String {
    let text = format!("{META}---\n{body}");
    match load("werf.yaml", &text) {
        Ok(config) => panic!("expected an error, got {config:#?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_valid_config_reads_into_the_model() {
    let text = format!(
        "{META}---\nimage: [app, app2]\nfrom: alpine:3.18\nfromCacheVersion: 2\nshell:\n  install: make\n  setup: [a, b]\n\
         docker:\n  ENV: {{A: 1}}\n  CMD: [run]\nimport:\n- artifact: tools\n  add: /out\n  after: install\n---\n\n---\n\
         artifact: tools\nfromImage: base\n---\nimage: base\nfrom: busybox\nfromLatest: yes\n"
    );
    let config = load("werf.yaml", &text).unwrap();
    assert_eq!(config.project, "demo");
    let names: Vec<&str> = config.images.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["app", "app2", "tools", "base"]);
    let app = config.get("app").unwrap();
    assert_eq!(app.pos.document, 2);
    assert_eq!(app.from_cache_version.as_deref(), Some("2"));
    assert_eq!(app.shell.install, ["make"]);
    assert_eq!(app.shell.setup, ["a", "b"]);
    assert_eq!(app.docker.env.get("A").map(String::as_str), Some("1"));
    assert_eq!(app.imports[0].to, "/out", "`to` defaults to `add`");
    assert_eq!(app.imports[0].stage, ImportStage::AfterInstall);
    let tools = config.get("tools").unwrap();
    assert_eq!(tools.kind, ImageKind::Artifact);
    assert_eq!(tools.pos.document, 4, "the empty document 3 still counts");
    assert!(matches!(&tools.base, Base::Image { name, .. } if name == "base"));
    assert!(config.get("base").unwrap().from_latest);
}

#[test]
fn validation_errors() {
    let cases: &[(&str, &str)] = &[
        ("unknown_key", "image: app\nfrom: alpine\nfromm: x\n"),
        ("unknown_key_no_hint", "image: app\nfrom: alpine\nbogus: x\n"),
        ("not_yet_supported", "image: app\nfrom: alpine\nplatform: [linux/amd64]\n"),
        ("no_base", "image: app\nshell:\n  install: x\n"),
        ("two_bases", "image: app\nfrom: alpine\nfromImage: base\n"),
        ("unknown_image", "image: app\nfromImage: bsae\n---\nimage: base\nfrom: alpine\n"),
        ("unknown_artifact", "image: app\nfromImageArtifact: tools\n"),
        ("self_reference", "image: app\nfromImage: app\n"),
        ("fromimage_names_artifact", "image: app\nfromImage: a\n---\nartifact: a\nfrom: alpine\n"),
        ("fromimageartifact_names_image", "image: app\nfromImageArtifact: b\n---\nimage: b\nfrom: alpine\n"),
        ("duplicate_names", "image: app\nfrom: alpine\n---\nartifact: app\nfrom: alpine\n"),
        ("import_without_source", "image: app\nfrom: alpine\nimport:\n- add: /x\n  after: install\n"),
        ("import_without_stage", "image: app\nfrom: alpine\nimport:\n- artifact: a\n  add: /x\n---\nartifact: a\nfrom: alpine\n"),
        ("import_bad_stage", "image: app\nfrom: alpine\nimport:\n- artifact: a\n  add: /x\n  before: build\n"),
        ("import_relative_add", "image: app\nfrom: alpine\nimport:\n- artifact: a\n  add: x\n  after: setup\n"),
        ("import_names_image_as_artifact", "image: app\nfrom: alpine\nimport:\n- artifact: b\n  add: /x\n  after: setup\n---\nimage: b\nfrom: alpine\n"),
        ("artifact_with_docker", "artifact: a\nfrom: alpine\ndocker:\n  CMD: x\n"),
        ("shell_not_a_mapping", "image: app\nfrom: alpine\nshell: [a]\n"),
        ("shell_unknown_stage", "image: app\nfrom: alpine\nshell:\n  instal: [a]\n"),
        ("docker_unknown", "image: app\nfrom: alpine\ndocker:\n  EXPOSES: [80]\n"),
        ("from_latest_not_bool", "image: app\nfrom: alpine\nfromLatest: maybe\n"),
        ("from_latest_without_from", "image: app\nfromImage: b\nfromLatest: true\n---\nimage: b\nfrom: alpine\n"),
        ("shell_and_ansible", "image: app\nfrom: alpine\nshell: {}\nansible: {}\n"),
        ("neither_image_nor_meta", "name: app\nfrom: alpine\n"),
        ("image_and_artifact", "image: a\nartifact: b\nfrom: alpine\n"),
        ("duplicate_key", "image: app\nfrom: alpine\nfrom: busybox\n"),
        ("mount_bad_from", "image: app\nfrom: alpine\nmount:\n- from: cache\n  to: /c\n"),
        ("git_without_to", "image: app\nfrom: alpine\ngit:\n- add: /\n"),
        ("bad_yaml", "image: app\nfrom: [alpine\nshell: {}\n"),
    ];
    for (name, body) in cases {
        insta::assert_snapshot!(*name, error(body), body);
    }
}

#[test]
fn meta_document_errors() {
    let cases: &[(&str, &str)] = &[
        ("no_meta", "image: app\nfrom: alpine\n"),
        ("config_version_2", "project: p\nconfigVersion: 2\n"),
        ("no_config_version", "project: p\n"),
        ("empty_project", "project: ''\nconfigVersion: 1\n"),
        (
            "two_meta",
            "project: p\nconfigVersion: 1\n---\nproject: q\nconfigVersion: 1\n",
        ),
        (
            "meta_unknown_key",
            "project: p\nconfigVersion: 1\ndeplyo: {}\n",
        ),
    ];
    for (name, text) in cases {
        let err = load("werf.yaml", text).expect_err(name).to_string();
        insta::assert_snapshot!(*name, err, text);
    }
}

#[test]
fn large_configs_read_in_parallel_keep_document_order_and_the_first_error() {
    // Large enough to be parsed and read in two halves (over 1 MB of YAML).
    let n = 30_000;
    let docs: Vec<String> = (0..n)
        .map(|i| format!("image: i{i}\nfrom: alpine\nshell:\n  install: [\"echo {i}\"]\n"))
        .collect();
    let text = format!("{META}---\n{}", docs.join("---\n"));
    let config = load("werf.yaml", &text).unwrap();
    let names: Vec<String> = config.images.iter().map(|i| i.name.clone()).collect();
    let want: Vec<String> = (0..n).map(|i| format!("i{i}")).collect();
    assert_eq!(names, want);
    assert_eq!(config.images[n - 1].pos.document, n + 1);

    let mut bad = docs.clone();
    bad[n - 10] = "image: late\nfromm: x\n".into();
    let late = load("werf.yaml", &format!("{META}---\n{}", bad.join("---\n"))).unwrap_err();
    assert!(late.to_string().contains("image `late`"), "{late}");
    bad[3] = "image: early\nfromm: x\n".into();
    let early = load("werf.yaml", &format!("{META}---\n{}", bad.join("---\n"))).unwrap_err();
    assert!(early.to_string().contains("image `early`"), "{early}");
}

/// `render_and_load` (documents parsed while the rest renders) against `render` then `load`.
mod streamed {
    use super::super::{load, render_and_load};
    use crate::config::render::{render, render_streaming, FileSource, RenderInput};

    struct NoFiles;
    impl FileSource for NoFiles {
        fn read(&self, _: &str) -> Option<Vec<u8>> {
            None
        }
        fn list(&self) -> Vec<String> {
            Vec::new()
        }
    }

    const NO_ENV: &(dyn Fn(&str) -> Option<String> + Sync) = &|_| None;

    fn input(template: &str) -> RenderInput<'_> {
        RenderInput {
            config_name: "werf.yaml",
            config: template,
            files: &NoFiles,
            env: NO_ENV,
        }
    }

    /// Both ways of reading `template`: (render + load, render_and_load), errors as text.
    fn both(template: &str) -> (Result<String, String>, Result<String, String>) {
        let input = input(template);
        let apart = render(&input).map_err(|e| e.to_string()).and_then(|r| {
            load("werf.yaml", &r.text)
                .map(|c| format!("{c:?}"))
                .map_err(|e| e.to_string())
        });
        let together = render_and_load(&input)
            .map(|(r, c)| {
                assert_eq!(Ok(&r), render(&input).as_ref(), "the same rendered text");
                format!("{c:?}")
            })
            .map_err(|e| e.to_string());
        (apart, together)
    }

    /// A config of `n` images made by `range` (several MB when `n` is large), with `body`
    /// spliced into the image numbered `at`.
    fn config(n: usize, at: usize, body: &str) -> String {
        format!(
            "project: demo\nconfigVersion: 1\n{{{{- range $i := until {n} }}}}\n---\n\
             image: i{{{{ $i }}}}\nfrom: alpine\nshell:\n  install:\n  - |\n    echo {{{{ $i }}}}\n    \
             --- not a document start inside a block scalar? it is: at column 4 it is text\n\
             {{{{- if eq $i {at} }}}}\n{body}{{{{- end }}}}\n{{{{- end }}}}\n"
        )
    }

    #[test]
    fn a_large_config_reads_the_same_streamed() {
        let (apart, together) = both(&config(20_000, 0, ""));
        let apart = apart.unwrap();
        assert!(apart.contains("i19999"));
        assert_eq!(Ok(apart), together);
    }

    #[test]
    fn errors_late_in_a_large_config_are_the_same_streamed() {
        // A validation error, a YAML syntax error and a template error, each near the end.
        for body in [
            "fromm: x\n",
            "docker: {ENV: [unclosed\n",
            "{{ fail \"stop here\" }}\n",
        ] {
            let (apart, together) = both(&config(20_000, 19_990, body));
            let apart = apart.unwrap_err();
            assert_eq!(Err(apart.clone()), together, "{body}");
            // The error is the one near the end (its line is far down the rendered text).
            let line: usize = apart
                .strip_prefix("werf.yaml:")
                .and_then(|r| r.split(':').next()?.parse().ok())
                .unwrap_or(0);
            assert!(line > 150_000 || apart.contains("stop here"), "{apart}");
        }
    }

    /// The first piece `render_streaming` hands on for `template`.
    fn first_piece(template: &str) -> String {
        let input = input(template);
        let mut pieces = vec![];
        let mut sink = |piece: &str, _: bool| pieces.push(piece.to_string());
        render_streaming(&input, &mut sink).unwrap();
        pieces.into_iter().next().unwrap()
    }

    #[test]
    fn a_flow_collection_left_open_before_a_cut_errs_as_in_the_whole_text() {
        // An open flow sequence in the last image of the first piece: the `---` line after it
        // is swallowed, so that piece read alone errs elsewhere than the whole text does
        // (read alone: "did not find expected node content" on the `---` line; whole:
        // "invalid indentation" on the line after it).
        let body = "docker:\n  - {\n";
        let last_image = |piece: &str| -> usize {
            let at = piece.rfind("image: i").unwrap() + "image: i".len();
            piece[at..].split('\n').next().unwrap().parse().unwrap()
        };
        let at = last_image(&first_piece(&config(20_000, 0, "")));
        let template = config(20_000, at, body);
        let piece = first_piece(&template);
        assert!(
            piece.ends_with(body),
            "the open sequence ends the first piece"
        );
        let (apart, together) = both(&template);
        assert!(
            apart
                .as_ref()
                .is_err_and(|e| e.contains("invalid indentation")),
            "{apart:?}"
        );
        assert_eq!(apart, together);
    }

    #[test]
    fn a_small_config_reads_the_same_streamed() {
        let (apart, together) = both(&config(3, 1, "fromm: x\n"));
        assert!(apart.is_err());
        assert_eq!(apart, together);
    }
}
