//! Benchmark (not a test): a full dispatch of the reference charm through `./dispatch`, against
//! stub hook tools, with tracing on vs off (`CHARMKIT_TRACING=off`). Runs alternate A B / B A
//! after a warm-up; prints medians and min–max in milliseconds.
//!
//! `cargo bench --bench dispatch` (release build).

use std::time::{Duration, Instant};

use charmkit_test_support::stderr;
use charmkit_test_support::unit::Unit;

/// The charm benchmarked: this package.
const CHARM: charmkit_test_support::Package = charmkit_test_support::package!();

fn stats(mut v: Vec<Duration>) -> (f64, f64, f64) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    (ms(v[v.len() / 2]), ms(v[0]), ms(v[v.len() - 1]))
}

fn main() {
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    println!("full dispatch of rust-starter through ./dispatch, stub hook tools, {runs} runs each");
    println!("| event | tracing | median ms | min–max ms |");
    println!("|---|---|---|---|");
    for hook in ["update-status", "start"] {
        let unit = Unit::new(&CHARM);
        let path = format!("hooks/{hook}");
        let mut on = Vec::new();
        let mut off = Vec::new();
        for i in 0..runs + 3 {
            // A B / B A: neither setting always runs first.
            let order = if i % 2 == 0 {
                ["on", "off"]
            } else {
                ["off", "on"]
            };
            for tracing in order {
                let sink = if tracing == "on" { &mut on } else { &mut off };
                let t = Instant::now();
                let out = unit.dispatch(&path, &[("CHARMKIT_TRACING", tracing)]);
                let elapsed = t.elapsed();
                assert!(out.status.success(), "{}", stderr(&out));
                if i >= 3 {
                    sink.push(elapsed);
                }
            }
        }
        for (label, v) in [("on", on), ("off", off)] {
            let (med, min, max) = stats(v);
            println!("| {hook} | {label} | {med:.2} | {min:.2}–{max:.2} |");
        }
    }
}
