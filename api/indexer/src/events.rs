//! Consentry events: their JSON form, and what the indexer must re-read because of them.
//!
//! The match is exhaustive over the generated event enums, so a new event variant in a pallet
//! fails compilation here instead of being silently skipped.

use crate::model::{category_names, hex32, purpose_name, state_name};
use crate::store::EnrolmentChange;
use consentry_client::runtime::runtime_types::{
    pallet_consentry_audit::pallet::Event as AuditEvent,
    pallet_consentry_consent::pallet::Event as ConsentEvent,
    pallet_consentry_identity::pallet::Event as IdentityEvent,
};
use consentry_client::runtime::Event;
use consentry_primitives::{AccessState, RecordKey};
use serde_json::{json, Value};

/// What one event means for the tables besides `events`.
#[derive(Debug, Default)]
pub struct Effect {
    /// Access record to re-read at the block; `true` if the event closed it.
    pub access: Option<(RecordKey, bool)>,
    /// Consents to re-read at the block.
    pub consent: Option<u64>,
    /// A subject whose consents all changed (erasure).
    pub consents_of: Option<u64>,
    /// Enrolment change.
    pub enrolment: Option<EnrolmentChange>,
}

/// The pallet name, variant name, JSON fields and effect of a Consentry event; `None` for other
/// pallets' events.
pub fn describe(ev: Event) -> Option<(&'static str, &'static str, Value, Effect)> {
    let mut fx = Effect::default();
    let (pallet, (variant, value)) = match ev {
        Event::Identity(e) => ("Identity", identity(e, &mut fx)),
        Event::Consent(e) => ("Consent", consent(e, &mut fx)),
        Event::Audit(e) => ("Audit", audit(e, &mut fx)),
        _ => return None,
    };
    Some((pallet, variant, value, fx))
}

fn identity(e: IdentityEvent, fx: &mut Effect) -> (&'static str, Value) {
    use IdentityEvent as E;
    match e {
        E::InstitutionRegistered { institution, roles } => (
            "InstitutionRegistered",
            json!({ "institution": institution, "roles": roles.0.iter().map(|r| r.name()).collect::<Vec<_>>() }),
        ),
        E::RolesChanged { institution, roles } => (
            "RolesChanged",
            json!({ "institution": institution, "roles": roles.0.iter().map(|r| r.name()).collect::<Vec<_>>() }),
        ),
        E::InstitutionSuspended { institution } => (
            "InstitutionSuspended",
            json!({ "institution": institution }),
        ),
        E::InstitutionReinstated { institution } => (
            "InstitutionReinstated",
            json!({ "institution": institution }),
        ),
        E::InstitutionRemoved { institution } => {
            ("InstitutionRemoved", json!({ "institution": institution }))
        }
        E::ServiceKeyAdded { institution, key } => (
            "ServiceKeyAdded",
            json!({ "institution": institution, "key": key.to_string() }),
        ),
        E::ServiceKeyRemoved { institution, key } => (
            "ServiceKeyRemoved",
            json!({ "institution": institution, "key": key.to_string() }),
        ),
        E::TransportKeySet { institution, key } => (
            "TransportKeySet",
            json!({ "institution": institution, "key": hex32(&key) }),
        ),
        E::Enrolled {
            pseudonym,
            institution,
            patient,
        } => {
            fx.enrolment = Some(EnrolmentChange::Enrolled {
                pseudonym: hex32(&pseudonym),
                institution,
                patient: patient.to_string(),
            });
            (
                "Enrolled",
                json!({ "pseudonym": hex32(&pseudonym), "institution": institution, "patient": patient.to_string() }),
            )
        }
        E::Claimed {
            pseudonym,
            subject,
            patient,
        } => {
            fx.enrolment = Some(EnrolmentChange::Claimed {
                pseudonym: hex32(&pseudonym),
                subject,
            });
            (
                "Claimed",
                json!({ "pseudonym": hex32(&pseudonym), "subject": subject, "patient": patient.to_string() }),
            )
        }
        E::GuardianAppointed { subject, guardian } => (
            "GuardianAppointed",
            json!({ "subject": subject, "guardian": guardian.to_string() }),
        ),
        E::GuardianRemoved { subject, guardian } => (
            "GuardianRemoved",
            json!({ "subject": subject, "guardian": guardian.to_string() }),
        ),
        E::Forgotten { subject, by } => {
            fx.enrolment = Some(EnrolmentChange::Forgotten { subject });
            (
                "Forgotten",
                json!({ "subject": subject, "by": by.to_string() }),
            )
        }
    }
}

fn consent(e: ConsentEvent, fx: &mut Effect) -> (&'static str, Value) {
    use ConsentEvent as E;
    match e {
        E::ConsentGranted {
            consent,
            subject,
            grantee,
            by,
        } => {
            fx.consent = Some(consent);
            (
                "ConsentGranted",
                json!({ "consent": consent, "subject": subject, "grantee": grantee.0, "by": by.to_string() }),
            )
        }
        E::ConsentAmended {
            consent,
            subject,
            by,
        } => {
            fx.consent = Some(consent);
            (
                "ConsentAmended",
                json!({ "consent": consent, "subject": subject, "by": by.to_string() }),
            )
        }
        E::ConsentRevoked {
            consent,
            subject,
            by,
        } => {
            fx.consent = Some(consent);
            (
                "ConsentRevoked",
                json!({ "consent": consent, "subject": subject, "by": by.to_string() }),
            )
        }
        E::ConsentsErased { subject, count } => {
            fx.consents_of = Some(subject);
            (
                "ConsentsErased",
                json!({ "subject": subject, "count": count }),
            )
        }
    }
}

fn audit(e: AuditEvent, fx: &mut Effect) -> (&'static str, Value) {
    use AuditEvent as E;
    match e {
        E::AccessGranted {
            id,
            institution,
            subject,
            purpose,
            categories,
        } => {
            fx.access = Some((
                RecordKey {
                    subject: Some(subject),
                    id,
                },
                false,
            ));
            (
                "AccessGranted",
                json!({ "id": id, "institution": institution, "subject": subject,
                        "purpose": purpose_name(purpose.0), "categories": category_names(categories.0) }),
            )
        }
        E::AccessDenied {
            id,
            institution,
            subject,
            reason,
        } => {
            fx.access = Some((RecordKey { subject, id }, false));
            (
                "AccessDenied",
                json!({ "id": id, "institution": institution, "subject": subject, "reason": reason.0.name() }),
            )
        }
        E::EmergencyAccess {
            id,
            institution,
            subject,
            justification,
        } => {
            fx.access = Some((
                RecordKey {
                    subject: Some(subject),
                    id,
                },
                false,
            ));
            (
                "EmergencyAccess",
                json!({ "id": id, "institution": institution, "subject": subject, "justification": hex32(&justification) }),
            )
        }
        E::AccessClosed {
            id,
            subject,
            institution,
            outcome,
            result_digest,
        } => {
            fx.access = Some((
                RecordKey {
                    subject: Some(subject),
                    id,
                },
                true,
            ));
            (
                "AccessClosed",
                json!({ "id": id, "subject": subject, "institution": institution, "outcome": state_name(&AccessState::Closed(outcome.0)).0,
                        "result_digest": result_digest.as_ref().map(hex32) }),
            )
        }
    }
}
