//! The ABI against the contracts' own ink! metadata, as the contract build generates it.

use crate::{consortium, dua, Event, Message};
use serde_json::Value;

fn metadata(name: &str) -> Value {
    let contract = consentry_contracts::CONTRACTS
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no contract {name}"));
    serde_json::from_str(contract.metadata).expect("metadata is JSON")
}

/// `(label, selector)` of every constructor and message in the metadata.
fn selectors(meta: &Value) -> Vec<(String, String)> {
    ["constructors", "messages"]
        .iter()
        .flat_map(|kind| meta["spec"][kind].as_array().expect(kind).iter())
        .map(|m| {
            (
                m["label"].as_str().expect("label").to_owned(),
                m["selector"].as_str().expect("selector").to_owned(),
            )
        })
        .collect()
}

fn topics(meta: &Value) -> Vec<(String, String)> {
    meta["spec"]["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| {
            (
                e["label"].as_str().expect("label").to_owned(),
                e["signature_topic"]
                    .as_str()
                    .expect("signature_topic")
                    .to_owned(),
            )
        })
        .collect()
}

fn entry<M: Message>() -> (String, String) {
    (
        M::LABEL.to_owned(),
        format!("0x{}", hex::encode(M::SELECTOR)),
    )
}

fn topic<E: Event>(label: &str) -> (String, String) {
    (
        label.to_owned(),
        format!("0x{}", hex::encode(E::signature_topic())),
    )
}

fn sorted(mut v: Vec<(String, String)>) -> Vec<(String, String)> {
    v.sort();
    v
}

#[test]
fn dua_messages_and_events_match_the_contract() {
    let meta = metadata("dua");
    assert_eq!(
        sorted(selectors(&meta)),
        sorted(vec![
            entry::<dua::New>(),
            entry::<dua::Propose>(),
            entry::<dua::Sign>(),
            entry::<dua::Terminate>(),
            entry::<dua::Expire>(),
            entry::<dua::CountRecords>(),
            entry::<dua::InForceQuery>(),
            entry::<dua::Allows>(),
            entry::<dua::Consent>(),
            entry::<dua::Get>(),
            entry::<dua::LiveOf>(),
            entry::<dua::NextId>(),
        ])
    );
    assert_eq!(
        sorted(topics(&meta)),
        sorted(vec![
            topic::<dua::Proposed>("Proposed"),
            topic::<dua::Signed>("Signed"),
            topic::<dua::InForce>("InForce"),
            topic::<dua::Terminated>("Terminated"),
            topic::<dua::Expired>("Expired"),
            topic::<dua::RecordsCounted>("RecordsCounted"),
        ])
    );
}

#[test]
fn consortium_messages_and_events_match_the_contract() {
    let meta = metadata("consortium");
    assert_eq!(
        sorted(selectors(&meta)),
        sorted(vec![
            entry::<consortium::New>(),
            entry::<consortium::Join>(),
            entry::<consortium::OpenRound>(),
            entry::<consortium::CommitKeys>(),
            entry::<consortium::CommitInputs>(),
            entry::<consortium::SubmitCohort>(),
            entry::<consortium::CloseRound>(),
            entry::<consortium::FailRound>(),
            entry::<consortium::GetStudy>(),
            entry::<consortium::Joined>(),
            entry::<consortium::Epsilon>(),
            entry::<consortium::GetRound>(),
            entry::<consortium::RoundsOpened>(),
            entry::<consortium::GetCohort>(),
            entry::<consortium::CurrentRound>(),
            entry::<consortium::AdvertiseKey>(),
            entry::<consortium::AdvertisedKey>(),
        ])
    );
    assert_eq!(
        sorted(topics(&meta)),
        sorted(vec![
            topic::<consortium::SiteJoined>("Joined"),
            topic::<consortium::RoundOpened>("RoundOpened"),
            topic::<consortium::CohortSubmitted>("CohortSubmitted"),
            topic::<consortium::KeysCommitted>("KeysCommitted"),
            topic::<consortium::KeyAdvertised>("KeyAdvertised"),
            topic::<consortium::InputsCommitted>("InputsCommitted"),
            topic::<consortium::RoundClosed>("RoundClosed"),
            topic::<consortium::RoundFailed>("RoundFailed"),
        ])
    );
}

#[test]
fn an_answer_is_the_output_wrapped_in_ink_s_dispatch_result() {
    // `Ok(Ok(7u64))`, as a `propose` answer: 00 (dispatch ok) 00 (message ok) then the id.
    let data = [0u8, 0, 7, 0, 0, 0, 0, 0, 0, 0];
    assert_eq!(crate::decode_answer::<dua::Propose>(&data), Ok(Ok(7)));
    // The message's own error: 00 01, then the variant (`NoRecipients` is index 5).
    assert_eq!(
        crate::decode_answer::<dua::Propose>(&[0, 1, 5]),
        Ok(Err(dua::Error::NoRecipients))
    );
    // The contract could not read the input: 01 01.
    assert_eq!(
        crate::decode_answer::<dua::Propose>(&[1, 1]),
        Err(crate::AnswerError::Lang(
            crate::LangError::CouldNotReadInput
        ))
    );
    assert!(matches!(
        crate::decode_answer::<dua::Propose>(&[0, 0, 7]),
        Err(crate::AnswerError::Undecodable(_))
    ));
}

#[test]
fn a_message_s_input_is_its_selector_then_its_arguments() {
    let input = dua::Sign { id: 258 }.input();
    assert_eq!(input, [0xD0, 0xA0, 0x00, 0x02, 2, 1, 0, 0, 0, 0, 0, 0]);
}
