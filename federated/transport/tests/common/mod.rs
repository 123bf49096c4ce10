//! Shared test fixtures: institutions with generated transport keys, a registry, an aggregator.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use consentry_fl_transport::{
    AggregatorServer, InMemoryRegistry, InstitutionId, KeyAlgorithm, PollConfig, Registry,
    SiteClient, TransportIdentity,
};

pub const AGGREGATOR: InstitutionId = 100;

pub struct Consortium {
    pub registry: InMemoryRegistry,
    pub aggregator: TransportIdentity,
}

impl Consortium {
    /// An aggregator institution, registered.
    pub fn new() -> Self {
        let registry = InMemoryRegistry::new();
        let aggregator = TransportIdentity::generate(AGGREGATOR, KeyAlgorithm::Ed25519).unwrap();
        registry.register(AGGREGATOR, aggregator.spki_sha256());
        Self {
            registry,
            aggregator,
        }
    }

    /// A new institution; registered iff `register`. Odd ids use ECDSA P-256 so both key types
    /// are exercised.
    pub fn institution(&self, id: InstitutionId, register: bool) -> TransportIdentity {
        let alg = if id % 2 == 1 {
            KeyAlgorithm::EcdsaP256
        } else {
            KeyAlgorithm::Ed25519
        };
        let identity = TransportIdentity::generate(id, alg).unwrap();
        if register {
            self.registry.register(id, identity.spki_sha256());
        }
        identity
    }

    pub fn registry(&self) -> Arc<dyn Registry> {
        Arc::new(self.registry.clone())
    }

    pub async fn serve(&self) -> AggregatorServer {
        let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
        AggregatorServer::bind(addr, &self.aggregator, self.registry())
            .await
            .unwrap()
    }

    pub fn client(&self, identity: &TransportIdentity, server: &AggregatorServer) -> SiteClient {
        SiteClient::new(
            identity,
            &server.url(),
            AGGREGATOR,
            self.registry(),
            fast_poll(),
        )
        .unwrap()
    }
}

pub fn fast_poll() -> PollConfig {
    PollConfig {
        wait_per_request: Duration::from_millis(500),
        stage_timeout: Duration::from_secs(60),
        request_slack: Duration::from_secs(10),
    }
}
