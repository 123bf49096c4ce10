//! Admission at the TLS layer, over real sockets on 127.0.0.1 with real rustls: who is refused,
//! and that the refusing side records the right reason.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use common::{Consortium, AGGREGATOR};
use consentry_fl_transport::verify::{PinnedServerVerifier, RefusalLog};
use consentry_fl_transport::{
    ClientError, Deadlines, PeerRefusal, RoundConfig, SiteClient, TransportIdentity,
};
use consentry_secagg::{AdvertiseKeys, RoundContext, Site, SiteConfig, UnmaskRequest};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A request that needs an admitted TLS peer and no open round: the aggregator answers with a
/// `no-such-round` problem, which proves the handshake succeeded.
async fn probe(client: &SiteClient) -> Result<(), ClientError> {
    match client.poll::<UnmaskRequest>(7, "unmask").await {
        Err(ClientError::Problem(p)) if p.kind == "/problems/no-such-round" => Ok(()),
        Err(e) => Err(e),
        Ok(_) => panic!("no round is open"),
    }
}

fn refused_with(e: &ClientError) -> bool {
    // The server refuses the client certificate after the client's Finished (TLS 1.3), so the
    // client sees it as an HTTP transport error, not a problem document.
    matches!(e, ClientError::Http(_))
}

#[tokio::test]
async fn registered_active_institution_is_admitted() {
    let c = Consortium::new();
    let server = c.serve().await;
    for id in [1, 2] {
        let site = c.institution(id, true);
        probe(&c.client(&site, &server)).await.unwrap();
    }
    assert!(server.refusals().entries().is_empty());
}

#[tokio::test]
async fn tls12_only_client_is_refused() {
    let c = Consortium::new();
    let server = c.serve().await;
    let site = c.institution(1, true);
    let (chain, key) = (
        vec![site.cert_der().clone()],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(site.pkcs8_der().to_vec())),
    );
    let connect = |versions: &[&'static rustls::SupportedProtocolVersion]| {
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_protocol_versions(versions)
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinnedServerVerifier::new(
            c.registry(),
            AGGREGATOR,
            RefusalLog::new(),
        )))
        .with_client_auth_cert(chain.clone(), key.clone_key())
        .unwrap();
        let addr = server.local_addr();
        async move {
            let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
            let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config))
                .connect(ServerName::try_from("inst-100.consentry").unwrap(), tcp)
                .await?;
            tls.write_all(b"GET /v1/rounds/7/result HTTP/1.1\r\nhost: x\r\n\r\n")
                .await?;
            let mut buf = vec![0; 64];
            let n = tls.read(&mut buf).await?;
            Ok::<_, std::io::Error>(String::from_utf8_lossy(&buf[..n]).into_owned())
        }
    };
    // Control: the same raw client over TLS 1.3 gets an HTTP answer.
    let ok = connect(&[&rustls::version::TLS13]).await.unwrap();
    assert!(ok.starts_with("HTTP/1.1 404"), "{ok}");
    // TLS 1.2 only: the server refuses the version.
    let err = connect(&[&rustls::version::TLS12]).await.unwrap_err();
    let inner = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
        .unwrap_or_else(|| panic!("not a TLS error: {err}"));
    assert_eq!(
        *inner,
        rustls::Error::AlertReceived(rustls::AlertDescription::ProtocolVersion),
        "{err}"
    );
}

#[tokio::test]
async fn unregistered_key_is_refused() {
    let c = Consortium::new();
    let server = c.serve().await;
    let stranger = c.institution(9, false);
    let err = probe(&c.client(&stranger, &server)).await.unwrap_err();
    assert!(refused_with(&err), "{err}");
    assert_eq!(
        server.refusals().entries(),
        vec![PeerRefusal::Unregistered { institution: 9 }]
    );
}

#[tokio::test]
async fn certificate_naming_a_with_b_key_is_refused() {
    let c = Consortium::new();
    let server = c.serve().await;
    let a = c.institution(1, true);
    let b = c.institution(2, true);
    // B (registered, active) issues itself a certificate naming A, over B's own key.
    let forged = TransportIdentity::from_pkcs8_key(1, b.pkcs8_der()).unwrap();
    assert_eq!(forged.spki_sha256(), b.spki_sha256());
    let err = probe(&c.client(&forged, &server)).await.unwrap_err();
    assert!(refused_with(&err), "{err}");
    assert_eq!(
        server.refusals().entries(),
        vec![PeerRefusal::KeyMismatch {
            institution: 1,
            presented: hex::encode(b.spki_sha256()),
            registered: hex::encode(a.spki_sha256()),
        }]
    );
    // Both genuine identities are still admitted.
    probe(&c.client(&a, &server)).await.unwrap();
    probe(&c.client(&b, &server)).await.unwrap();
}

