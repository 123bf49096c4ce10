//! The API's sign-in message: written by the server, checked and signed by the wallet.
//!
//! The text is line-oriented and fixed in layout (see the crate README), so both sides agree
//! byte for byte and the wallet can refuse anything that is not exactly a sign-in for the API it
//! is talking to, on the chain it knows, now.

use std::fmt;

/// The first line; names the service so a signature cannot be taken for another service's.
pub const PREFIX: &str = "consentry-auth: sign in to the Consentry API";
/// The longest message either side accepts (a real one is about 330 bytes).
pub const MAX_LEN: usize = 512;
/// The longest lifetime a wallet accepts for a message.
pub const MAX_LIFETIME_SECS: u64 = 600;
/// How far the issue time may be from the wallet's clock, either way.
pub const MAX_CLOCK_SKEW_SECS: u64 = 300;

const WRAP_OPEN: &[u8] = b"<Bytes>";
const WRAP_CLOSE: &[u8] = b"</Bytes>";

/// One sign-in message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignInMessage {
    /// The API's origin, `scheme://host[:port]`.
    pub origin: String,
    /// The signer's account, SS58.
    pub account: String,
    /// The chain's genesis hash.
    pub genesis: [u8; 32],
    /// Random, one per message.
    pub nonce: [u8; 32],
    /// Unix seconds.
    pub issued_at: u64,
    /// Unix seconds.
    pub expires_at: u64,
}

/// Why a message was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignInError {
    #[error("the challenge is {0} bytes, more than the {MAX_LEN} a sign-in message may have")]
    TooLong(usize),
    #[error("the challenge is not a Consentry sign-in message: {0}")]
    Malformed(String),
    #[error(
        "the challenge is for origin {found}, but this API is {expected} (a relayed sign-in?)"
    )]
    WrongOrigin { expected: String, found: String },
    #[error("the challenge names account {found}, not this key's {expected}")]
    WrongAccount { expected: String, found: String },
    #[error("the challenge is for chain 0x{found}, not the chain this wallet uses (0x{expected})")]
    WrongChain { expected: String, found: String },
    #[error("the challenge's times are not fresh: {0}")]
    Stale(String),
    #[error("'{0}' is not a URL with an origin")]
    BadOrigin(String),
}

/// The origin of `url` as browsers serialize it (`http://127.0.0.1:8080`).
pub fn origin_of(url: &str) -> Result<String, SignInError> {
    let parsed = url::Url::parse(url.trim()).map_err(|_| SignInError::BadOrigin(url.into()))?;
    let origin = parsed.origin();
    if !origin.is_tuple() {
        return Err(SignInError::BadOrigin(url.into()));
    }
    Ok(origin.ascii_serialization())
}

/// What is signed for `text`: `<Bytes>text</Bytes>`.
pub fn wrap(text: &str) -> Vec<u8> {
    [WRAP_OPEN, text.as_bytes(), WRAP_CLOSE].concat()
}

impl fmt::Display for SignInMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{PREFIX}\nOrigin: {}\nAccount: {}\nGenesis: 0x{}\nNonce: {}\nIssued-At: {}\nExpires-At: {}",
            self.origin,
            self.account,
            hex::encode(self.genesis),
            hex::encode(self.nonce),
            self.issued_at,
            self.expires_at
        )
    }
}

fn field<'a>(
    lines: &mut impl Iterator<Item = &'a str>,
    name: &str,
) -> Result<&'a str, SignInError> {
    let line = lines
        .next()
        .ok_or_else(|| SignInError::Malformed(format!("no '{name}:' line")))?;
    line.strip_prefix(name)
        .and_then(|rest| rest.strip_prefix(": "))
        .ok_or_else(|| SignInError::Malformed(format!("expected '{name}: …', found '{line}'")))
}

fn hex32(name: &str, s: &str) -> Result<[u8; 32], SignInError> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s.strip_prefix("0x").unwrap_or(s), &mut out)
        .map_err(|e| SignInError::Malformed(format!("{name}: not 32 bytes of hex ({e})")))?;
    Ok(out)
}

fn secs(name: &str, s: &str) -> Result<u64, SignInError> {
    s.parse()
        .map_err(|_| SignInError::Malformed(format!("{name}: '{s}' is not unix seconds")))
}

impl SignInMessage {
    /// Parses exactly the layout [`Display`](fmt::Display) writes; nothing more, nothing less.
    pub fn parse(text: &str) -> Result<SignInMessage, SignInError> {
        if text.len() > MAX_LEN {
            return Err(SignInError::TooLong(text.len()));
        }
        let mut lines = text.split('\n');
        if lines.next() != Some(PREFIX) {
            return Err(SignInError::Malformed(format!(
                "the first line is not '{PREFIX}'"
            )));
        }
        let msg = SignInMessage {
            origin: field(&mut lines, "Origin")?.to_string(),
            account: field(&mut lines, "Account")?.to_string(),
            genesis: hex32("Genesis", field(&mut lines, "Genesis")?)?,
            nonce: hex32("Nonce", field(&mut lines, "Nonce")?)?,
            issued_at: secs("Issued-At", field(&mut lines, "Issued-At")?)?,
            expires_at: secs("Expires-At", field(&mut lines, "Expires-At")?)?,
        };
        if let Some(extra) = lines.next() {
            return Err(SignInError::Malformed(format!("unexpected line '{extra}'")));
        }
        // Round-trips byte for byte, so two texts that parse alike are the same text.
        if msg.to_string() != text {
            return Err(SignInError::Malformed("not in canonical form".into()));
        }
        Ok(msg)
    }

