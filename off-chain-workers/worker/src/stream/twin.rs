//! The streaming twin's state: the vital series the predictor reads, the risks it outputs, and
//! the alerts raised when a risk crosses its threshold.
//!
//! Two risks:
//! - The **NEWS2** early-warning sub-scores (Royal College of Physicians, 2017) of the
//!   parameters a wearable measures — pulse, SpO2 (scale 1), systolic pressure — and their sum.
//!   Respiration rate, temperature, consciousness and supplemental oxygen are not streamed, so
//!   this is the partial score, and it says so (`parameters`). An alert is raised when the
//!   partial score reaches 5, or any one parameter scores 3 (NEWS2's thresholds for an urgent
//!   clinical review), on the sample that crosses it.
//! - With a model (`--model`), the hybrid drug-response predictor's ADR probability for the
//!   session's drug, recomputed from the patient's stored covariates and the streamed heart
//!   rate and blood pressure series (which replace the stored series of the same vital); an
//!   alert when it crosses `risk_threshold`.
//!
//! Glucose alerts at the ADA's hypoglycaemia level 1 (< 70 mg/dL) and above 250 mg/dL.

use std::collections::BTreeMap;

use consentry_datastore::wearable::{Reading, VitalKind};
use consentry_simulation::patient::VitalSample;
use consentry_simulation::PatientRecord;
use serde::Serialize;
use serde_json::{json, Value};

use super::sample::Sample;

/// Glucose below this (mg/dL) raises an alert.
pub const HYPOGLYCAEMIA_MG_DL: f64 = 70.0;
/// Glucose above this (mg/dL) raises an alert.
pub const HYPERGLYCAEMIA_MG_DL: f64 = 250.0;
/// A partial NEWS2 sum at or above this raises an alert.
pub const NEWS2_ALERT_SUM: u8 = 5;

/// NEWS2 pulse sub-score.
pub fn news2_pulse(bpm: f64) -> u8 {
    match bpm {
        x if x <= 40.0 => 3,
        x if x <= 50.0 => 1,
        x if x <= 90.0 => 0,
        x if x <= 110.0 => 1,
        x if x <= 130.0 => 2,
        _ => 3,
    }
}

/// NEWS2 SpO2 scale 1 sub-score.
pub fn news2_spo2(pct: f64) -> u8 {
    match pct {
        x if x <= 91.0 => 3,
        x if x <= 93.0 => 2,
        x if x <= 95.0 => 1,
        _ => 0,
    }
}

/// NEWS2 systolic blood pressure sub-score.
pub fn news2_systolic(mm_hg: f64) -> u8 {
    match mm_hg {
        x if x <= 90.0 => 3,
        x if x <= 100.0 => 2,
        x if x <= 110.0 => 1,
        x if x <= 219.0 => 0,
        _ => 3,
    }
}

/// An alert: the sample that crossed a threshold.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Alert {
    /// The crossing sample's `seq`.
    pub seq: u64,
    /// Its measurement time.
    pub t_ms: i64,
    /// `news2`, `adr_risk`, `hypoglycaemia` or `hyperglycaemia`.
    pub kind: &'static str,
    /// The value that crossed.
    pub value: f64,
    /// The threshold.
    pub threshold: f64,
}

/// The model the twin re-runs at each heart-rate or blood-pressure sample.
pub trait Predictor: Send + Sync {
    /// (response, ADR) probabilities.
    fn probabilities(&self, record: &PatientRecord, drug: &str) -> anyhow::Result<[f64; 2]>;
    /// The model version results cite.
    fn version(&self) -> String;
}

/// What the predictor needs besides the series: the patient's stored record and the drug.
pub struct PredictorInput {
    /// The model.
    pub model: std::sync::Arc<dyn Predictor>,
    /// The patient's record from the granted read.
    pub record: PatientRecord,
    /// The drug the ADR risk is for.
    pub drug: String,
    /// ADR probability at or above which an alert is raised.
    pub threshold: f64,
}

/// The twin of one streaming session.
pub struct Twin {
    samples: u64,
    last_seq: Option<u64>,
    last_t: BTreeMap<VitalKind, i64>,
    /// The latest reading of each kind: reading, time, seq and the UCUM unit it was sent in
    /// (glucose comes in mg/dL or mmol/L, so the view must say which).
    latest: BTreeMap<VitalKind, (Reading, i64, u64, &'static str)>,
    /// Series the predictor reads (canonical units), by the record's vital names.
    series: BTreeMap<&'static str, Vec<(i64, f64)>>,
    first_t: Option<i64>,
    predictor: Option<PredictorInput>,
    prediction: Option<[f64; 2]>,
    alerts: Vec<Alert>,
    news2_alerting: bool,
    adr_alerting: bool,
    glucose_low: bool,
    glucose_high: bool,
}

fn vital_name(kind: VitalKind) -> &'static [&'static str] {
    match kind {
        VitalKind::HeartRate => &["heart_rate_bpm"],
        VitalKind::BloodPressure => &["systolic_bp_mmhg", "diastolic_bp_mmhg"],
        _ => &[],
    }
}

