//! Wearable streaming: latency from a sample's arrival to the updated twin being readable, and
//! the samples per second one session sustains, against a real `--dev` node and the real worker
//! binary (one open session, purpose treatment).
//!
//! For each sample sent alone at `--rate` samples/s it measures
//! - `response`: the POST sent → its answer, which carries the updated state (readable);
//! - `pushed`: the POST sent → the server-sent event with that state received by a subscriber.
//!
//! Then it sends `--burst` samples back to back, one per request and in batches of 100, and
//! reports samples/s. With `--model` (a `consentry train` bundle; `--model tiny` trains
//! `inference/configs/tiny.toml` first; `--model small-arch` the CPU default's architecture,
//! `inference/configs/small.toml`, on 600 patients for one epoch: a model whose predictions are
//! not worth reading but whose cost per prediction is the default's), every heart-rate and
//! blood-pressure sample re-runs the hybrid predictor for the session's drug.
//!
//! ```sh
//! . scripts/env.sh
//! cargo bench -p consentry-worker --bench stream_bench -- --samples 1000 --rate 50 --burst 2000
//! cargo bench -p consentry-worker --bench stream_bench -- --samples 1000 --rate 50 --burst 2000 --model small-arch
//! ```

#[path = "../tests/integration/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::*;
use consentry_e2e::Node;
use consentry_primitives::{CategorySet, DataCategory, Purpose, PurposeSet};
use serde_json::{json, Value};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn num(name: &str, default: usize) -> usize {
    arg(name).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn stats(name: &str, mut xs: Vec<f64>) {
    xs.sort_by(f64::total_cmp);
    let q = |p: f64| xs[((xs.len() - 1) as f64 * p).round() as usize];
    println!(
        "{name:<10} n={:<5} p50 {:>7.2} ms   p99 {:>7.2} ms   max {:>7.2} ms",
        xs.len(),
        q(0.5),
        q(0.99),
        xs[xs.len() - 1]
    );
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Sample `i` of a plausible monitor: heart rate, blood pressure and SpO2 in turn, each kind's
/// times increasing.
fn sample(p: &str, i: usize, t0: i64) -> Value {
    let t = t0 + i as i64 * 10;
    let w = (i as f64 / 50.0).sin();
    match i % 3 {
        0 => json!({"seq": i, "patient": p, "t_ms": t, "kind": "heart_rate",
            "value": (75.0 + 10.0 * w).round(), "unit": "/min"}),
        1 => json!({"seq": i, "patient": p, "t_ms": t, "kind": "blood_pressure",
            "systolic": (125.0 + 8.0 * w).round(), "diastolic": (80.0 + 4.0 * w).round(),
            "unit": "mm[Hg]"}),
        _ => json!({"seq": i, "patient": p, "t_ms": t, "kind": "spo2",
            "value": 97, "unit": "%"}),
    }
}

async fn next_version(r: &mut reqwest::Response, buf: &mut String) -> anyhow::Result<u64> {
    loop {
        if let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            if let Some(id) = block.lines().find_map(|l| l.strip_prefix("id:")) {
                return Ok(id.trim().parse()?);
            }
            continue;
        }
        let chunk = r
            .chunk()
            .await?
            .ok_or_else(|| anyhow::anyhow!("events ended"))?;
        buf.push_str(std::str::from_utf8(&chunk)?);
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n = num("--samples", 500).max(1);
    let rate = num("--rate", 50).max(1);
    let burst = num("--burst", 2000);
    let patients = Patients::new(1)?;
    let model = match arg("--model").as_deref() {
        None => None,
        Some(which @ ("tiny" | "small-arch")) => {
            let out = patients.dir.path().join("model");
            let file = if which == "tiny" { "tiny" } else { "small" };
            let mut cfg = consentry_inference::config::InferenceConfig::load(
                &consentry_e2e::repo_path(&format!("inference/configs/{file}.toml")),
            )?;
            if which == "small-arch" {
                // The CPU default's architecture (what the latency depends on), trained briefly:
                // its predictions are not worth reading, its cost per prediction is the real one.
                cfg.cohort.n_patients = 600;
                cfg.train.epochs = 1;
                cfg.train.seeds = vec![1];
                cfg.train.fuse_epochs = cfg.train.fuse_epochs.min(1);
                cfg.train.finetune_epochs = cfg.train.finetune_epochs.min(1);
                cfg.gbdt.n_rounds = 300;
            }
            consentry_inference::report::run_experiment(
                &cfg,
                &out,
                &consentry_inference::default_device(),
                false,
            )?;
            Some(out)
        }
        Some(dir) => Some(std::path::PathBuf::from(dir)),
    };
    let node = Node::dev()?;
    let api = node.client().await?;
    let pseudonym = patients.pseudonym(0);
    let p = hex::encode(pseudonym);
    let patient = key("//StreamBench/0");
    let subject = enrol(&api, &patient, pseudonym).await?;
    grant(
        &api,
        &patient,
        subject,
        PurposeSet::of(&[Purpose::Treatment]),
        CategorySet::of(&[
            DataCategory::Demographics,
            DataCategory::Labs,
            DataCategory::Genomic,
            DataCategory::Wearable,
        ]),
    )
    .await?;
    let http = reqwest::Client::new();
    let mut extra: Vec<String> = Vec::new();
    if let Some(m) = &model {
        extra.extend(["--model".into(), m.display().to_string()]);
    }
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let mut worker = Worker::start(&node.ws_url(), &patients.store, &patients.jobs, &extra);
    worker.wait_ready(&http).await?;
    let mut params = json!({"idle_timeout_s": 3600});
    if model.is_some() {
        params["drug"] = json!("warfarin");
    }
    let (status, _, job) = worker
        .post(
            &http,
            &json!({"requester": "bench", "pseudonym": p, "workload": "stream", "params": params}),
        )
        .await?;
    anyhow::ensure!(status == 202, "{job}");
    let id = job["id"].as_str().unwrap().to_string();
    let url = |path: &str| format!("{}/jobs/{id}{path}", worker.url);
    let opened = Instant::now();
    while http
        .get(url("/twin"))
        .bearer_auth(&worker.token)
        .send()
        .await?
        .status()
        != 200
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "session open (finalized grant) after {:.1} s; model: {}",
        opened.elapsed().as_secs_f64(),
        model
            .as_ref()
            .map_or("none".into(), |m| m.display().to_string())
    );
    let mut events = http
        .get(url("/twin/events"))
        .bearer_auth(&worker.token)
        .send()
        .await?;
    let mut buf = String::new();
    next_version(&mut events, &mut buf).await?;

    let t0 = now_ms() - 40 * 3_600_000;
    let post = |body: String| {
        http.post(url("/samples"))
            .bearer_auth(&worker.token)
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
    };
    // Latency at a sustained rate.
    let (mut response, mut pushed) = (Vec::new(), Vec::new());
    let every = Duration::from_secs_f64(1.0 / rate as f64);
    let mut next = Instant::now();
    let mut predicted = false;
    for i in 0..n {
        tokio::time::sleep_until(next.into()).await;
        next += every;
        let sent = Instant::now();
        let r: Value = post(format!("{}\n", sample(&p, i, t0)))
            .await?
            .json()
            .await?;
        response.push(sent.elapsed().as_secs_f64() * 1e3);
        anyhow::ensure!(r["accepted"] == 1, "{r}");
        predicted |= !r["state"]["twin"]["prediction"].is_null();
        let want = i as u64 + 1;
        while next_version(&mut events, &mut buf).await? < want {}
        pushed.push(sent.elapsed().as_secs_f64() * 1e3);
    }
    println!("{n} samples at {rate}/s, one per request (prediction re-run: {predicted})");
    stats("response", response);
    stats("pushed", pushed);

    // Sustained throughput.
    if burst > 0 {
        for batch in [1usize, 100] {
            let start = Instant::now();
            let base = n + if batch == 1 { 0 } else { burst };
            let mut sent = 0;
            while sent < burst {
                let k = batch.min(burst - sent);
                let body: String = (0..k)
                    .map(|j| format!("{}\n", sample(&p, base + sent + j, t0)))
                    .collect();
                let r: Value = post(body).await?.json().await?;
                anyhow::ensure!(r["accepted"] == k, "{r}");
                sent += k;
            }
            let secs = start.elapsed().as_secs_f64();
            println!(
                "burst of {burst}, {batch} per request: {:.0} samples/s ({:.2} ms per request)",
                burst as f64 / secs,
                secs * 1e3 / (burst / batch) as f64
            );
        }
    }
    drop(events);
    worker.kill();
    Ok(())
}
