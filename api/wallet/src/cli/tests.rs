//! Parsing of the command tree and of local input.

use super::*;
use clap::{CommandFactory, Parser};

#[derive(Parser)]
struct Top {
    #[command(subcommand)]
    cmd: Command,
}

fn parse(args: &[&str]) -> Result<Command, clap::Error> {
    Top::try_parse_from(std::iter::once("consentry").chain(args.iter().copied())).map(|t| t.cmd)
}

#[test]
fn the_command_tree_is_consistent() {
    Top::command().debug_assert();
}

#[test]
fn grant_needs_one_grantee_and_global_flags_work_after_the_subcommand() {
    let c = parse(&[
        "wallet",
        "grant",
        "--institution",
        "0",
        "--purpose",
        "simulation",
        "--categories",
        "labs",
        "--json",
        "--node",
        "ws://x:1",
    ])
    .unwrap();
    let Command::Wallet(w) = c else {
        panic!("wallet")
    };
    assert!(w.common.json);
    assert_eq!(w.common.node, "ws://x:1");
    assert!(parse(&[
        "wallet",
        "grant",
        "--purpose",
        "simulation",
        "--categories",
        "labs"
    ])
    .is_err());
    assert!(parse(&[
        "wallet",
        "grant",
        "--institution",
        "0",
        "--role",
        "researcher",
        "--purpose",
        "simulation",
        "--categories",
        "labs"
    ])
    .is_err());
    assert!(parse(&[
        "wallet",
        "grant",
        "--institution",
        "0",
        "--purpose",
        "simulation",
        "--categories",
        "labs",
        "--until",
        "2030-01-01T00:00:00Z",
        "--days",
        "3"
    ])
    .is_err());
}

#[test]
fn audit_verify_takes_an_api_and_id_or_a_file() {
    assert!(parse(&["audit", "verify", "--api", "http://a", "--id", "3"]).is_ok());
    assert!(parse(&["audit", "verify", "--proof-file", "p.json"]).is_ok());
    assert!(parse(&["audit", "verify", "--api", "http://a"]).is_err());
    assert!(parse(&["audit", "verify"]).is_err());
    assert!(parse(&[
        "audit",
        "verify",
        "--api",
        "http://a",
        "--id",
        "1",
        "--proof-file",
        "p"
    ])
    .is_err());
}

#[test]
fn local_input_errors_name_the_flag() {
    assert!(parse_pseudonym("0x1234")
        .unwrap_err()
        .to_string()
        .starts_with("--pseudonym: expected 64 hex digits"));
    assert_eq!(
        parse_pseudonym(&format!("0x{}", "ab".repeat(32))).unwrap(),
        [0xab; 32]
    );
    assert!(parse_time("--until", "next tuesday")
        .unwrap_err()
        .to_string()
        .starts_with("--until: 'next tuesday' is not an RFC 3339 time"));
    assert_eq!(
        parse_time("--from", "1970-01-01T00:00:01+00:00").unwrap(),
        1000
    );
    assert_eq!(
        parse_time("--from", "2026-01-01T01:00:00+01:00").unwrap(),
        1_767_225_600_000
    );
    assert!(parse_account("--patient", "bob")
        .unwrap_err()
        .to_string()
        .starts_with("--patient: 'bob' is not an SS58 address"));
}
