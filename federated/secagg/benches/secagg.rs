//! Per-round cost of secure aggregation: N sites (default 10), vectors of L parameters, weighted
//! FedAvg encoding `[n_k, n_k·q(w_k)]`, all sites in one process, one after another.
//!
//! ```sh
//! CARGO_TARGET_DIR=... cargo bench -p consentry-secagg --bench secagg -- [--sites N]
//!     [--len L[,L...]] [--threshold T] [--dropped D[,D...]] [--reps R] [--json]
//! ```
//! (also `SECAGG_SITES`, `SECAGG_LEN`, `SECAGG_THRESHOLD`, `SECAGG_DROPPED`, `SECAGG_REPS`).
//! Each phase's time is the median over R rounds; per-site phases are the mean over the sites
//! within a round. `D` sites drop out after ShareKeys (they send no masked input), which makes
//! the aggregator reconstruct their mask keys. Bytes are the site's messages in the crate's wire
//! encoding ([`consentry_secagg::encode`]). `--json` prints one JSON object per configuration,
//! the format `bench/compare.sh` reads.

use std::collections::BTreeMap;
use std::time::Instant;

use consentry_secagg::*;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

struct Args {
    sites: usize,
    lens: Vec<usize>,
    threshold: Option<usize>,
    dropped: Vec<usize>,
    reps: usize,
    json: bool,
}

fn parse_list(s: &str) -> Vec<usize> {
    s.split(',')
        .map(|v| v.trim().replace('_', "").parse().expect("a number"))
        .collect()
}

