//! Building one synthetic patient's FHIR R4 Bundle.

use rand::Rng;
use serde_json::{json, Value};

use super::{alleles, egfr_ckd_epi_2021, log_normal, normal, SynthPatient, AS_OF};
use crate::time::{format_date, format_date_time};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
const LOINC: &str = "http://loinc.org";
const UCUM: &str = "http://unitsofmeasure.org";
const SNOMED: &str = "http://snomed.info/sct";
const ICD10CM: &str = "http://hl7.org/fhir/sid/icd-10-cm";
const RXNORM: &str = "http://www.nlm.nih.gov/research/umls/rxnorm";
const OBS_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
/// Start of the 3-day stay the vitals and administrations cover.
const ADMIT: i64 = AS_OF - 3 * DAY;

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

/// Accumulates entries; ids are `<patient id>-<suffix>`.
struct Builder {
    pid: String,
    entries: Vec<Value>,
}

impl Builder {
    fn push(&mut self, rtype: &str, suffix: &str, mut resource: Value) {
        let id = if suffix.is_empty() {
            self.pid.clone()
        } else {
            format!("{}-{suffix}", self.pid)
        };
        resource["resourceType"] = json!(rtype);
        resource["id"] = json!(id);
        if rtype != "Patient" {
            resource["subject"] = json!({ "reference": format!("Patient/{}", self.pid) });
        }
        self.entries.push(json!({
            "fullUrl": format!("https://synthetic.consentry.example/fhir/{rtype}/{id}"),
            "resource": resource,
        }));
    }

    #[allow(clippy::too_many_arguments)]
    fn quantity_obs(
        &mut self,
        suffix: &str,
        cat: &str,
        loinc: &str,
        name: &str,
        v: f64,
        unit: &str,
        at: i64,
    ) {
        self.push(
            "Observation",
            suffix,
            json!({
                "status": "final",
                "category": [category(cat)],
                "code": { "coding": [{ "system": LOINC, "code": loinc, "display": name }], "text": name },
                "effectiveDateTime": format_date_time(at),
                "valueQuantity": quantity(v, unit),
            }),
        );
    }
}

fn category(code: &str) -> Value {
    let display = if code == "laboratory" {
        "Laboratory"
    } else {
        "Vital Signs"
    };
    json!({ "coding": [{ "system": OBS_CATEGORY, "code": code, "display": display }] })
}

fn quantity(v: f64, unit: &str) -> Value {
    json!({ "value": v, "unit": unit, "system": UCUM, "code": unit })
}

/// A drug the generator prescribes.
struct Drug {
    name: &'static str,
    rxnorm: &'static str,
    dose_mg: f64,
    /// Administrations per day.
    per_day: i64,
}

struct Conditions {
    hypertension: bool,
    diabetes: bool,
    atrial_fibrillation: bool,
    coronary: bool,
    hyperlipidemia: bool,
    transplant: bool,
    hepatic: bool,
}

