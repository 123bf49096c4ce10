//! End-to-end worker throughput: N simulation jobs against a real `--dev` node through the real
//! `consentry-worker` binary, reporting jobs/s and mean / p50 / p99 of each stage as the worker
//! measured it (decision = submit → in a best block, finality wait, workload = finalized-record
//! check + read + run, completion = close submitted → finalized) plus end-to-end latency.
//!
//! ```sh
//! CONSENTRY_NODE=/root/.cache/consentry-target/release/consentry-node \
//!   cargo bench -p consentry-worker --bench worker_bench -- --jobs 100 --max-in-flight 16
//! ```

#[path = "../tests/integration/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::*;
use consentry_e2e::Node;
use consentry_primitives::{CategorySet, DataCategory, Purpose, PurposeSet};
use serde_json::{json, Value};

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn stats(name: &str, mut xs: Vec<f64>) {
    if xs.is_empty() {
        println!("{name:<22} (no samples)");
        return;
    }
    xs.sort_by(f64::total_cmp);
    let q = |p: f64| xs[((xs.len() - 1) as f64 * p).round() as usize];
    let mean = xs.iter().sum::<f64>() / xs.len() as f64;
    println!(
        "{name:<22} n={:<5} mean {mean:>9.1} ms   p50 {:>9.1} ms   p99 {:>9.1} ms",
        xs.len(),
        q(0.5),
        q(0.99)
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n_jobs = arg("--jobs", 50);
    let n_patients = arg("--patients", 2).max(1);
    let in_flight = arg("--max-in-flight", 16).max(1);
    let node = Node::dev()?;
    let api = node.client().await?;
    let patients = Patients::new(n_patients as u64)?;
    let scope = CategorySet::of(&[
        DataCategory::Demographics,
        DataCategory::Labs,
        DataCategory::Genomic,
    ]);
    for i in 0..n_patients {
        let kp = key(&format!("//BenchPatient/{i}"));
        let subject = enrol(&api, &kp, patients.pseudonym(i)).await?;
        grant(
            &api,
            &kp,
            subject,
            PurposeSet::of(&[Purpose::Simulation]),
            scope,
        )
        .await?;
    }
    let http = reqwest::Client::new();
    let flight = in_flight.to_string();
    let mut worker = Worker::start(
        &node.ws_url(),
        &patients.store,
        &patients.jobs,
        &["--max-in-flight", &flight],
    );
    worker.wait_ready(&http).await?;

    let started = Instant::now();
    let mut posted = Vec::new();
    for i in 0..n_jobs {
        let body = json!({
            "requester": "bench",
            "pseudonym": hex::encode(patients.pseudonym(i % n_patients)),
            "workload": "simulation",
            "params": {"drug": "warfarin", "dose_mg": 5.0, "interval_h": 24.0, "n_doses": 7},
        });
        let (status, _, a) = worker.post(&http, &body).await?;
        anyhow::ensure!(status == 202, "POST /jobs: {a}");
        posted.push((
            a["id"].as_str().unwrap_or_default().to_string(),
            Instant::now(),
        ));
    }
    let mut done: Vec<(Value, Duration)> = Vec::new();
    let mut pending = posted;
    let deadline = Instant::now() + Duration::from_secs(600);
    while !pending.is_empty() {
        anyhow::ensure!(
            Instant::now() < deadline,
            "{} jobs unfinished",
            pending.len()
        );
        let mut still = Vec::new();
        for (id, at) in pending {
            let j = worker.job(&http, &id).await?;
            if terminal(j["state"].as_str().unwrap_or_default()) {
                done.push((j, at.elapsed()));
            } else {
                still.push((id, at));
            }
        }
        pending = still;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let wall = started.elapsed();
    let completed = done
        .iter()
        .filter(|(j, _)| j["state"] == "completed")
        .count();
    println!(
        "{n_jobs} simulation jobs ({completed} completed), {n_patients} patient(s), \
         --max-in-flight {in_flight}: {:.1} s, {:.2} jobs/s",
        wall.as_secs_f64(),
        n_jobs as f64 / wall.as_secs_f64()
    );
    let stage = |k: &str| -> Vec<f64> {
        done.iter()
            .filter_map(|(j, _)| j["timings_ms"][k].as_f64())
            .collect()
    };
    stats("decision (in block)", stage("decision_ms"));
    stats("finality wait", stage("finality_ms"));
    stats("workload (read+run)", stage("workload_ms"));
    stats("completion", stage("completion_ms"));
    stats(
        "end to end",
        done.iter().map(|(_, d)| d.as_secs_f64() * 1e3).collect(),
    );
    worker.kill();
    Ok(())
}