/// Presents A's genuine certificate but signs the handshake with another key: pinning passes
/// (the certificate is A's), the TLS 1.3 CertificateVerify signature must not.
#[tokio::test]
async fn stolen_certificate_without_its_key_is_refused() {
    #[derive(Debug)]
    struct Resolver(Arc<rustls::sign::CertifiedKey>);
    impl rustls::client::ResolvesClientCert for Resolver {
        fn resolve(
            &self,
            _: &[&[u8]],
            _: &[rustls::SignatureScheme],
        ) -> Option<Arc<rustls::sign::CertifiedKey>> {
            Some(self.0.clone())
        }
        fn has_certs(&self) -> bool {
            true
        }
    }
    let c = Consortium::new();
    let server = c.serve().await;
    let a = c.institution(2, true); // Ed25519
    let thief = c.institution(4, false); // another Ed25519 key
    let signer = rustls::crypto::ring::sign::any_supported_type(&PrivateKeyDer::Pkcs8(
        PrivatePkcs8KeyDer::from(thief.pkcs8_der().to_vec()),
    ))
    .unwrap();
    let certified = rustls::sign::CertifiedKey::new(vec![a.cert_der().clone()], signer);
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13])
    .unwrap()
    .dangerous()
    .with_custom_certificate_verifier(Arc::new(PinnedServerVerifier::new(
        c.registry(),
        AGGREGATOR,
        RefusalLog::new(),
    )))
    .with_client_cert_resolver(Arc::new(Resolver(Arc::new(certified))));
    let tcp = tokio::net::TcpStream::connect(server.local_addr())
        .await
        .unwrap();
    let result = async {
        let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(ServerName::try_from("inst-100.consentry").unwrap(), tcp)
            .await?;
        tls.write_all(b"GET /v1/rounds/7/result HTTP/1.1\r\nhost: x\r\n\r\n")
            .await?;
        let mut buf = vec![0; 64];
        let n = tls.read(&mut buf).await?;
        Ok::<_, std::io::Error>(String::from_utf8_lossy(&buf[..n]).into_owned())
    }
    .await;
    match result {
        Err(e) => {
            let inner = e.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>());
            assert_eq!(
                inner,
                Some(&rustls::Error::AlertReceived(
                    rustls::AlertDescription::DecryptError
                )),
                "{e}"
            );
        }
        Ok(answer) => panic!("server answered a client without the key: {answer:?}"),
    }
    // The certificate itself passed the pin: this was a signature failure, not a refusal.
    assert!(server.refusals().entries().is_empty());
}

#[tokio::test]
async fn suspended_institution_is_refused_and_reinstated() {
    let c = Consortium::new();
    let server = c.serve().await;
    let a = c.institution(1, true);
    c.registry.set_active(1, false);
    let err = probe(&c.client(&a, &server)).await.unwrap_err();
    assert!(refused_with(&err), "{err}");
    assert_eq!(
        server.refusals().entries(),
        vec![PeerRefusal::Suspended { institution: 1 }]
    );
    c.registry.set_active(1, true);
    probe(&c.client(&a, &server)).await.unwrap();
}

#[tokio::test]
async fn suspension_applies_to_an_open_connection() {
    let c = Consortium::new();
    let server = c.serve().await;
    let a = c.institution(1, true);
    let client = c.client(&a, &server); // keeps its connection alive between requests
    probe(&client).await.unwrap();
    c.registry.set_active(1, false);
    let err = probe(&client).await.unwrap_err();
    let p = err.problem().unwrap_or_else(|| panic!("{err}"));
    assert_eq!((p.status, p.kind.as_str()), (403, "/problems/peer-refused"));
    assert!(
        p.detail.contains("institution 1 is suspended"),
        "{}",
        p.detail
    );
    // Reinstated, then re-keyed on chain: the open connection's old key is refused next.
    c.registry.set_active(1, true);
    probe(&client).await.unwrap();
    let rotated = c.institution(1, true);
    let err = probe(&client).await.unwrap_err();
    let p = err.problem().unwrap_or_else(|| panic!("{err}"));
    assert_eq!((p.status, p.kind.as_str()), (403, "/problems/peer-refused"));
    assert!(
        p.detail.contains("is not its registered key"),
        "{}",
        p.detail
    );
    probe(&c.client(&rotated, &server)).await.unwrap();
}

