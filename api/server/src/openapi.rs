//! The OpenAPI 3 document, generated from the handlers' `#[utoipa::path]` annotations and the
//! request/response types, so it cannot drift from the code.

use crate::{auth, error, routes};
use utoipa::{
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    Modify, OpenApi,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Consentry API",
        description = "Consent and audit for patient digital twins: sessions by signed challenge, \
                       the ledger's access history, consents, exports (JSON, CSV, HL7 FHIR R4), \
                       storage proofs and a relay for wallet-signed extrinsics."
    ),
    paths(
        routes::ops::challenge,
        routes::ops::session,
        routes::ops::health,
        routes::ops::ready,
        routes::ops::metrics,
        routes::ops::openapi,
        routes::ledger::access_list,
        routes::ledger::access_one,
        routes::ledger::consents,
        routes::ledger::summary,
        routes::ledger::export_access,
        routes::ledger::export_consents,
        routes::chain::proof,
        routes::chain::decision,
        routes::chain::relay,
        routes::jobs::submit,
        routes::jobs::get,
    ),
    components(schemas(
        error::Problem,
        auth::Identity,
        auth::ChallengeRequest,
        auth::Challenge,
        auth::SessionRequest,
        auth::SessionGranted,
        routes::chain::ProofDoc,
        routes::chain::DecisionRequest,
        routes::chain::DecisionResponse,
        routes::chain::RelayRequest,
        routes::chain::RelayResponse,
        routes::ledger::AccessPage,
        routes::ledger::ConsentPage,
        routes::ledger::Summary,
        routes::jobs::JobRequest,
    )),
    modifiers(&Bearer)
)]
struct ApiDoc;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The document served at `/openapi.json`.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