fn args() -> Args {
    let env = |k: &str| std::env::var(k).ok();
    let mut a = Args {
        sites: env("SECAGG_SITES").map_or(10, |v| v.parse().expect("SECAGG_SITES")),
        lens: env("SECAGG_LEN").map_or(vec![100_000, 1_000_000], |v| parse_list(&v)),
        threshold: env("SECAGG_THRESHOLD").map(|v| v.parse().expect("SECAGG_THRESHOLD")),
        dropped: env("SECAGG_DROPPED").map_or(vec![0, 1], |v| parse_list(&v)),
        reps: env("SECAGG_REPS").map_or(3, |v| v.parse().expect("SECAGG_REPS")),
        json: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--sites" => a.sites = it.next().expect("--sites N").parse().expect("N"),
            "--len" => a.lens = parse_list(&it.next().expect("--len L")),
            "--threshold" => {
                a.threshold = Some(it.next().expect("--threshold T").parse().expect("T"))
            }
            "--dropped" => a.dropped = parse_list(&it.next().expect("--dropped D")),
            "--reps" => a.reps = it.next().expect("--reps R").parse().expect("R"),
            "--json" => a.json = true,
            "--bench" => {} // passed by `cargo bench`
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

/// Flower's default for n = 10 in the research digest: t = 7; generally ⌈2n/3⌉, at least n/2 + 1.
fn default_threshold(n: usize) -> usize {
    (2 * n).div_ceil(3).max(n / 2 + 1)
}

#[derive(Default, Clone)]
struct Timings {
    setup: f64,
    share_keys: f64,
    quantize: f64,
    mask: f64,
    unmask_site: f64,
    aggregate: f64,
    unmask_server: f64,
    bytes: usize,
    max_error: f64,
}

fn round(n: usize, t: usize, params: usize, dropped: usize, seed: u64) -> Timings {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let ctx = RoundContext::new(b"bench-study".to_vec(), 1);
    let enc = WeightedEncoding::new(Quantizer::new(8.0, 16).expect("quantizer"), 1000, n as u32)
        .expect("10 sites x 1000 x 2^16 fits 2^32");
    let len = WeightedEncoding::vector_len(params);
    // Each site's update and weight (not timed).
    let updates: Vec<(u32, Vec<f32>)> = (0..n)
        .map(|_| {
            let w = 50 + rng.next_u32() % 951;
            let v = (0..params)
                .map(|_| (rng.next_u32() as f32 / u32::MAX as f32 - 0.5) * 2.0)
                .collect();
            (w, v)
        })
        .collect();
    let mut tm = Timings::default();
    let nf = n as f64;
    let mut bytes = vec![0usize; n];

    // Stage 0.
    let t0 = Instant::now();
    let mut sites: Vec<Site> = (0..n as SiteId)
        .map(|id| {
            let cfg = SiteConfig {
                id,
                context: ctx.clone(),
                threshold: t,
                vector_len: len,
            };
            Site::new(cfg, &mut rng).expect("site")
        })
        .collect();
    let adverts: Vec<AdvertiseKeys> = sites.iter().map(|s| s.advertise_keys()).collect();
    tm.setup = t0.elapsed().as_secs_f64() / nf;
    let digests: BTreeMap<SiteId, [u8; 32]> =
        adverts.iter().map(|a| (a.site, a.digest())).collect();
    let mut agg = Aggregator::new(AggregatorConfig {
        context: ctx,
        threshold: t,
        vector_len: len,
    })
    .expect("aggregator");
    for (k, a) in adverts.into_iter().enumerate() {
        bytes[k] += encode(&a).expect("encode").len();
        agg.receive_keys(a).expect("keys");
    }
    let relayed = agg.relay_keys().expect("relay");

    // Stage 1.
    let mut share_msgs = Vec::with_capacity(n);
    let t1 = Instant::now();
    for s in sites.iter_mut() {
        share_msgs.push(
            s.share_keys(&relayed, |v| digests.get(&v).copied(), &mut rng)
                .expect("share_keys"),
        );
    }
    tm.share_keys = t1.elapsed().as_secs_f64() / nf;
    for (k, m) in share_msgs.into_iter().enumerate() {
        bytes[k] += encode(&m).expect("encode").len();
        agg.receive_shares(m).expect("shares");
    }
    let inboxes = agg.close_share_keys().expect("close");

    // Stage 2: the last `dropped` sites vanish after ShareKeys.
    let survivors = n - dropped;
    let mut qrng = ChaCha20Rng::seed_from_u64(seed ^ 0x5eed);
    let mut masked = Vec::with_capacity(survivors);
    for (k, s) in sites.iter_mut().enumerate().take(survivors) {
        let tq = Instant::now();
        let x = enc
            .encode(&updates[k].1, updates[k].0, &mut qrng)
            .expect("encode");
        tm.quantize += tq.elapsed().as_secs_f64();
        let tmask = Instant::now();
        let m = s.masked_input(&inboxes[&(k as SiteId)], &x).expect("mask");
        tm.mask += tmask.elapsed().as_secs_f64();
        let wire = encode(&m).expect("encode");
        bytes[k] += wire.len();
        masked.push(wire);
    }
    tm.quantize /= survivors as f64;
    tm.mask /= survivors as f64;
    let ta = Instant::now();
    for wire in &masked {
        agg.receive_masked(decode(wire).expect("decode"))
            .expect("masked");
    }
    tm.aggregate = ta.elapsed().as_secs_f64();

    // Stage 3.
    let req = agg.unmask_request().expect("request");
    let mut responses = Vec::with_capacity(survivors);
    let tu = Instant::now();
    for s in sites.iter_mut().take(survivors) {
        responses.push(s.unmask(&req).expect("unmask"));
    }
    tm.unmask_site = tu.elapsed().as_secs_f64() / survivors as f64;
    for (k, r) in responses.iter().enumerate() {
        bytes[k] += encode(r).expect("encode").len();
    }
    let ts = Instant::now();
    for r in responses {
        agg.receive_unmask(r).expect("response");
    }
    let sum = agg.finish().expect("finish");
    let mean = enc.decode(&sum, survivors as u32).expect("decode");
    tm.unmask_server = ts.elapsed().as_secs_f64();

    // Check against plain FedAvg of the survivors (each value within one quantization step).
    let total: f64 = updates[..survivors]
        .iter()
        .map(|(w, _)| f64::from(*w))
        .sum();
    for i in (0..params).step_by((params / 1000).max(1)) {
        let exact = updates[..survivors]
            .iter()
            .map(|(w, v)| f64::from(*w) * f64::from(v[i]))
            .sum::<f64>()
            / total;
        tm.max_error = tm.max_error.max((mean.mean[i] - exact).abs());
    }
    assert!(
        tm.max_error <= enc.quantizer().step(),
        "aggregate off by {}",
        tm.max_error
    );
    tm.bytes = bytes[..survivors].iter().sum::<usize>() / survivors;
    tm
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let a = args();
    let t = a.threshold.unwrap_or_else(|| default_threshold(a.sites));
    for &len in &a.lens {
        for &dropped in &a.dropped {
            let runs: Vec<Timings> = (0..a.reps)
                .map(|r| round(a.sites, t, len, dropped, 1000 + r as u64))
                .collect();
            let med = |f: fn(&Timings) -> f64| median(runs.iter().map(f).collect());
            let phases = [
                ("setup_per_site", med(|r| r.setup)),
                ("share_keys_per_site", med(|r| r.share_keys)),
                ("quantize_per_site", med(|r| r.quantize)),
                ("mask_per_site", med(|r| r.mask)),
                ("unmask_per_site", med(|r| r.unmask_site)),
                ("aggregate_server", med(|r| r.aggregate)),
                ("unmask_server", med(|r| r.unmask_server)),
            ];
            let round_s: f64 = phases.iter().map(|(_, s)| s).sum();
            let bytes = runs[0].bytes;
            let err = runs.iter().map(|r| r.max_error).fold(0.0, f64::max);
            if a.json {
                let fields: Vec<String> = phases
                    .iter()
                    .map(|(k, v)| format!("\"{k}\": {v:.6}"))
                    .collect();
                println!(
                    "{{\"impl\": \"consentry-secagg\", \"sites\": {}, \"threshold\": {t}, \"len\": {len}, \"dropped\": {dropped}, \"reps\": {}, {}, \"round_critical_path\": {round_s:.6}, \"bytes_per_site\": {bytes}, \"max_abs_error\": {err:.3e}}}",
                    a.sites, a.reps, fields.join(", ")
                );
            } else {
                println!("N = {}, t = {t}, L = {len}, dropped after ShareKeys = {dropped}, median of {} rounds", a.sites, a.reps);
                for (k, v) in phases {
                    println!("  {k:<22} {:>10.3} ms", v * 1e3);
                }
                println!(
                    "  {:<22} {:>10.3} ms",
                    "round (critical path)",
                    round_s * 1e3
                );
                println!("  {:<22} {:>10} bytes", "sent per site", bytes);
                println!("  {:<22} {:>10.3e}", "max |error| vs FedAvg", err);
            }
        }
    }
}
