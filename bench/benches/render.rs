//! Render time of synthetic monorepos (Go templates: range, include, sprig calls per image).
//! Run: `cargo bench -p conveyor-bench --bench render`.

use std::collections::BTreeMap;

use conveyor_bench::gen::{monorepo, Shape};
use conveyor_coordinator::config::render::{render, FileSource, RenderInput};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

struct MapFiles(BTreeMap<String, Vec<u8>>);

impl FileSource for MapFiles {
    fn read(&self, path: &str) -> Option<Vec<u8>> {
        self.0.get(path).cloned()
    }
    fn list(&self) -> Vec<String> {
        self.0.keys().cloned().collect()
    }
}

fn bench_render(c: &mut Criterion) {
    let mut group = c.benchmark_group("render");
    group.sample_size(10);
    for images in [100usize, 1_000, 10_000] {
        let project = monorepo(Shape {
            images,
            artifacts: 4,
        });
        let files = MapFiles(
            project
                .files
                .iter()
                .map(|(p, c)| (p.clone(), c.clone().into_bytes()))
                .collect(),
        );
        let env = |_: &str| None;
        group.bench_with_input(BenchmarkId::from_parameter(images), &images, |b, _| {
            b.iter(|| {
                let input = RenderInput {
                    config_name: "werf.yaml",
                    config: &project.werf_yaml,
                    files: &files,
                    env: &env,
                };
                render(&input).expect("synthetic monorepo renders")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_render);
criterion_main!(benches);
