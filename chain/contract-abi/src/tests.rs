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

/// A type's shape: a struct's field names in order, or an enum's variants (name, index, field
/// names) in order. SCALE has no names, so two sides that disagree only in order would still
/// encode and decode, wrongly: the shapes are compared instead.
#[derive(Debug, PartialEq, Eq)]
enum Shape {
    Struct(Vec<String>),
    Enum(Vec<(String, u64, Vec<String>)>),
}

/// `T`'s shape, from its `TypeInfo` (derived for the ABI's types in tests).
fn shape_of<T: scale_info::TypeInfo>() -> Shape {
    use scale_info::TypeDef;
    let names = |fields: &[scale_info::Field<scale_info::form::MetaForm>]| {
        fields
            .iter()
            .map(|f| f.name.unwrap_or_default().to_owned())
            .collect::<Vec<_>>()
    };
    match T::type_info().type_def {
        TypeDef::Composite(c) => Shape::Struct(names(&c.fields)),
        TypeDef::Variant(v) => Shape::Enum(
            v.variants
                .iter()
                .map(|v| (v.name.to_owned(), u64::from(v.index), names(&v.fields)))
                .collect(),
        ),
        other => panic!(
            "{} is neither a struct nor an enum: {other:?}",
            core::any::type_name::<T>()
        ),
    }
}

/// The `key` of every element of `list` (field names, argument labels), in order; none for a
/// missing list (a unit variant).
fn strings(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .map(|xs| {
            xs.iter()
                .map(|x| x[key].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The shape of the contract's own type `name` (path `[contract, contract, name]`) in its
/// metadata's type registry.
fn shape_in(meta: &Value, contract: &str, name: &str) -> Shape {
    let ty = meta["types"]
        .as_array()
        .expect("types")
        .iter()
        .map(|t| &t["type"])
        .find(|t| t["path"] == serde_json::json!([contract, contract, name]))
        .unwrap_or_else(|| panic!("{contract}'s metadata has no type {name}"));
    let def = &ty["def"];
    if def.get("composite").is_some() {
        Shape::Struct(strings(&def["composite"]["fields"], "name"))
    } else {
        Shape::Enum(
            def["variant"]["variants"]
                .as_array()
                .expect("variants")
                .iter()
                .map(|v| {
                    (
                        v["name"].as_str().expect("name").to_owned(),
                        v["index"].as_u64().expect("index"),
                        strings(&v["fields"], "name"),
                    )
                })
                .collect(),
        )
    }
}

/// The argument labels, in order, of the entry labelled `label` among `kinds` of the metadata's
/// spec (`constructors` and `messages`, or `events`).
fn args_of(meta: &Value, kinds: &[&str], label: &str) -> Shape {
    let entry = kinds
        .iter()
        .flat_map(|kind| meta["spec"][kind].as_array().expect(kind).iter())
        .find(|m| m["label"] == label)
        .unwrap_or_else(|| panic!("no {kinds:?} entry {label}"));
    Shape::Struct(strings(&entry["args"], "label"))
}

fn same_args<M: Message + scale_info::TypeInfo>(meta: &Value) {
    assert_eq!(
        shape_of::<M>(),
        args_of(meta, &["constructors", "messages"], M::LABEL),
        "message {}",
        M::LABEL
    );
}

fn same_event<E: Event + scale_info::TypeInfo>(meta: &Value, label: &str) {
    assert_eq!(
        shape_of::<E>(),
        args_of(meta, &["events"], label),
        "event {label}"
    );
}

#[test]
fn dua_fields_are_in_the_contract_s_order() {
    let meta = metadata("dua");
    assert_eq!(shape_of::<dua::Terms>(), shape_in(&meta, "dua", "Terms"));
    assert_eq!(
        shape_of::<dua::Agreement>(),
        shape_in(&meta, "dua", "Agreement")
    );
    assert_eq!(shape_of::<dua::Status>(), shape_in(&meta, "dua", "Status"));
    assert_eq!(shape_of::<dua::Error>(), shape_in(&meta, "dua", "Error"));
    same_args::<dua::New>(&meta);
    same_args::<dua::Propose>(&meta);
    same_args::<dua::Sign>(&meta);
    same_args::<dua::Terminate>(&meta);
    same_args::<dua::Expire>(&meta);
    same_args::<dua::CountRecords>(&meta);
    same_args::<dua::InForceQuery>(&meta);
    same_args::<dua::Allows>(&meta);
    same_args::<dua::Consent>(&meta);
    same_args::<dua::Get>(&meta);
    same_args::<dua::LiveOf>(&meta);
    same_args::<dua::NextId>(&meta);
    same_event::<dua::Proposed>(&meta, "Proposed");
    same_event::<dua::Signed>(&meta, "Signed");
    same_event::<dua::InForce>(&meta, "InForce");
    same_event::<dua::Terminated>(&meta, "Terminated");
    same_event::<dua::Expired>(&meta, "Expired");
    same_event::<dua::RecordsCounted>(&meta, "RecordsCounted");
}

#[test]
fn consortium_fields_are_in_the_contract_s_order() {
    let meta = metadata("consortium");
    let c = "consortium";
    assert_eq!(shape_of::<consortium::Model>(), shape_in(&meta, c, "Model"));
    assert_eq!(shape_of::<consortium::Study>(), shape_in(&meta, c, "Study"));
    assert_eq!(
        shape_of::<consortium::Accountant>(),
        shape_in(&meta, c, "Accountant")
    );
    assert_eq!(
        shape_of::<consortium::SiteSet>(),
        shape_in(&meta, c, "SiteSet")
    );
    assert_eq!(
        shape_of::<consortium::RoundStatus>(),
        shape_in(&meta, c, "RoundStatus")
    );
    assert_eq!(shape_of::<consortium::Round>(), shape_in(&meta, c, "Round"));
    assert_eq!(
        shape_of::<consortium::Cohort>(),
        shape_in(&meta, c, "Cohort")
    );
    assert_eq!(shape_of::<consortium::Error>(), shape_in(&meta, c, "Error"));
    same_args::<consortium::New>(&meta);
    same_args::<consortium::Join>(&meta);
    same_args::<consortium::OpenRound>(&meta);
    same_args::<consortium::CommitKeys>(&meta);
    same_args::<consortium::CommitInputs>(&meta);
    same_args::<consortium::SubmitCohort>(&meta);
    same_args::<consortium::CloseRound>(&meta);
    same_args::<consortium::FailRound>(&meta);
    same_args::<consortium::GetStudy>(&meta);
    same_args::<consortium::Joined>(&meta);
    same_args::<consortium::Epsilon>(&meta);
    same_args::<consortium::GetRound>(&meta);
    same_args::<consortium::RoundsOpened>(&meta);
    same_args::<consortium::GetCohort>(&meta);
    same_args::<consortium::CurrentRound>(&meta);
    same_args::<consortium::AdvertiseKey>(&meta);
    same_args::<consortium::AdvertisedKey>(&meta);
    same_event::<consortium::SiteJoined>(&meta, "Joined");
    same_event::<consortium::RoundOpened>(&meta, "RoundOpened");
    same_event::<consortium::CohortSubmitted>(&meta, "CohortSubmitted");
    same_event::<consortium::KeysCommitted>(&meta, "KeysCommitted");
    same_event::<consortium::KeyAdvertised>(&meta, "KeyAdvertised");
    same_event::<consortium::InputsCommitted>(&meta, "InputsCommitted");
    same_event::<consortium::RoundClosed>(&meta, "RoundClosed");
    same_event::<consortium::RoundFailed>(&meta, "RoundFailed");
}