pub(super) fn build(rng: &mut impl Rng, seed: u64, index: u64) -> SynthPatient {
    let pid = format!("syn{seed}-{index:05}");
    let identifier = format!("SYN-{seed}-{index:05}");
    let mut b = Builder {
        pid,
        entries: Vec::new(),
    };

    // Demographics.
    let female = rng.gen_bool(0.5);
    let age: f64 = rng.gen_range(18.0..91.0);
    let birth_day = (AS_OF / DAY) - (age * 365.2425).round() as i64;
    let age = age.floor();
    let t = (age - 18.0) / 72.0;
    let height = if female {
        normal(rng, 163.0, 6.5)
    } else {
        normal(rng, 176.0, 7.0)
    }
    .clamp(145.0, 205.0);
    let bmi = log_normal(rng, 26.5, 0.17).clamp(16.0, 50.0);
    let weight = round(bmi * (height / 100.0).powi(2), 1);
    let genotypes = alleles::genotype(rng);

    let c = Conditions {
        hypertension: rng.gen_bool(0.15 + 0.5 * t),
        diabetes: rng.gen_bool(0.05 + 0.2 * t),
        atrial_fibrillation: rng.gen_bool(0.01 + 0.15 * t),
        coronary: rng.gen_bool(0.02 + 0.2 * t),
        hyperlipidemia: rng.gen_bool(0.1 + 0.3 * t),
        transplant: rng.gen_bool(0.04),
        hepatic: rng.gen_bool(0.05),
    };

    // Renal: creatinine by sex and age, a CKD tail, higher after a kidney transplant.
    let mut scr = log_normal(rng, if female { 0.75 } else { 0.95 }, 0.15)
        * (1.0 + 0.004 * (age - 40.0)).max(0.9);
    if rng.gen_bool(0.05 + 0.1 * t) {
        scr *= rng.gen_range(1.5..3.5);
    }
    if c.transplant {
        scr *= rng.gen_range(1.2..2.0);
    }
    let scr = scr.clamp(0.4, 10.0);
    let egfr = egfr_ckd_epi_2021(scr, age, female);

    // Hepatic: log-normal, with an impaired tail.
    let mut alt = log_normal(rng, if female { 18.0 } else { 25.0 }, 0.35);
    let mut ast = log_normal(rng, 22.0, 0.3);
    let mut bili = log_normal(rng, 0.6, 0.35);
    let mut alb = normal(rng, 4.1, 0.35);
    if c.hepatic {
        alt *= rng.gen_range(2.0..6.0);
        ast *= rng.gen_range(2.0..6.0);
        bili *= rng.gen_range(1.5..4.0);
        alb -= rng.gen_range(0.5..1.2);
    }
    let alb = alb.clamp(2.0, 5.2);

    b.push(
        "Patient",
        "",
        json!({
            "meta": { "security": [{ "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "HTEST", "display": "test health data" }] },
            "identifier": [{ "system": "https://hospital.example/mrn", "value": identifier }],
            "gender": if female { "female" } else { "male" },
            "birthDate": format_date(birth_day),
        }),
    );
    b.quantity_obs(
        "weight",
        "vital-signs",
        "29463-7",
        "Body weight",
        weight,
        "kg",
        ADMIT + HOUR,
    );
    b.quantity_obs(
        "height",
        "vital-signs",
        "8302-2",
        "Body height",
        round(height, 0),
        "cm",
        ADMIT + HOUR,
    );

    // Labs at admission and on the morning of day 3 (small within-patient variation).
    for (k, at) in [(0, ADMIT + 2 * HOUR), (1, AS_OF - 2 * HOUR)] {
        let j = |rng: &mut _| {
            if k == 0 {
                1.0
            } else {
                log_normal(rng, 1.0, 0.05)
            }
        };
        let s = round(scr * j(rng), 2);
        let labs = [
            ("2160-0", "Creatinine [Mass/volume] in Serum or Plasma", s, "mg/dL"),
            (
                "98979-8",
                "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, Plasma or Blood by Creatinine-based formula (CKD-EPI 2021)",
                egfr_ckd_epi_2021(s, age, female).round(),
                "mL/min/{1.73_m2}",
            ),
            ("1742-6", "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma", round(alt * j(rng), 0), "U/L"),
            ("1920-8", "Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma", round(ast * j(rng), 0), "U/L"),
            ("1975-2", "Bilirubin.total [Mass/volume] in Serum or Plasma", round(bili * j(rng), 1), "mg/dL"),
            ("1751-7", "Albumin [Mass/volume] in Serum or Plasma", round(alb * j(rng), 1), "g/dL"),
        ];
        for (n, (code, name, v, unit)) in labs.into_iter().enumerate() {
            b.quantity_obs(
                &format!("lab{k}-{n}"),
                "laboratory",
                code,
                name,
                v,
                unit,
                at,
            );
        }
    }

    vitals(&mut b, rng, &c);
    conditions(&mut b, rng, &c, egfr);
    medications(&mut b, rng, &c, &genotypes, weight, age);

    let bundle = json!({
        "resourceType": "Bundle",
        "id": format!("{}-bundle", b.pid),
        "type": "collection",
        "timestamp": format_date_time(AS_OF),
        "entry": b.entries,
    });
    SynthPatient {
        identifier,
        bundle,
        genotypes: genotypes
            .into_iter()
            .map(|(g, d)| (g.to_string(), d))
            .collect(),
    }
}

/// Every 4 h for 3 days: heart rate, blood pressure (panel with components), temperature, SpO2.
fn vitals(b: &mut Builder, rng: &mut impl Rng, c: &Conditions) {
    let hr0 =
        normal(rng, 74.0, 9.0).clamp(50.0, 110.0) + if c.atrial_fibrillation { 10.0 } else { 0.0 };
    let hr_noise = if c.atrial_fibrillation { 8.0 } else { 4.0 };
    let sbp0 = normal(rng, 126.0, 13.0) + if c.hypertension { 12.0 } else { 0.0 };
    let dbp0 = 0.55 * sbp0 + normal(rng, 8.0, 5.0);
    let temp0 = normal(rng, 36.8, 0.2);
    let spo20 = normal(rng, 97.0, 1.2).clamp(91.0, 99.5);
    let (mut hr_e, mut bp_e) = (0.0, 0.0);
    for k in 0..18 {
        let at = ADMIT + k * 4 * HOUR + rng.gen_range(0..20) * 60_000;
        let hour_of_day = (at.rem_euclid(DAY) as f64) / HOUR as f64;
        let diurnal = (2.0 * std::f64::consts::PI * (hour_of_day - 10.0) / 24.0).cos();
        // AR(1) deviations so consecutive readings are correlated, as in real series.
        hr_e = 0.6 * hr_e + normal(rng, 0.0, hr_noise);
        bp_e = 0.6 * bp_e + normal(rng, 0.0, 6.0);
        let hr = (hr0 + 4.0 * diurnal + hr_e).clamp(35.0, 180.0).round();
        let sbp = (sbp0 + 5.0 * diurnal + bp_e).clamp(80.0, 220.0).round();
        let dbp = (dbp0 + 3.0 * diurnal + 0.5 * bp_e + normal(rng, 0.0, 2.0))
            .clamp(40.0, sbp - 20.0)
            .round();
        let temp = round(temp0 + 0.2 * diurnal + normal(rng, 0.0, 0.15), 1);
        let spo2 = (spo20 + normal(rng, 0.0, 0.8)).clamp(85.0, 100.0).round();
        b.quantity_obs(
            &format!("hr-{k}"),
            "vital-signs",
            "8867-4",
            "Heart rate",
            hr,
            "/min",
            at,
        );
        b.push(
            "Observation",
            &format!("bp-{k}"),
            json!({
                "status": "final",
                "category": [category("vital-signs")],
                "code": { "coding": [{ "system": LOINC, "code": "85354-9", "display": "Blood pressure panel with all children optional" }] },
                "effectiveDateTime": format_date_time(at),
                "component": [
                    { "code": { "coding": [{ "system": LOINC, "code": "8480-6", "display": "Systolic blood pressure" }] }, "valueQuantity": quantity(sbp, "mm[Hg]") },
                    { "code": { "coding": [{ "system": LOINC, "code": "8462-4", "display": "Diastolic blood pressure" }] }, "valueQuantity": quantity(dbp, "mm[Hg]") },
                ],
            }),
        );
        b.quantity_obs(
            &format!("temp-{k}"),
            "vital-signs",
            "8310-5",
            "Body temperature",
            temp,
            "Cel",
            at,
        );
        b.quantity_obs(
            &format!("spo2-{k}"),
            "vital-signs",
            "59408-5",
            "Oxygen saturation in Arterial blood by Pulse oximetry",
            spo2,
            "%",
            at,
        );
    }
}

fn conditions(b: &mut Builder, rng: &mut impl Rng, c: &Conditions, egfr: f64) {
    let list: [(bool, &str, &str, &str); 8] = [
        (
            c.hypertension,
            SNOMED,
            "38341003",
            "Hypertensive disorder, systemic arterial",
        ),
        (c.diabetes, SNOMED, "44054006", "Diabetes mellitus type 2"),
        (
            c.atrial_fibrillation,
            SNOMED,
            "49436004",
            "Atrial fibrillation",
        ),
        (c.coronary, SNOMED, "53741008", "Coronary arteriosclerosis"),
        (c.hyperlipidemia, SNOMED, "55822004", "Hyperlipidemia"),
        (egfr < 60.0, SNOMED, "709044004", "Chronic kidney disease"),
        (c.transplant, ICD10CM, "Z94.0", "Kidney transplant status"),
        (
            c.hepatic,
            ICD10CM,
            "K76.0",
            "Fatty (change of) liver, not elsewhere classified",
        ),
    ];
    for (n, (present, system, code, display)) in list.into_iter().enumerate() {
        if !present {
            continue;
        }
        let onset = AS_OF - rng.gen_range(30..3650) * DAY;
        b.push(
            "Condition",
            &format!("cond-{n}"),
            json!({
                "clinicalStatus": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active" }] },
                "code": { "coding": [{ "system": system, "code": code, "display": display }], "text": display },
                "onsetDateTime": format_date(onset / DAY),
            }),
        );
    }
}

fn medications(
    b: &mut Builder,
    rng: &mut impl Rng,
    c: &Conditions,
    genotypes: &[(&str, String)],
    weight: f64,
    age: f64,
) {
    let dip = |gene: &str| {
        genotypes
            .iter()
            .find(|(g, _)| *g == gene)
            .map_or("", |(_, d)| d.as_str())
    };
    let mut drugs = Vec::new();
    if c.atrial_fibrillation {
        // Warfarin: lower maintenance doses for VKORC1 -1639A and CYP2C9 *2/*3 carriers and the
        // elderly, as in genotype-guided dosing (CPIC warfarin guideline, Johnson et al. 2017).
        let mut dose: f64 = 5.0;
        dose *= match dip("VKORC1") {
            "A/A" => 0.5,
            "G/A" => 0.75,
            _ => 1.0,
        };
        let c9 = dip("CYP2C9");
        dose *= if c9.contains("*3") {
            0.7
        } else if c9.contains("*2") {
            0.85
        } else {
            1.0
        };
        if age > 70.0 {
            dose *= 0.85;
        }
        drugs.push(Drug {
            name: "warfarin",
            rxnorm: "11289",
            dose_mg: (dose * rng.gen_range(0.8..1.2) * 2.0).round().max(1.0) / 2.0,
            per_day: 1,
        });
    }
    if c.coronary {
        drugs.push(Drug {
            name: "clopidogrel",
            rxnorm: "32968",
            dose_mg: 75.0,
            per_day: 1,
        });
    }
    if c.coronary || c.hyperlipidemia {
        let dose = if rng.gen_bool(0.5) { 20.0 } else { 40.0 };
        drugs.push(Drug {
            name: "simvastatin",
            rxnorm: "36567",
            dose_mg: dose,
            per_day: 1,
        });
    }
    if c.transplant {
        // Tacrolimus ≈ 0.075 mg/kg/day in two doses; CYP3A5 expressers (*1 carriers) need ~1.5×.
        let expresser = dip("CYP3A5").contains("*1");
        let daily: f64 = 0.075 * weight * if expresser { 1.5 } else { 1.0 };
        drugs.push(Drug {
            name: "tacrolimus",
            rxnorm: "42316",
            dose_mg: ((daily / 2.0) * 2.0).round().max(1.0) / 2.0,
            per_day: 2,
        });
    }
    for (n, d) in drugs.iter().enumerate() {
        let medication = json!({ "coding": [{ "system": RXNORM, "code": d.rxnorm, "display": d.name }], "text": d.name });
        let route = json!({ "coding": [{ "system": SNOMED, "code": "26643006", "display": "Oral route" }], "text": "Oral route" });
        b.push(
            "MedicationRequest",
            &format!("rx-{n}"),
            json!({
                "status": "active",
                "intent": "order",
                "medicationCodeableConcept": medication,
                "authoredOn": format_date_time(ADMIT + HOUR),
                "dosageInstruction": [{
                    "text": format!("{} mg by mouth {} daily", d.dose_mg, if d.per_day == 2 { "twice" } else { "once" }),
                    "timing": { "repeat": { "frequency": d.per_day, "period": 1, "periodUnit": "d" } },
                    "route": route,
                    "doseAndRate": [{ "doseQuantity": quantity(d.dose_mg, "mg") }],
                }],
            }),
        );
        let times: Vec<i64> = (0..3)
            .flat_map(|day| {
                (0..d.per_day).map(move |k| ADMIT + day * DAY + 2 * HOUR + k * 12 * HOUR)
            })
            .collect();
        for (k, at) in times.into_iter().enumerate() {
            b.push(
                "MedicationAdministration",
                &format!("admin-{n}-{k}"),
                json!({
                    "status": "completed",
                    "medicationCodeableConcept": medication,
                    "effectiveDateTime": format_date_time(at + rng.gen_range(0..30) * 60_000),
                    "dosage": { "route": route, "dose": quantity(d.dose_mg, "mg") },
                }),
            );
        }
    }
}
