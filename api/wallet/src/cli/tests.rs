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
fn a_council_vote_is_aye_or_nay_and_names_a_motion() {
    let h = format!("0x{}", "ab".repeat(32));
    match parse(&["council", "vote", "--motion", &h, "--nay"]).unwrap() {
        Command::Council(a) => assert!(matches!(
            a.cmd,
            CouncilCmd::Vote {
                aye: false,
                nay: true,
                ..
            }
        )),
        _ => panic!("not a council command"),
    }
    assert!(parse(&["council", "vote", "--motion", &h]).is_err());
    assert!(parse(&["council", "vote", "--motion", &h, "--aye", "--nay"]).is_err());
    assert!(parse(&["council", "close"]).is_err());
    assert_eq!(parse_motion(&h).unwrap().0, [0xab; 32]);
    assert!(parse_motion("0x1234")
        .unwrap_err()
        .to_string()
        .starts_with("--motion: '0x1234' is not a proposal hash"));
}

#[test]
fn consortium_operator_commands_take_a_round_and_a_site() {
    let at = [
        "--contract",
        "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY",
    ];
    let with = |extra: &[&str]| {
        let mut args = vec!["contracts", "consortium"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&at);
        parse(&args)
    };
    assert!(with(&["rounds"]).is_ok());
    assert!(with(&["fail-round", "--round", "2"]).is_ok());
    assert!(with(&["fail-round"]).is_err(), "--round is required");
    assert!(with(&["cohort", "--round", "0", "--site", "1"]).is_ok());
    assert!(
        with(&["cohort", "--round", "0"]).is_err(),
        "--site is required"
    );
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

/// The error `consentry institution job` ends with for this input, with no keystore at hand and
/// nothing listening at `--api`: only input checked before signing in can answer otherwise.
async fn job_error(params: &str, pseudonym: &str) -> String {
    let Ok(Command::Institution(a)) = parse(&[
        "institution",
        "job",
        "--pseudonym",
        pseudonym,
        "--workload",
        "simulation",
        "--params",
        params,
        "--api",
        "http://127.0.0.1:9",
    ]) else {
        panic!("institution job parses")
    };
    let common = Common {
        keystore: Some("/nonexistent/keystore.json".into()),
        ..a.common
    };
    institution_cmd(common, a.cmd)
        .await
        .unwrap_err()
        .to_string()
}

#[tokio::test]
async fn a_job_names_its_bad_input_before_any_passphrase_or_network() {
    let pseudonym = "ab".repeat(32);
    let e = job_error("[1]", &pseudonym).await;
    assert!(e.starts_with("--params: expected a JSON object"), "{e}");
    let e = job_error("{", &pseudonym).await;
    assert!(e.starts_with("--params: not JSON"), "{e}");
    let e = job_error("{}", "0x12").await;
    assert!(e.starts_with("--pseudonym: expected 64 hex digits"), "{e}");
    // Good input goes on to the keystore.
    let e = job_error("{}", &pseudonym).await;
    assert!(e.starts_with("--keystore"), "{e}");
}

#[test]
fn a_job_summary_says_how_it_ended() {
    let completed = json!({
        "id": "job-1", "state": "completed", "access_id": 7, "result_digest": "ab",
        "result": {"drug": "warfarin", "times_h": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]},
    });
    let s = jobs::summary(&completed);
    assert!(
        s.starts_with("job job-1 completed (access record 7, result digest ab)"),
        "{s}"
    );
    assert!(s.contains("times_h: 6 values, 0.0 … 5.0"), "{s}");
    assert!(s.contains("drug: \"warfarin\""), "{s}");
    let denied = json!({
        "id": "job-2", "state": "denied", "access_id": 8,
        "decision": {"granted": false, "reason": "revoked"},
    });
    assert_eq!(
        jobs::summary(&denied),
        "job job-2 denied by the chain (access record 8): revoked"
    );
    let failed = json!({"id": "job-3", "state": "error", "error": "node unreachable"});
    assert_eq!(
        jobs::summary(&failed),
        "job job-3 error (no access record): node unreachable"
    );
}