#[tokio::test]
async fn site_refuses_an_aggregator_that_is_not_the_pinned_one() {
    let c = Consortium::new();
    let site = c.institution(1, true);
    // A registered institution (2) runs a server pretending to be the aggregator.
    let rogue_id = c.institution(2, true);
    let rogue = consentry_fl_transport::AggregatorServer::bind(
        "127.0.0.1:0".parse().unwrap(),
        &rogue_id,
        c.registry(),
    )
    .await
    .unwrap();
    let err = probe(&c.client(&site, &rogue)).await.unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::AggregatorRefused(PeerRefusal::UnexpectedPeer {
                expected: AGGREGATOR,
                got: 2
            })
        ),
        "{err}"
    );
    // An unregistered key claiming to be the aggregator.
    let impostor =
        TransportIdentity::generate(AGGREGATOR, consentry_fl_transport::KeyAlgorithm::Ed25519)
            .unwrap();
    let fake = consentry_fl_transport::AggregatorServer::bind(
        "127.0.0.1:0".parse().unwrap(),
        &impostor,
        c.registry(),
    )
    .await
    .unwrap();
    let err = probe(&c.client(&site, &fake)).await.unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::AggregatorRefused(PeerRefusal::KeyMismatch {
                institution: AGGREGATOR,
                ..
            })
        ),
        "{err}"
    );
}

#[tokio::test]
async fn body_naming_another_site_and_outsiders_are_refused() {
    let c = Consortium::new();
    let server = c.serve().await;
    let a = c.institution(1, true);
    let outsider = c.institution(5, true); // registered, but not in this round
    let context = RoundContext::new(b"study".to_vec(), 3);
    server
        .open_round(RoundConfig {
            context: context.clone(),
            threshold: 2,
            vector_len: 4,
            sites: BTreeMap::from([(1, 0), (2, 1), (3, 2)]),
            deadlines: Deadlines::uniform(Duration::from_secs(30)),
            retain_received_inputs: false,
        })
        .unwrap();
    let keys_of = |id| {
        Site::new(
            SiteConfig {
                id,
                context: context.clone(),
                threshold: 2,
                vector_len: 4,
            },
            &mut rand_core::OsRng,
        )
        .unwrap()
        .advertise_keys()
    };
    let client = c.client(&a, &server);
    // Institution 1 plays site 0; a body claiming site 1 is refused.
    let err = client.post(3, "keys", &keys_of(1)).await.unwrap_err();
    let p = err.problem().unwrap_or_else(|| panic!("{err}"));
    assert_eq!(
        (p.status, p.kind.as_str()),
        (403, "/problems/site-mismatch")
    );
    assert!(p.detail.contains("names site 1"), "{}", p.detail);
    // Its own site is accepted; a second copy is a protocol refusal.
    client.post(3, "keys", &keys_of(0)).await.unwrap();
    let err = client.post(3, "keys", &keys_of(0)).await.unwrap_err();
    assert_eq!(err.problem().map(|p| p.status), Some(422), "{err}");
    // A message for a later stage is out of order.
    let err = client
        .post(
            3,
            "masked",
            &consentry_secagg::MaskedInput {
                sender: 0,
                masked: vec![0; 4],
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.problem().map(|p| p.kind.as_str()),
        Some("/problems/wrong-stage"),
        "{err}"
    );
    // A registered institution outside the round.
    let err = c
        .client(&outsider, &server)
        .post(3, "keys", &keys_of(4))
        .await
        .unwrap_err();
    let p = err.problem().unwrap_or_else(|| panic!("{err}"));
    assert_eq!(
        (p.status, p.kind.as_str()),
        (403, "/problems/not-a-participant")
    );
    // Garbage body.
    let err = client.post(3, "keys", &vec![1u8; 3]).await.unwrap_err();
    assert_eq!(err.problem().map(|p| p.status), Some(400), "{err}");
    let _: Option<AdvertiseKeys> = None;
    // Rejections axum writes itself are problem documents as well.
    let err = client
        .poll::<UnmaskRequest>(3, "nowhere")
        .await
        .unwrap_err();
    assert_eq!(err.problem().map(|p| p.status), Some(400), "{err}");
}

#[tokio::test]
async fn axum_rejections_are_problem_documents() {
    let c = Consortium::new();
    let server = c.serve().await;
    let a = c.institution(1, true);
    let config =
        consentry_fl_transport::client_config(&a, AGGREGATOR, c.registry(), RefusalLog::new())
            .unwrap();
    let http = reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .build()
        .unwrap();
    for (method, path) in [
        (reqwest::Method::GET, "/v1/rounds/3/keys?wait_ms=soon"),
        (reqwest::Method::DELETE, "/v1/rounds/3/keys"),
    ] {
        let resp = http
            .request(method.clone(), format!("{}{path}", server.url()))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        assert!((400..500).contains(&status), "{method} {path}: {status}");
        assert_eq!(
            resp.headers()[reqwest::header::CONTENT_TYPE],
            "application/problem+json"
        );
        let p: consentry_fl_transport::Problem =
            serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
        assert_eq!(p.status, status);
    }
}
