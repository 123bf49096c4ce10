use sc_cli as _;
fn main() {}
