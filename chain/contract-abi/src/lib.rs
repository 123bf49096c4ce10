//! # Consentry contract ABI
//!
//! Messages, types and events of Consentry's ink! contracts, for clients (workers, the wallet,
//! the API, tests) that do not depend on ink!. A message is a value of a type implementing
//! [`Message`]: its selector is fixed in the contract (`#[ink(selector = ..)]`), its arguments
//! are the value's SCALE encoding, and the contract answers `Result<Message::Output, LangError>`
//! ([`decode_answer`]). Events are identified by their signature topic ([`Event`]).
//!
//! The contracts' own sources are `contracts/dua` and `contracts/consortium`; `contracts/README.md`
//! lists the selectors.

pub mod consortium;
pub mod dua;

use codec::{Decode, Encode};

pub use consentry_primitives::{CategorySet, InstitutionId, Moment, Purpose, PurposeSet};

/// A 32-byte digest (legal text, models, record sets).
pub type Digest = [u8; 32];

/// A contract message (or constructor) with its arguments.
pub trait Message: Encode {
    /// The message's selector, as fixed in the contract.
    const SELECTOR: [u8; 4];
    /// The message's label in the contract's metadata.
    const LABEL: &'static str;
    /// What the message returns.
    type Output: Decode;

    /// The call's input: the selector, then the SCALE-encoded arguments.
    fn input(&self) -> Vec<u8> {
        let mut input = Self::SELECTOR.to_vec();
        self.encode_to(&mut input);
        input
    }
}

/// ink!'s error for input the contract could not dispatch (an unknown selector, undecodable
/// arguments): `ink::LangError`.
#[derive(Encode, Decode, Clone, Copy, PartialEq, Eq, Debug)]
pub enum LangError {
    /// The input did not decode to any message of the contract.
    #[codec(index = 1)]
    CouldNotReadInput,
}

/// Why a contract's answer could not be read.
#[derive(Debug, PartialEq, Eq)]
pub enum AnswerError {
    /// The contract could not dispatch the input (wrong contract, or a stale ABI).
    Lang(LangError),
    /// The answer did not decode as the message's output (wrong contract, or a stale ABI).
    Undecodable(String),
}

impl core::fmt::Display for AnswerError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            AnswerError::Lang(e) => write!(f, "the contract could not read the input: {e:?}"),
            AnswerError::Undecodable(e) => write!(f, "the contract's answer does not decode: {e}"),
        }
    }
}

impl std::error::Error for AnswerError {}

/// Decodes what a contract returned for message `M` (a call's or dry run's return data).
pub fn decode_answer<M: Message>(data: &[u8]) -> Result<M::Output, AnswerError> {
    let answer = <Result<M::Output, LangError>>::decode(&mut &data[..])
        .map_err(|e| AnswerError::Undecodable(e.to_string()))?;
    answer.map_err(AnswerError::Lang)
}

/// A contract event: the first topic of an ink! 5 event is its signature topic, the BLAKE2-256
/// hash of `Name(type,type,..)`; its data is the SCALE encoding of its fields.
pub trait Event: Decode {
    /// The event's signature, hashed into its first topic.
    const SIGNATURE: &'static str;

    /// The signature topic.
    fn signature_topic() -> [u8; 32] {
        sp_core::hashing::blake2_256(Self::SIGNATURE.as_bytes())
    }

    /// The event, if `topics` and `data` (one `Contracts::ContractEmitted` with its record's
    /// topics) are one.
    fn from_emitted(topics: &[[u8; 32]], data: &[u8]) -> Option<Self> {
        if topics.first() != Some(&Self::signature_topic()) {
            return None;
        }
        Self::decode(&mut &data[..]).ok()
    }
}

/// Declares a message type: `message!(Doc, Name, "label", 0x…, Output, { field: Type, .. })`.
macro_rules! message {
    ($(#[$doc:meta])* $name:ident, $label:literal, $selector:literal, $out:ty, { $($(#[$fdoc:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$doc])*
        #[derive(codec::Encode, Clone, PartialEq, Eq, Debug)]
        #[cfg_attr(test, derive(scale_info::TypeInfo))]
        pub struct $name { $($(#[$fdoc])* pub $field: $ty),* }

        impl $crate::Message for $name {
            const SELECTOR: [u8; 4] = ($selector as u32).to_be_bytes();
            const LABEL: &'static str = $label;
            type Output = $out;
        }
    };
}
pub(crate) use message;

/// Declares an event type with its signature: `event!(Doc, Name, "Name(t,t)", { field: Type })`.
macro_rules! event {
    ($(#[$doc:meta])* $name:ident, $sig:literal, { $($(#[$fdoc:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$doc])*
        #[derive(codec::Decode, codec::Encode, Clone, PartialEq, Eq, Debug, serde::Serialize)]
        #[cfg_attr(test, derive(scale_info::TypeInfo))]
        pub struct $name { $($(#[$fdoc])* pub $field: $ty),* }

        impl $crate::Event for $name {
            const SIGNATURE: &'static str = $sig;
        }
    };
}
pub(crate) use event;

#[cfg(test)]
mod tests;
