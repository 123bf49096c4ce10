//! The FHIR R4 resources as serde structs (only the fields the store uses), and the validated
//! records the ingest writes.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Deserialize)]
pub(super) struct Coding {
    pub system: Option<String>,
    pub code: Option<String>,
    pub display: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct CodeableConcept {
    #[serde(default)]
    pub coding: Vec<Coding>,
    pub text: Option<String>,
}

impl CodeableConcept {
    pub fn label(&self) -> Option<String> {
        self.text
            .clone()
            .or_else(|| self.coding.iter().find_map(|c| c.display.clone()))
    }
}

#[derive(Deserialize)]
pub(super) struct Reference {
    pub reference: String,
}

#[derive(Deserialize)]
pub(super) struct Quantity {
    pub value: f64,
    pub unit: Option<String>,
    pub code: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Identifier {
    pub value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PatientRes {
    #[serde(default)]
    pub identifier: Vec<Identifier>,
    pub gender: String,
    pub birth_date: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Component {
    pub code: CodeableConcept,
    pub value_quantity: Quantity,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ObservationRes {
    pub status: Option<String>,
    #[serde(default)]
    pub category: Vec<CodeableConcept>,
    pub code: CodeableConcept,
    pub subject: Reference,
    pub effective_date_time: String,
    pub value_quantity: Option<Quantity>,
    #[serde(default)]
    pub component: Vec<Component>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DoseAndRate {
    pub dose_quantity: Option<Quantity>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DosageInstruction {
    pub route: Option<CodeableConcept>,
    #[serde(default)]
    pub dose_and_rate: Vec<DoseAndRate>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct MedicationRequestRes {
    pub status: Option<String>,
    pub medication_codeable_concept: CodeableConcept,
    pub subject: Reference,
    pub authored_on: String,
    #[serde(default)]
    pub dosage_instruction: Vec<DosageInstruction>,
}

#[derive(Deserialize)]
pub(super) struct AdministrationDosage {
    pub route: Option<CodeableConcept>,
    pub dose: Quantity,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct MedicationAdministrationRes {
    pub status: Option<String>,
    pub medication_codeable_concept: CodeableConcept,
    pub subject: Reference,
    pub effective_date_time: String,
    pub dosage: AdministrationDosage,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ConditionRes {
    pub code: CodeableConcept,
    pub subject: Reference,
    pub onset_date_time: Option<String>,
}

/// A validated Patient.
pub(crate) struct PatientIn {
    pub label: String,
    pub fhir_id: Option<String>,
    pub full_url: Option<String>,
    /// `identifier[0].value`, else `id`: what the pseudonym is computed from.
    pub identifier: String,
    pub birth_date: String,
    pub birth_day: i64,
    pub sex: String,
}

/// Where a clinical row came from and whom it is about (resolved by the ingest).
pub(crate) struct Origin {
    pub label: String,
    pub source: String,
    pub subject: String,
}

/// A laboratory or vital-sign value.
pub(crate) struct ObservationIn {
    pub origin: Origin,
    pub category: &'static str,
    pub loinc: String,
    pub display: Option<String>,
    pub value: f64,
    pub unit: String,
    pub effective_ms: i64,
}

/// Body weight (kg) or height (cm), kept on the patient row as demographics.
pub(crate) struct BodyIn {
    pub origin: Origin,
    pub is_weight: bool,
    pub value: f64,
    pub at_ms: i64,
}

/// A medication request or administration.
pub(crate) struct MedicationIn {
    pub origin: Origin,
    pub kind: &'static str,
    pub drug: String,
    pub drug_code: Option<String>,
    pub dose: f64,
    pub unit: String,
    pub route: Option<String>,
    pub at_ms: i64,
}

/// A diagnosis.
pub(crate) struct ConditionIn {
    pub origin: Origin,
    pub system: Option<String>,
    pub code: String,
    pub display: String,
    pub onset_ms: Option<i64>,
}

/// Everything the store takes from one bundle.
#[derive(Default)]
pub(crate) struct ParsedBundle {
    pub patients: Vec<PatientIn>,
    pub observations: Vec<ObservationIn>,
    pub body: Vec<BodyIn>,
    pub medications: Vec<MedicationIn>,
    pub conditions: Vec<ConditionIn>,
    /// Resources not imported, by reason (e.g. `Encounter`, `Observation (category exam)`).
    pub skipped: BTreeMap<String, usize>,
}