impl Twin {
    /// An empty twin; `predictor` when the worker has a model.
    pub fn new(predictor: Option<PredictorInput>) -> Self {
        Twin {
            samples: 0,
            last_seq: None,
            last_t: BTreeMap::new(),
            latest: BTreeMap::new(),
            series: BTreeMap::new(),
            first_t: None,
            predictor,
            prediction: None,
            alerts: Vec::new(),
            news2_alerting: false,
            adr_alerting: false,
            glucose_low: false,
            glucose_high: false,
        }
    }

    /// The last accepted measurement time of `kind`.
    pub fn last_time(&self, kind: VitalKind) -> Option<i64> {
        self.last_t.get(&kind).copied()
    }

    /// Applies an accepted sample: series, scores, prediction (for heart rate and blood
    /// pressure, with a model) and alerts.
    pub fn apply(&mut self, s: &Sample) -> anyhow::Result<()> {
        let t = s.wire.t_ms;
        self.samples += 1;
        self.last_seq = Some(s.wire.seq);
        self.last_t.insert(s.kind, t);
        self.latest
            .insert(s.kind, (s.reading, t, s.wire.seq, s.unit.ucum));
        let values: Vec<f64> = match s.reading {
            Reading::Pressure {
                systolic,
                diastolic,
            } => vec![systolic, diastolic],
            Reading::Value(_) => vec![s.canonical_value()],
        };
        for (name, v) in vital_name(s.kind).iter().zip(values) {
            let series = self.series.entry(name).or_default();
            series.push((t, v));
            // The predictor's window: the last 48 hours.
            let from = t - super::sample::MAX_AGE_MS;
            let keep = series.partition_point(|&(ts, _)| ts < from);
            series.drain(..keep);
        }
        self.first_t = Some(self.first_t.map_or(t, |f| f.min(t)));
        let (sum, red) = self.news2();
        let alerting = sum >= NEWS2_ALERT_SUM || red;
        if alerting && !self.news2_alerting {
            self.alert(s, "news2", f64::from(sum), f64::from(NEWS2_ALERT_SUM));
        }
        self.news2_alerting = alerting;
        if s.kind == VitalKind::Glucose {
            let g = s.canonical_value();
            let low = g < HYPOGLYCAEMIA_MG_DL;
            let high = g > HYPERGLYCAEMIA_MG_DL;
            if low && !self.glucose_low {
                self.alert(s, "hypoglycaemia", g, HYPOGLYCAEMIA_MG_DL);
            }
            if high && !self.glucose_high {
                self.alert(s, "hyperglycaemia", g, HYPERGLYCAEMIA_MG_DL);
            }
            (self.glucose_low, self.glucose_high) = (low, high);
        }
        if !vital_name(s.kind).is_empty() {
            if let Some(p) = self.predict()? {
                let threshold = self.predictor.as_ref().map_or(1.0, |p| p.threshold);
                let over = p[1] >= threshold;
                if over && !self.adr_alerting {
                    self.alert(s, "adr_risk", p[1], threshold);
                }
                self.adr_alerting = over;
                self.prediction = Some(p);
            }
        }
        Ok(())
    }

    fn alert(&mut self, s: &Sample, kind: &'static str, value: f64, threshold: f64) {
        self.alerts.push(Alert {
            seq: s.wire.seq,
            t_ms: s.wire.t_ms,
            kind,
            value,
            threshold,
        });
    }

    /// The partial NEWS2 sum and whether one parameter scores 3.
    fn news2(&self) -> (u8, bool) {
        let scores = self.news2_scores();
        let sum = scores.values().sum();
        (sum, scores.values().any(|&s| s == 3))
    }

