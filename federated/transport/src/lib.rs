//! # consentry-fl-transport
//!
//! The network layer of Consentry's federated rounds: HTTP over mutual TLS 1.3 between each
//! site (an institution's worker) and the round's aggregator, carrying the
//! [`consentry_secagg`] secure-aggregation messages.
//!
//! ## Trust: pinned institution keys, no CA
//! Each institution has a transport key pair and a self-signed certificate naming it
//! (`inst-<id>.consentry`, [`identity`]). The identity pallet records, per institution, the
//! SHA-256 of that certificate's SubjectPublicKeyInfo and whether the institution is active; the
//! [`Registry`] trait is this crate's view of it. Both ends verify the peer with a pinned
//! verifier ([`verify`]): the certificate must name exactly one institution, its key digest must
//! equal that institution's registered one, the institution must be active, and the TLS 1.3
//! handshake signature must verify under that key (ring). Anything else is refused with a
//! [`PeerRefusal`] naming why (unregistered, key mismatch, suspended, ...). TLS 1.2, session
//! resumption and certificate chains are disabled ([`tls`]).
//!
//! ## The round over HTTPS
//! [`AggregatorServer`] serves the round's stages (advertise keys → relayed keys → encrypted
//! shares → inbox → masked input → unmask request → unmask response → result) with a deadline
//! per stage; the calling site is the institution its TLS certificate proves, never what the body
//! says, and a body naming another site is refused. [`SiteClient`]/[`RoundSession`] drive a
//! [`consentry_secagg::Site`] through the same stages with short long-polls. A site that misses
//! a stage is dropped; once it has sent its shares its masks are removed with the other sites'
//! shares as long as at least t survive. Refusals are RFC 9457 problem documents ([`problem`]).
//!
//! ## Threat model (transport)
//! - Network attacker: sees only TLS 1.3 traffic; cannot impersonate a site or the aggregator
//!   without the registered private key.
//! - A site (or anyone holding a registered key) cannot speak for another site: identity comes
//!   from the verified certificate; a suspended institution is refused at the handshake and, on
//!   a connection already open, at its next request.
//! - The aggregator is trusted for availability only: what it learns is bounded by
//!   `consentry-secagg` (the sum of the surviving inputs). A site pins the aggregator's
//!   institution, so a rogue server with another registered key is refused too.
//! - Not covered here: denial of service beyond per-stage deadlines and the handshake timeout;
//!   traffic analysis (sizes and timing); the on-chain commitments of U1/U3 and key digests,
//!   which the worker makes around these calls.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod client;
pub mod identity;
pub mod problem;
pub mod registry;
pub mod server;
pub mod tls;
pub mod verify;

pub use client::{ClientError, PollConfig, RoundSession, SiteClient};
pub use identity::{InstitutionId, KeyAlgorithm, TransportIdentity};
pub use problem::{ApiError, Problem};
pub use registry::{InMemoryRegistry, RegisteredKey, Registry};
pub use server::{
    AggregatorServer, Deadlines, PeerIdentity, RoundConfig, RoundResult, ServerError, Stage,
};
pub use tls::{client_config, server_config};
pub use verify::{PeerRefusal, RefusalLog};
