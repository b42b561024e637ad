//! Issuance: [`CertificateAuthority::issue`] turns a validated
//! [`ParsedCsr`] into a leaf certificate. Every extension is built here from
//! the validated names and key type; nothing is copied from the CSR.

use chrono::{DateTime, Duration, Utc};
use rcgen::string::Ia5String;
use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyUsagePurpose,
    SanType, SerialNumber,
};

use super::ca::CertificateAuthority;
use super::cert_info::{IssuedCertificate, encode_certificate_pem};
use super::convert::{to_offset, whole_seconds};
use super::csr::ParsedCsr;
use super::error::{PkiError, Result};
use super::keys::sha256_hex;
use super::names::SubjectName;
use super::serial::{random_serial, serial_to_hex};

impl CertificateAuthority {
    /// Issues a leaf certificate for `csr`, valid from `now` for
    /// `validity_days` (checked against the CA policy, field
    /// `validity_days`), clamped to the CA's own expiry.
    ///
    /// Extensions: subjectAltName (the validated names), keyUsage
    /// digitalSignature (+ keyEncipherment for RSA), extendedKeyUsage
    /// serverAuth + clientAuth, subject and authority key identifiers,
    /// basicConstraints CA:FALSE. Subject: the CN only, if any.
    pub fn issue(
        &self,
        csr: &ParsedCsr,
        validity_days: u32,
        now: DateTime<Utc>,
    ) -> Result<IssuedCertificate> {
        self.policy.validate_validity(validity_days)?;
        let now = whole_seconds(now);
        if now >= self.not_after() {
            return Err(PkiError::CaExpired(self.not_after()));
        }
        let not_after = (now + Duration::days(i64::from(validity_days))).min(self.not_after());
        let serial = random_serial();
        let params = leaf_params(csr, &serial, now, not_after)?;
        let der = params.signed_by(&csr.key, &self.issuer)?.der().to_vec();
        Ok(self.describe(csr, &serial, now, not_after, der))
    }

    /// The facts of a certificate just signed, from what went into it rather than by parsing
    /// it again (a sixth of the CPU of signing). A test compares them with what parsing the
    /// certificate reads, for every kind of key, name and subject.
    fn describe(
        &self,
        csr: &ParsedCsr,
        serial: &[u8],
        not_before: DateTime<Utc>,
        not_after: DateTime<Utc>,
        der: Vec<u8>,
    ) -> IssuedCertificate {
        IssuedCertificate {
            pem: encode_certificate_pem(&der),
            serial_hex: serial_to_hex(serial),
            fingerprint_sha256: sha256_hex(&der),
            der,
            not_before,
            not_after,
            common_name: csr.subject_cn.clone(),
            subject_alt_names: csr.names.iter().map(ToString::to_string).collect(),
            subject: csr
                .subject_cn
                .as_ref()
                .map(|cn| format!("CN={cn}"))
                .unwrap_or_default(),
            issuer: self.subject(),
            key_algorithm: csr.key_algorithm.clone(),
            public_key_fingerprint: csr.public_key_fingerprint.clone(),
        }
    }
}

fn leaf_params(
    csr: &ParsedCsr,
    serial: &[u8],
    not_before: DateTime<Utc>,
    not_after: DateTime<Utc>,
) -> Result<CertificateParams> {
    let mut params = CertificateParams::default();
    params.not_before = to_offset(not_before)?;
    params.not_after = to_offset(not_after)?;
    params.serial_number = Some(SerialNumber::from_slice(serial));
    params.distinguished_name = subject_dn(csr.subject_cn.as_deref());
    params.subject_alt_names = san_entries(&csr.names)?;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = key_usages(csr);
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    params.use_authority_key_identifier_extension = true;
    Ok(params)
}

fn subject_dn(common_name: Option<&str>) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    if let Some(cn) = common_name {
        dn.push(DnType::CommonName, cn);
    }
    dn
}

fn san_entries(names: &[SubjectName]) -> Result<Vec<SanType>> {
    names
        .iter()
        .map(|name| match name {
            SubjectName::Dns(dns) => Ok(SanType::DnsName(Ia5String::try_from(dns.as_str())?)),
            SubjectName::Ip(ip) => Ok(SanType::IpAddress(*ip)),
        })
        .collect()
}

fn key_usages(csr: &ParsedCsr) -> Vec<KeyUsagePurpose> {
    if csr.key_kind.is_rsa() {
        vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ]
    } else {
        vec![KeyUsagePurpose::DigitalSignature]
    }
}
