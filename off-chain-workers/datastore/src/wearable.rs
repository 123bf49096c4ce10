//! Wearable samples: the vital signs a patient's devices stream to the worker, their LOINC codes
//! and UCUM units, the values a living person can have, and each sample as an HL7 FHIR R4
//! `Observation` (category `vital-signs`), the form the store ingests.
//!
//! The kinds and their spelling are the one canonical table shared by the worker's stream
//! protocol (`consentry-worker`'s `stream` module), its FHIR export and the store's ingest (a
//! test ingests the mapped Observations back).

use serde_json::{json, Value};

use crate::time::format_date_time_ms;

/// A vital sign a wearable streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VitalKind {
    /// Heart rate, beats per minute (`/min`).
    HeartRate,
    /// Peripheral oxygen saturation by pulse oximetry (`%`).
    Spo2,
    /// Systolic and diastolic blood pressure (`mm[Hg]`).
    BloodPressure,
    /// Blood glucose (`mg/dL` or `mmol/L`).
    Glucose,
}

/// A unit a kind may be sent in: its UCUM code, the LOINC code of the measurement in that unit,
/// and the factor to the kind's first (canonical) unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UnitSpec {
    /// UCUM code, e.g. `/min`.
    pub ucum: &'static str,
    /// LOINC code of the Observation in this unit.
    pub loinc: &'static str,
    /// LOINC display.
    pub display: &'static str,
    /// Multiply by this to get the kind's canonical unit.
    pub to_canonical: f64,
}

/// The physiologically possible range of a value, in the kind's canonical unit. A value outside
/// it is a device or transmission error, never a measurement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    /// Lowest possible value.
    pub min: f64,
    /// Highest possible value.
    pub max: f64,
}

/// Blood pressure components (LOINC), inside the panel 85354-9.
pub const LOINC_SYSTOLIC: &str = "8480-6";
/// Diastolic blood pressure (LOINC).
pub const LOINC_DIASTOLIC: &str = "8462-4";
/// The blood pressure panel (LOINC).
pub const LOINC_BP_PANEL: &str = "85354-9";

impl VitalKind {
    /// Every kind.
    pub const ALL: [VitalKind; 4] = [
        VitalKind::HeartRate,
        VitalKind::Spo2,
        VitalKind::BloodPressure,
        VitalKind::Glucose,
    ];

    /// The canonical name (the stream protocol's `kind`).
    pub fn name(self) -> &'static str {
        match self {
            VitalKind::HeartRate => "heart_rate",
            VitalKind::Spo2 => "spo2",
            VitalKind::BloodPressure => "blood_pressure",
            VitalKind::Glucose => "glucose",
        }
    }

    /// The kind named `name`.
    pub fn parse(name: &str) -> Option<VitalKind> {
        VitalKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The units accepted, canonical first.
    pub fn units(self) -> &'static [UnitSpec] {
        match self {
            VitalKind::HeartRate => &[UnitSpec {
                ucum: "/min",
                loinc: "8867-4",
                display: "Heart rate",
                to_canonical: 1.0,
            }],
            VitalKind::Spo2 => &[UnitSpec {
                ucum: "%",
                loinc: "59408-5",
                display: "Oxygen saturation in Arterial blood by Pulse oximetry",
                to_canonical: 1.0,
            }],
            VitalKind::BloodPressure => &[UnitSpec {
                ucum: "mm[Hg]",
                loinc: LOINC_BP_PANEL,
                display: "Blood pressure panel with all children optional",
                to_canonical: 1.0,
            }],
            VitalKind::Glucose => &[
                UnitSpec {
                    ucum: "mg/dL",
                    loinc: "2339-0",
                    display: "Glucose [Mass/volume] in Blood",
                    to_canonical: 1.0,
                },
                UnitSpec {
                    ucum: "mmol/L",
                    loinc: "15074-8",
                    display: "Glucose [Moles/volume] in Blood",
                    // g/mol of glucose 180.16: 1 mmol/L = 18.016 mg/dL.
                    to_canonical: 18.016,
                },
            ],
        }
    }

    /// The unit spelled `ucum`, if this kind accepts it.
    pub fn unit(self, ucum: &str) -> Option<&'static UnitSpec> {
        self.units().iter().find(|u| u.ucum == ucum)
    }

    /// Possible values in the canonical unit: for blood pressure, of the systolic value (the
    /// diastolic has [`DIASTOLIC_RANGE`] and must be below the systolic).
    pub fn range(self) -> Range {
        match self {
            // Sustained rates outside these are incompatible with a wearable reading a living
            // patient (the record low and high are around 25 and 300).
            VitalKind::HeartRate => Range {
                min: 20.0,
                max: 300.0,
            },
            // Pulse oximeters do not report below ~50 % with any accuracy; above 100 % is
            // impossible.
            VitalKind::Spo2 => Range {
                min: 50.0,
                max: 100.0,
            },
            VitalKind::BloodPressure => Range {
                min: 40.0,
                max: 300.0,
            },
            // mg/dL: the range of blood glucose meters and CGMs (about 0.6 to 55 mmol/L).
            VitalKind::Glucose => Range {
                min: 10.0,
                max: 1000.0,
            },
        }
    }
}

