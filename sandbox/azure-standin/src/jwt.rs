//! ES256 JWTs: the registry's access tokens (verified by the real registry through the `x5c` chain),
//! ACR refresh tokens and Entra access tokens (verified only by the stand-in itself).

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair,
    UnparsedPublicKey,
};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivatePkcs8KeyDer};
use serde_json::{Value, json};

pub struct Signer {
    key: EcdsaKeyPair,
    public: Vec<u8>,
    /// The signing certificate chain (leaf first), base64 DER, as the registry's `x5c` check wants.
    x5c: Vec<String>,
    rng: SystemRandom,
}

impl Signer {
    pub fn load(key_pem: &str, cert_pem: &str) -> Result<Self, String> {
        let der = PrivatePkcs8KeyDer::from_pem_file(key_pem)
            .map_err(|e| format!("token key {key_pem}: not a PKCS#8 PEM key: {e}"))?;
        let key =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der.secret_pkcs8_der())
                .map_err(|e| format!("token key {key_pem}: not an EC P-256 key: {e}"))?;
        let certs: Vec<CertificateDer> = CertificateDer::pem_file_iter(cert_pem)
            .map_err(|e| format!("token cert {cert_pem}: {e}"))?
            .collect::<Result<_, _>>()
            .map_err(|e| format!("token cert {cert_pem}: {e}"))?;
        if certs.is_empty() {
            return Err(format!("token cert {cert_pem}: no certificate in file"));
        }
        let public = key.public_key().as_ref().to_vec();
        Ok(Self {
            key,
            public,
            x5c: certs.iter().map(|c| STANDARD.encode(c.as_ref())).collect(),
            rng: SystemRandom::new(),
        })
    }

    pub fn sign(&self, claims: &Value) -> String {
        let header = json!({"typ": "JWT", "alg": "ES256", "x5c": self.x5c});
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let sig = self
            .key
            .sign(&self.rng, signing_input.as_bytes())
            .expect("ECDSA signing with a loaded key cannot fail");
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
    }

    /// Claims of a token this stand-in signed, if the signature is good and it has not expired.
    pub fn verify(&self, token: &str) -> Option<Value> {
        let mut parts = token.trim().split('.');
        let (h, c, s) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let sig = URL_SAFE_NO_PAD.decode(s).ok()?;
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &self.public)
            .verify(format!("{h}.{c}").as_bytes(), &sig)
            .ok()?;
        let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(c).ok()?).ok()?;
        let exp = claims.get("exp")?.as_i64()?;
        (exp > now_secs()).then_some(claims)
    }
}

pub fn now_secs() -> i64 {
    jiff::Timestamp::now().as_second()
}

pub fn random_id(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    aws_lc_rs::rand::fill(&mut buf).expect("system randomness");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// A password in the style of ACR's generated ones (base64-ish, 52 chars).
pub fn random_password() -> String {
    let mut buf = [0u8; 39];
    aws_lc_rs::rand::fill(&mut buf).expect("system randomness");
    STANDARD.encode(buf).replace(['/', '+'], "x")
}

pub fn uuid_like() -> String {
    let h = random_id(16);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}
