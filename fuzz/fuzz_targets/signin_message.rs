//! The sign-in challenge a (possibly hostile) API sends the wallet: any bytes. The wallet's
//! parser either refuses it or returns a message that prints back to exactly the same text (so
//! what the wallet checked is what it signs), and checking never panics.

#![no_main]

use consentry_signin::SignInMessage;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(m) = SignInMessage::parse(text) {
        assert_eq!(
            m.to_string(),
            text,
            "parsed a message that is not its own printing"
        );
        let _ = m.check(&m.origin, &m.account, &m.genesis, m.issued_at);
    }
});
