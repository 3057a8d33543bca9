//! Append cost of the trace buffer against how much it already holds (no assertions on time).
//!
//! `cargo bench -p charmkit --bench buffer` prints, per pre-filled size, the median and p95 time
//! of one `append` of a ~4 KiB chunk (priorities alternating 10/50), including the fsyncs.

use std::time::{Duration, Instant};

use charmkit::trace::buffer::{Buffer, PRIORITY_DEFAULT, PRIORITY_OBSERVED};

const MEASURED: usize = 400;

fn payload(n: usize) -> Vec<u8> {
    let mut v = format!("{{\"resourceSpans\":[],\"n\":{n},\"pad\":\"").into_bytes();
    v.resize(4000, b'x');
    v.extend_from_slice(b"\"}");
    v
}

fn prio(n: usize) -> u8 {
    if n % 2 == 0 {
        PRIORITY_DEFAULT
    } else {
        PRIORITY_OBSERVED
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e6
}

fn run(prefill: usize, at_cap: bool) -> (f64, f64, f64) {
    let t = tempfile::tempdir().expect("tempdir");
    let dir = t.path().join(".charm-tracing");
    let limit = if at_cap {
        prefill as u64 * 4096
    } else {
        u64::MAX
    };
    let b = Buffer::open_dir(&dir, limit).expect("open");
    for n in 0..prefill {
        b.append(&payload(n), prio(n)).expect("prefill");
    }
    let mut times = Vec::with_capacity(MEASURED);
    for n in prefill..prefill + MEASURED {
        let data = payload(n);
        let t0 = Instant::now();
        b.append(&data, prio(n)).expect("append");
        times.push(t0.elapsed());
    }
    let stats = b.stats().expect("stats");
    assert_eq!(
        stats.chunks as usize,
        if at_cap { prefill } else { prefill + MEASURED },
        "sanity: the buffer holds what it should"
    );
    times.sort();
    let mean = times.iter().sum::<Duration>().as_secs_f64() * 1e6 / times.len() as f64;
    (percentile(&times, 0.5), percentile(&times, 0.95), mean)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: keep that run short.
    let quick = !std::env::args().any(|a| a == "--bench");
    let sizes: &[usize] = if quick { &[10] } else { &[10, 1_000, 10_000] };
    println!("trace buffer append, ~4 KiB chunks, {MEASURED} appends per row");
    println!(
        "{:<28} {:>10} {:>10} {:>10}",
        "pre-filled", "median µs", "p95 µs", "mean µs"
    );
    for &n in sizes {
        let (med, p95, mean) = run(n, false);
        println!(
            "{:<28} {med:>10.1} {p95:>10.1} {mean:>10.1}",
            format!("{n} chunks")
        );
    }
    if !quick {
        let (med, p95, mean) = run(10_000, true);
        let label = "10000 chunks, at cap (evicts)";
        println!("{label:<28} {med:>10.1} {p95:>10.1} {mean:>10.1}");
    }
}
