//! `requestdesk healthcheck`: asks the service listening on `--bind` whether it is ready, over
//! loopback, so a container image needs no curl for its HEALTHCHECK. Ready means `/readyz`
//! answered 200 (the database answers).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use crate::config::Settings;

/// Every step (connect, send, first line of the answer) gets this long; a HEALTHCHECK's own
/// timeout is a few seconds.
const STEP_TIMEOUT: Duration = Duration::from_secs(2);
const READY_REQUEST: &[u8] =
    b"GET /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

/// Ok when the service on `settings.bind` answers `/readyz` with 200; otherwise why not.
pub fn probe(settings: &Settings) -> Result<(), String> {
    let address = loopback(settings.bind);
    let stream = TcpStream::connect_timeout(&address, STEP_TIMEOUT)
        .map_err(|e| format!("nothing answers on {address} (REQUESTDESK_BIND): {e}"))?;
    stream
        .set_read_timeout(Some(STEP_TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(STEP_TIMEOUT)))
        .map_err(|e| e.to_string())?;
    let status = if settings.tls_cert.is_some() {
        status_over_tls(stream)?
    } else {
        status_of(stream)?
    };
    match status {
        200 => Ok(()),
        other => Err(format!("/readyz on {address} answered {other}: not ready")),
    }
}

/// The address to reach a listener bound to `bind` from the same host: an unspecified address
/// (0.0.0.0, ::) is reached on loopback.
fn loopback(bind: SocketAddr) -> SocketAddr {
    let ip = match bind.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, bind.port())
}

/// Sends the readiness request and reads the status code of the answer.
fn status_of(stream: impl Read + Write) -> Result<u16, String> {
    let mut reader = BufReader::new(stream);
    reader
        .get_mut()
        .write_all(READY_REQUEST)
        .map_err(|e| format!("sending the request: {e}"))?;
    let mut status_line = String::new();
    reader
        .read_line(&mut status_line)
        .map_err(|e| format!("reading the answer: {e}"))?;
    status_line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("not an HTTP answer: {:?}", status_line.trim_end()))
}

fn status_over_tls(stream: TcpStream) -> Result<u16, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let algorithms = provider.signature_verification_algorithms;
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyServerName(algorithms)))
        .with_no_client_auth();
    let localhost = ServerName::try_from("localhost").map_err(|e| e.to_string())?;
    let connection = rustls::ClientConnection::new(Arc::new(config), localhost)
        .map_err(|e| format!("TLS: {e}"))?;
    status_of(rustls::StreamOwned::new(connection, stream))
}

/// The probe reaches its own service over loopback and sends nothing secret: the address is the
/// identity, and the certificate names the public host, not loopback, so its chain and name are
/// not checked. Handshake signatures still are.
#[derive(Debug)]
struct AnyServerName(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AnyServerName {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unspecified_bind_address_is_reached_on_loopback() {
        let cases = [
            ("0.0.0.0:8080", "127.0.0.1:8080"),
            ("[::]:9000", "[::1]:9000"),
            ("10.1.2.3:8080", "10.1.2.3:8080"),
        ];
        for (bind, expected) in cases {
            let bind: SocketAddr = bind.parse().expect("address");
            assert_eq!(loopback(bind).to_string(), expected, "bind {bind}");
        }
    }

    #[test]
    fn the_status_code_is_read_from_the_first_line() {
        let mut answer = std::io::Cursor::new(b"HTTP/1.1 503 Service Unavailable\r\n\r\n".to_vec());
        let mut duplex = Duplex(&mut answer, Vec::new());
        assert_eq!(status_of(&mut duplex), Ok(503));
        assert_eq!(duplex.1, READY_REQUEST);
    }

    #[test]
    fn an_answer_that_is_not_http_is_refused() {
        let mut answer = std::io::Cursor::new(b"SSH-2.0-OpenSSH_9.2\r\n".to_vec());
        let error = status_of(Duplex(&mut answer, Vec::new())).expect_err("not HTTP");
        assert!(error.contains("not an HTTP answer"), "{error}");
    }

    /// Reads from one buffer and records what is written.
    struct Duplex<'a>(&'a mut std::io::Cursor<Vec<u8>>, Vec<u8>);

    impl Read for Duplex<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.0.read(buf)
        }
    }

    impl Write for Duplex<'_> {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.1.write(buf)
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
}
