//! The image graph: which images an image needs (its base, the sources of its imports), a
//! dependencies-first order, and cycle detection over every edge kind.
//!
//! The walk is iterative, so a 10,000-image `fromImage` chain cannot overflow the stack.

use crate::config::error::ConfigError;
use crate::config::model::{Base, Config, ImportSource};

/// An edge from an image to one it needs.
#[derive(Debug, Clone)]
pub struct Edge {
    /// Index of the needed image in `Config::images`.
    pub to: usize,
    /// The directive that makes the edge (`fromImage`, `fromImageArtifact`, `import`).
    pub via: &'static str,
    pub line: usize,
}

/// Each image's edges, by index. Names were checked to exist by `config::load`.
pub fn edges(config: &Config) -> Vec<Vec<Edge>> {
    let by_name: std::collections::HashMap<&str, usize> = config
        .images
        .iter()
        .enumerate()
        .map(|(i, image)| (image.name.as_str(), i))
        .collect();
    let index = |name: &str| by_name.get(name).copied();
    config
        .images
        .iter()
        .map(|image| {
            let mut out = vec![];
            match &image.base {
                Base::Image { name, line } => out.extend(index(name).map(|to| Edge {
                    to,
                    via: "fromImage",
                    line: *line,
                })),
                Base::Artifact { name, line } => out.extend(index(name).map(|to| Edge {
                    to,
                    via: "fromImageArtifact",
                    line: *line,
                })),
                Base::External { .. } | Base::None => {}
            }
            for import in &image.imports {
                let (ImportSource::Image(name) | ImportSource::Artifact(name)) = &import.source;
                out.extend(index(name).map(|to| Edge {
                    to,
                    via: "import",
                    line: import.line,
                }));
            }
            out
        })
        .collect()
}

/// Image indices with every image after the images it needs, or the first cycle found.
pub fn order(config: &Config, edges: &[Vec<Edge>]) -> Result<Vec<usize>, ConfigError> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let n = config.images.len();
    let mut mark = vec![Mark::New; n];
    let mut out = Vec::with_capacity(n);
    for start in 0..n {
        if mark[start] != Mark::New {
            continue;
        }
        // (image, index of the next edge to follow)
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        mark[start] = Mark::Open;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if let Some(edge) = edges[node].get(*next) {
                *next += 1;
                match mark[edge.to] {
                    Mark::New => {
                        mark[edge.to] = Mark::Open;
                        stack.push((edge.to, 0));
                    }
                    Mark::Open => {
                        let from = stack.iter().position(|(i, _)| *i == edge.to).unwrap_or(0);
                        let cycle: Vec<usize> = stack[from..].iter().map(|(i, _)| *i).collect();
                        return Err(cycle_error(config, edges, &cycle));
                    }
                    Mark::Done => {}
                }
            } else {
                mark[node] = Mark::Done;
                out.push(node);
                stack.pop();
            }
        }
    }
    Ok(out)
}

/// `Dependency cycle: `a` -(fromImage)-> `b` -(import)-> `a``, starting at the smallest name
/// so the message does not depend on document order.
fn cycle_error(config: &Config, edges: &[Vec<Edge>], cycle: &[usize]) -> ConfigError {
    let start = (0..cycle.len())
        .min_by_key(|&k| &config.images[cycle[k]].name)
        .unwrap_or(0);
    let rotated: Vec<usize> = cycle[start..]
        .iter()
        .chain(&cycle[..start])
        .copied()
        .collect();
    let mut text = String::new();
    let mut first_line = 0;
    for (k, &i) in rotated.iter().enumerate() {
        let next = rotated[(k + 1) % rotated.len()];
        let edge = edges[i].iter().find(|e| e.to == next);
        if k == 0 {
            first_line = edge.map_or(config.images[i].pos.line, |e| e.line);
        }
        text.push_str(&format!(
            "`{}` -({})-> ",
            config.images[i].name,
            edge.map_or("?", |e| e.via)
        ));
    }
    text.push_str(&format!("`{}`", config.images[rotated[0]].name));
    let first = &config.images[rotated[0]];
    ConfigError::new(
        &config.file,
        first_line,
        format!("Dependency cycle: {text}"),
    )
    .in_document(first.pos.document)
    .in_image(first.kind.as_str(), &first.name)
}
