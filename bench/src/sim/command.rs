//! `conveyor-bench sim`: runs the grid, prints the Markdown report (and, with `--json`, the
//! JSON object as the last line) and writes both plus the charts to the results directory.

use std::path::PathBuf;

use anyhow::Result;

use super::grid::{run, summarize, Grid};
use super::report::{json, markdown, plots};
use crate::results;

/// What the subcommand was asked.
#[derive(Debug, Clone)]
pub struct Options {
    pub grid: Grid,
    pub results: PathBuf,
    /// File name stem of the outputs (`sim`, or `sim-quick` for `--quick`).
    pub name: String,
    pub json: bool,
    /// The command line, recorded in the report.
    pub command: String,
}

pub fn main(opts: &Options) -> Result<()> {
    let cells = run(&opts.grid, |c| {
        eprintln!(
            "sim: {} {} stages W={}: conveyor {:.3} werf-like {:.3} FIFO {:.3} ({:.0} ms)",
            c.shape.name(),
            c.stages,
            c.workers,
            c.conveyor.median,
            c.werf.median,
            c.fifo.median,
            c.sched_ms.median
        );
    })?;
    let summary = summarize(&cells);
    let md = markdown(&opts.grid, &opts.command, &cells, &summary);
    let js = json(&opts.grid, &opts.command, &cells, &summary);
    let [md_path, json_path] = results::write(&opts.results, &opts.name, &md, &js)?;
    let charts = plots(&opts.results, &opts.name, &opts.grid, &cells)?;
    eprintln!(
        "sim: wrote {}, {} and {} charts",
        md_path.display(),
        json_path.display(),
        charts.len()
    );
    print!("{md}");
    if opts.json {
        println!("{js}");
    }
    Ok(())
}
