//! The stand-in's Entra endpoint speaks what `azure_identity` 1.0's `ClientSecretCredential`
//! expects (the crate berth uses), with a custom cloud pointing at the stand-in.

mod standin_support;

use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::credentials::TokenCredential;
use azure_core::http::{ClientOptions, Transport};
use azure_identity::{ClientSecretCredential, ClientSecretCredentialOptions};
use standin_support::Env;
use std::sync::Arc;

fn credential(secret: &str) -> Arc<ClientSecretCredential> {
    let env = Env::get();
    let mut cloud = CustomConfiguration::default();
    cloud.authority_host = env.base();
    let options = ClientSecretCredentialOptions {
        client_options: ClientOptions {
            cloud: Some(Arc::new(CloudConfiguration::Custom(cloud))),
            transport: Some(Transport::new(Arc::new(env.http()))),
            ..Default::default()
        },
    };
    ClientSecretCredential::new(
        env.var("BERTH_TENANT_ID"),
        env.var("BERTH_SP_CLIENT_ID").to_string(),
        secret.to_string().into(),
        Some(options),
    )
    .expect("credential")
}

#[tokio::test]
async fn client_secret_credential_gets_tokens_from_the_stand_in() {
    let env = Env::get();
    let cred = credential(env.var("BERTH_SP_CLIENT_SECRET"));
    for scope in [
        "https://management.azure.com/.default",
        "https://containerregistry.azure.net/.default",
    ] {
        let t = cred.get_token(&[scope], None).await.expect(scope);
        assert!(t.expires_on > azure_core::time::OffsetDateTime::now_utc());
        let claims = standin_support::access_claim(t.token.secret());
        assert!(
            claims.is_null(),
            "Entra tokens carry no registry access claim"
        );
        // The token works where it should: ARM for the management audience.
        if scope.starts_with("https://management") {
            let r = standin_support::arm(t.token.secret(), reqwest::Method::GET, "", None).await;
            assert_eq!(r.status, 200, "{}", r.body);
            assert_eq!(r.body["properties"]["loginServer"], env.acr());
        }
    }
}

#[tokio::test]
async fn client_secret_credential_reports_entra_error_for_wrong_secret() {
    let err = credential("wrong-secret")
        .get_token(&["https://management.azure.com/.default"], None)
        .await
        .expect_err("a wrong secret must be refused");
    let text = format!("{err}");
    assert!(
        text.contains("AADSTS7000215"),
        "the Entra error code reaches the caller: {text}"
    );
}