    /// The wallet's checks before it signs: this API (`origin`), this key (`account`), this
    /// chain (`genesis`), and fresh at `now` (unix seconds).
    pub fn check(
        &self,
        origin: &str,
        account: &str,
        genesis: &[u8; 32],
        now: u64,
    ) -> Result<(), SignInError> {
        if self.origin != origin {
            return Err(SignInError::WrongOrigin {
                expected: origin.into(),
                found: self.origin.clone(),
            });
        }
        if self.account != account {
            return Err(SignInError::WrongAccount {
                expected: account.into(),
                found: self.account.clone(),
            });
        }
        if &self.genesis != genesis {
            return Err(SignInError::WrongChain {
                expected: hex::encode(genesis),
                found: hex::encode(self.genesis),
            });
        }
        if self.issued_at.abs_diff(now) > MAX_CLOCK_SKEW_SECS {
            return Err(SignInError::Stale(format!(
                "issued at {}, {} s from this clock ({now})",
                self.issued_at,
                self.issued_at.abs_diff(now)
            )));
        }
        if self.expires_at <= now {
            return Err(SignInError::Stale(format!(
                "expired at {} (now {now})",
                self.expires_at
            )));
        }
        if self.expires_at.saturating_sub(self.issued_at) > MAX_LIFETIME_SECS {
            return Err(SignInError::Stale(format!(
                "valid for {} s, more than {MAX_LIFETIME_SECS}",
                self.expires_at.saturating_sub(self.issued_at)
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";

    fn msg() -> SignInMessage {
        SignInMessage {
            origin: "http://127.0.0.1:8080".into(),
            account: ALICE.into(),
            genesis: [7; 32],
            nonce: [9; 32],
            issued_at: 1_765_000_000,
            expires_at: 1_765_000_120,
        }
    }

    #[test]
    fn the_text_is_the_documented_layout_and_parses_back() {
        let text = msg().to_string();
        assert_eq!(
            text,
            format!(
                "consentry-auth: sign in to the Consentry API\nOrigin: http://127.0.0.1:8080\n\
                 Account: {ALICE}\nGenesis: 0x{}\nNonce: {}\nIssued-At: 1765000000\n\
                 Expires-At: 1765000120",
                "07".repeat(32),
                "09".repeat(32)
            )
        );
        assert!(text.len() < MAX_LEN);
        assert_eq!(SignInMessage::parse(&text), Ok(msg()));
    }

    #[test]
    fn the_signed_form_is_wrapped() {
        assert_eq!(wrap("hi"), b"<Bytes>hi</Bytes>".to_vec());
    }

    #[test]
    fn a_fresh_message_for_this_api_key_and_chain_passes() {
        assert_eq!(
            msg().check("http://127.0.0.1:8080", ALICE, &[7; 32], 1_765_000_010),
            Ok(())
        );
    }

    #[test]
    fn each_check_refuses_its_own_mismatch() {
        let m = msg();
        let now = 1_765_000_010;
        assert!(matches!(
            m.check("https://evil.example", ALICE, &[7; 32], now),
            Err(SignInError::WrongOrigin { .. })
        ));
        assert!(matches!(
            m.check(
                "http://127.0.0.1:8080",
                "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty",
                &[7; 32],
                now
            ),
            Err(SignInError::WrongAccount { .. })
        ));
        assert!(matches!(
            m.check("http://127.0.0.1:8080", ALICE, &[8; 32], now),
            Err(SignInError::WrongChain { .. })
        ));
        // Issued an hour ago, or from the future, or already expired, or valid for a day.
        assert!(matches!(
            m.check("http://127.0.0.1:8080", ALICE, &[7; 32], now + 3600),
            Err(SignInError::Stale(_))
        ));
        assert!(matches!(
            m.check(
                "http://127.0.0.1:8080",
                ALICE,
                &[7; 32],
                1_765_000_000 - 400
            ),
            Err(SignInError::Stale(_))
        ));
        assert!(matches!(
            m.check("http://127.0.0.1:8080", ALICE, &[7; 32], 1_765_000_121),
            Err(SignInError::Stale(_))
        ));
        let long = SignInMessage {
            expires_at: 1_765_000_000 + 86_400,
            ..msg()
        };
        assert!(matches!(
            long.check("http://127.0.0.1:8080", ALICE, &[7; 32], now),
            Err(SignInError::Stale(_))
        ));
    }

    #[test]
    fn anything_but_the_exact_layout_is_refused() {
        let text = msg().to_string();
        // A transaction payload a hostile API might pass off as a challenge: over 256 bytes, so
        // a signer would hash it and sign the hash.
        let payload = "0x".to_string() + &"ab".repeat(300);
        assert!(matches!(
            SignInMessage::parse(&payload),
            Err(SignInError::TooLong(_))
        ));
        assert!(matches!(
            SignInMessage::parse("0x0403"),
            Err(SignInError::Malformed(_))
        ));
        for bad in [
            text.replace("consentry-auth", "other-auth"),
            text.clone() + "\nNote: also send money",
            text.replace("\nNonce", "\n\nNonce"),
            text.replace("Genesis: 0x", "Genesis: 0X"),
            text.replace("Issued-At: 1765000000", "Issued-At: 01765000000"),
            text.replace('\n', "\r\n"),
        ] {
            assert!(
                matches!(SignInMessage::parse(&bad), Err(SignInError::Malformed(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn origins_are_normalised_as_browsers_do() {
        assert_eq!(
            origin_of("http://127.0.0.1:8080/").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            origin_of("https://API.Example:443/v1").unwrap(),
            "https://api.example"
        );
        assert!(origin_of("not a url").is_err());
    }
}
