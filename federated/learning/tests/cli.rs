//! The `consentry fl …` wiring as api/cli/src/main.rs does it
//! (`#[command(subcommand)] Fl(consentry_federated::cli::Command)`), parsed.

use clap::{Parser, Subcommand};
use consentry_federated::cli::{parse_epsilon, Command};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Top,
}

#[derive(Subcommand)]
enum Top {
    #[command(subcommand)]
    Fl(Command),
}

#[test]
fn fl_simulate_and_report_parse() {
    let cli = Cli::try_parse_from([
        "consentry",
        "fl",
        "simulate",
        "--sites",
        "3",
        "--rounds",
        "2",
        "--epsilon",
        "0.5",
        "--delta",
        "1e-6",
        "--seed",
        "4",
        "--json",
        "--drop",
        "2:1",
    ])
    .unwrap();
    let Top::Fl(Command::Simulate(a)) = cli.command else {
        panic!("expected fl simulate");
    };
    assert_eq!((a.sites, a.rounds, a.study.seed), (3, 2, 4));
    assert!(a.json);
    assert_eq!(a.drops, vec!["2:1".to_string()]);
    assert_eq!(parse_epsilon(&a.epsilon).unwrap(), Some(0.5));
    assert_eq!(parse_epsilon("inf").unwrap(), None);
    assert!(parse_epsilon("0").is_err() && parse_epsilon("-1").is_err());
    let cli = Cli::try_parse_from([
        "consentry",
        "fl",
        "report",
        "--sites",
        "5,10",
        "--epsilons",
        "1,4",
    ])
    .unwrap();
    let Top::Fl(Command::Report(r)) = cli.command else {
        panic!("expected fl report");
    };
    assert_eq!(r.sites, vec![5, 10]);
    assert_eq!(r.epsilons, vec![1.0, 4.0]);
}