    fn news2_scores(&self) -> BTreeMap<&'static str, u8> {
        let mut m = BTreeMap::new();
        for (kind, (reading, ..)) in &self.latest {
            match (kind, reading) {
                (VitalKind::HeartRate, Reading::Value(v)) => {
                    m.insert("pulse", news2_pulse(*v));
                }
                (VitalKind::Spo2, Reading::Value(v)) => {
                    m.insert("spo2", news2_spo2(*v));
                }
                (VitalKind::BloodPressure, Reading::Pressure { systolic, .. }) => {
                    m.insert("systolic_bp", news2_systolic(*systolic));
                }
                _ => {}
            }
        }
        m
    }

    fn predict(&self) -> anyhow::Result<Option<[f64; 2]>> {
        let (Some(p), Some(first)) = (&self.predictor, self.first_t) else {
            return Ok(None);
        };
        let mut record = p.record.clone();
        for (name, series) in &self.series {
            record.vitals.insert(
                name.to_string(),
                series
                    .iter()
                    .map(|&(t, value)| VitalSample {
                        time_h: (t - first) as f64 / 3.6e6,
                        value,
                    })
                    .collect(),
            );
        }
        p.model.probabilities(&record, &p.drug).map(Some)
    }

    /// Accepted samples so far.
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// The state the API serves and pushes.
    pub fn view(&self) -> Value {
        let latest: BTreeMap<&str, Value> = self
            .latest
            .iter()
            .map(|(k, (r, t, seq, unit))| {
                let v = match r {
                    Reading::Value(v) => {
                        json!({"value": v, "unit": unit, "t_ms": t, "seq": seq})
                    }
                    Reading::Pressure {
                        systolic,
                        diastolic,
                    } => json!({"systolic": systolic, "diastolic": diastolic, "unit": unit,
                        "t_ms": t, "seq": seq}),
                };
                (k.name(), v)
            })
            .collect();
        let scores = self.news2_scores();
        let (sum, red) = self.news2();
        let prediction = match (&self.predictor, self.prediction) {
            (Some(p), Some([response, adr])) => json!({
                "drug": p.drug,
                "response_probability": response,
                "adr_probability": adr,
                "adr_threshold": p.threshold,
                "model_version": p.model.version(),
            }),
            _ => Value::Null,
        };
        json!({
            "samples": self.samples,
            "last_seq": self.last_seq,
            "latest": latest,
            "news2": {
                "parameters": scores,
                "partial_score": sum,
                "single_parameter_3": red,
                "alerting": self.news2_alerting,
            },
            "prediction": prediction,
            "alerts": self.alerts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::sample::parse;
    use super::*;
    use std::sync::{Arc, Mutex};

    const P: &str = "ab0000000000000000000000000000000000000000000000000000000000000c";

    fn s(seq: u64, t: i64, kind: &str, v: f64) -> Sample {
        let unit = match kind {
            "heart_rate" => "/min",
            "spo2" => "%",
            _ => "mg/dL",
        };
        parse(
            &json!({"seq": seq, "patient": P, "t_ms": t, "kind": kind, "value": v, "unit": unit}),
            P,
        )
        .unwrap()
    }

    fn bp(seq: u64, t: i64, sys: f64, dia: f64) -> Sample {
        parse(
            &json!({"seq": seq, "patient": P, "t_ms": t, "kind": "blood_pressure",
                "systolic": sys, "diastolic": dia, "unit": "mm[Hg]"}),
            P,
        )
        .unwrap()
    }

    /// The NEWS2 chart's band edges (RCP 2017, chart 1).
    #[test]
    fn news2_sub_scores_follow_the_chart() {
        let pulse = [
            (40.0, 3),
            (41.0, 1),
            (50.0, 1),
            (51.0, 0),
            (90.0, 0),
            (91.0, 1),
            (110.0, 1),
            (111.0, 2),
            (130.0, 2),
            (131.0, 3),
        ];
        for (v, want) in pulse {
            assert_eq!(news2_pulse(v), want, "pulse {v}");
        }
        let spo2 = [
            (91.0, 3),
            (92.0, 2),
            (93.0, 2),
            (94.0, 1),
            (95.0, 1),
            (96.0, 0),
        ];
        for (v, want) in spo2 {
            assert_eq!(news2_spo2(v), want, "spo2 {v}");
        }
        let sys = [
            (90.0, 3),
            (91.0, 2),
            (100.0, 2),
            (101.0, 1),
            (110.0, 1),
            (111.0, 0),
            (219.0, 0),
            (220.0, 3),
        ];
        for (v, want) in sys {
            assert_eq!(news2_systolic(v), want, "systolic {v}");
        }
    }

    #[test]
    fn an_alert_is_raised_once_on_the_crossing_sample() {
        let mut t = Twin::new(None);
        t.apply(&s(1, 0, "heart_rate", 80.0)).unwrap();
        t.apply(&s(2, 1, "spo2", 97.0)).unwrap();
        assert!(t.alerts.is_empty());
        // pulse 2 + spo2 2 + systolic 1 = 5: the crossing sample is seq 5.
        t.apply(&s(3, 2, "heart_rate", 120.0)).unwrap();
        t.apply(&s(4, 3, "spo2", 93.0)).unwrap();
        assert!(t.alerts.is_empty());
        t.apply(&bp(5, 4, 105.0, 70.0)).unwrap();
        assert_eq!(t.alerts.len(), 1);
        assert_eq!((t.alerts[0].seq, t.alerts[0].kind), (5, "news2"));
        assert_eq!(t.alerts[0].value, 5.0);
        t.apply(&s(6, 5, "heart_rate", 125.0)).unwrap();
        assert_eq!(t.alerts.len(), 1, "still above: no second alert");
        t.apply(&s(7, 6, "heart_rate", 70.0)).unwrap();
        // One red parameter alone alerts again after recovering.
        t.apply(&s(8, 7, "spo2", 88.0)).unwrap();
        assert_eq!(t.alerts.len(), 2);
        assert_eq!(t.view()["news2"]["single_parameter_3"], json!(true));
        t.apply(&s(9, 8, "glucose", 60.0)).unwrap();
        assert_eq!(t.alerts.last().unwrap().kind, "hypoglycaemia");
        assert_eq!(t.view()["samples"], json!(9));
        assert_eq!(
            t.view()["latest"]["blood_pressure"]["systolic"],
            json!(105.0)
        );
        // Each reading says the unit it came in: glucose has two.
        assert_eq!(t.view()["latest"]["glucose"]["unit"], json!("mg/dL"));
        assert_eq!(
            t.view()["latest"]["blood_pressure"]["unit"],
            json!("mm[Hg]")
        );
        t.apply(
            &parse(
                &json!({"seq": 10, "patient": P, "t_ms": 9, "kind": "glucose", "value": 5.5,
                "unit": "mmol/L"}),
                P,
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(
            t.view()["latest"]["glucose"],
            json!({"value": 5.5, "unit": "mmol/L",
            "t_ms": 9, "seq": 10})
        );
    }

    /// Records what the model saw.
    struct Spy(Mutex<Vec<PatientRecord>>);

    impl Predictor for Spy {
        fn probabilities(&self, r: &PatientRecord, _: &str) -> anyhow::Result<[f64; 2]> {
            self.0.lock().unwrap().push(r.clone());
            let hr = r.vitals["heart_rate_bpm"].last().unwrap().value;
            Ok([0.5, hr / 200.0])
        }
        fn version(&self) -> String {
            "spy".into()
        }
    }

    fn record() -> PatientRecord {
        let mut r = PatientRecord::reference();
        let stored = VitalSample {
            time_h: 0.0,
            value: 200.0,
        };
        r.vitals.insert("heart_rate_bpm".into(), vec![stored]);
        r
    }

    #[test]
    fn the_predictor_reads_the_streamed_series_and_alerts_on_crossing() {
        let spy = Arc::new(Spy(Mutex::new(Vec::new())));
        let mut t = Twin::new(Some(PredictorInput {
            model: spy.clone(),
            record: record(),
            drug: "warfarin".into(),
            // Heart rates 80, 110, 120 give 0.40, 0.55, 0.60: only the last crosses.
            threshold: 0.58,
        }));
        t.apply(&s(1, 3_600_000, "spo2", 97.0)).unwrap();
        assert!(
            spy.0.lock().unwrap().is_empty(),
            "SpO2 does not feed the model"
        );
        t.apply(&s(2, 3_600_000, "heart_rate", 80.0)).unwrap();
        t.apply(&s(3, 7_200_000, "heart_rate", 110.0)).unwrap();
        assert!(t.alerts.iter().all(|a| a.kind != "adr_risk"));
        t.apply(&s(4, 10_800_000, "heart_rate", 120.0)).unwrap();
        let seen = spy.0.lock().unwrap().clone();
        assert_eq!(seen.len(), 3);
        let series = &seen[2].vitals["heart_rate_bpm"];
        // The streamed series replaced the stored one, in hours from the first sample.
        let got: Vec<(f64, f64)> = series.iter().map(|v| (v.time_h, v.value)).collect();
        assert_eq!(got, vec![(0.0, 80.0), (1.0, 110.0), (2.0, 120.0)]);
        let adr: Vec<&Alert> = t.alerts.iter().filter(|a| a.kind == "adr_risk").collect();
        assert_eq!(adr.len(), 1);
        assert_eq!((adr[0].seq, adr[0].value), (4, 0.6));
        assert_eq!(t.view()["prediction"]["adr_probability"], json!(0.6));
    }
}