/// Possible diastolic pressures, mm Hg.
pub const DIASTOLIC_RANGE: Range = Range {
    min: 20.0,
    max: 200.0,
};

/// A sample's measured values, in the unit it was sent in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reading {
    /// One value (heart rate, SpO2, glucose).
    Value(f64),
    /// Systolic and diastolic pressure.
    Pressure {
        /// Systolic, mm Hg.
        systolic: f64,
        /// Diastolic, mm Hg.
        diastolic: f64,
    },
}

fn quantity(value: f64, ucum: &str) -> Value {
    json!({ "value": value, "unit": ucum, "system": "http://unitsofmeasure.org", "code": ucum })
}

fn coding(loinc: &str, display: &str) -> Value {
    json!({ "coding": [{ "system": "http://loinc.org", "code": loinc, "display": display }] })
}

/// One wearable sample as a FHIR R4 `Observation` (category `vital-signs`, LOINC code, UCUM
/// quantity; blood pressure as the 85354-9 panel with systolic and diastolic components), for
/// the patient `Patient/{patient}` at `t_ms` (UTC, ms precision). `id` becomes the resource id.
pub fn observation(
    id: &str,
    patient: &str,
    kind: VitalKind,
    unit: &UnitSpec,
    reading: Reading,
    t_ms: i64,
) -> Value {
    let mut o = json!({
        "resourceType": "Observation",
        "id": id,
        "status": "final",
        "category": [{ "coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "vital-signs",
            "display": "Vital Signs",
        }] }],
        "code": coding(unit.loinc, unit.display),
        "subject": { "reference": format!("Patient/{patient}") },
        "effectiveDateTime": format_date_time_ms(t_ms),
    });
    match (kind, reading) {
        (
            VitalKind::BloodPressure,
            Reading::Pressure {
                systolic,
                diastolic,
            },
        ) => {
            o["component"] = json!([
                { "code": coding(LOINC_SYSTOLIC, "Systolic blood pressure"),
                  "valueQuantity": quantity(systolic, unit.ucum) },
                { "code": coding(LOINC_DIASTOLIC, "Diastolic blood pressure"),
                  "valueQuantity": quantity(diastolic, unit.ucum) },
            ]);
        }
        (_, Reading::Value(v)) => o["valueQuantity"] = quantity(v, unit.ucum),
        (_, Reading::Pressure { systolic, .. }) => {
            o["valueQuantity"] = quantity(systolic, unit.ucum)
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fhir::valid_loinc;
    use crate::{CategorySet, DataCategory, Pepper, Store};

    #[test]
    fn every_code_is_a_valid_loinc_and_every_name_parses_back() {
        for k in VitalKind::ALL {
            assert_eq!(VitalKind::parse(k.name()), Some(k));
            for u in k.units() {
                assert!(valid_loinc(u.loinc), "{}", u.loinc);
                assert_eq!(k.unit(u.ucum), Some(u));
            }
            assert!(k.range().min < k.range().max);
        }
        assert!(valid_loinc(LOINC_SYSTOLIC) && valid_loinc(LOINC_DIASTOLIC));
        assert_eq!(VitalKind::parse("pulse"), None);
        assert_eq!(VitalKind::Glucose.unit("mmol/l"), None);
    }

    /// The mapped Observations are what the store's own FHIR ingest accepts, and come back as
    /// the twin's vital series with the values and times sent.
    #[test]
    fn mapped_observations_are_ingested_by_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.sqlite")).unwrap();
        let pepper = Pepper::from_bytes(b"wearable-test-pepper-0123456789abcdef".to_vec()).unwrap();
        let t0 = 1_765_000_000_123;
        let hr = VitalKind::HeartRate;
        let bp = VitalKind::BloodPressure;
        let bundle = json!({
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [
                { "resource": {
                    "resourceType": "Patient", "id": "p1",
                    "identifier": [{ "value": "MRN-W1" }],
                    "gender": "female", "birthDate": "1960-04-02" } },
                { "resource": observation("s1", "p1", hr, &hr.units()[0], Reading::Value(71.0), t0) },
                { "resource": observation("s2", "p1", bp, &bp.units()[0],
                    Reading::Pressure { systolic: 131.0, diastolic: 84.0 }, t0 + 60_000) },
            ],
        });
        store.ingest_bundle(&pepper, &bundle).unwrap();
        let pseudonym = pepper.pseudonym("MRN-W1");
        let data = store
            .read(1, pseudonym, &CategorySet::of(&[DataCategory::Wearable]))
            .unwrap();
        let got: Vec<(String, f64, i64)> = data
            .vitals
            .iter()
            .map(|o| (o.loinc.clone(), o.value, o.effective_ms))
            .collect();
        assert!(got.contains(&("8867-4".into(), 71.0, t0)), "{got:?}");
        assert!(got.contains(&(LOINC_SYSTOLIC.into(), 131.0, t0 + 60_000)));
        assert!(got.contains(&(LOINC_DIASTOLIC.into(), 84.0, t0 + 60_000)));
    }
}
