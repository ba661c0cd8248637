//! Onboarding with the `openpartner` SDK: create a partner, then list the newest partners.
//!
//! ```sh
//! export OPENPARTNER_BASE_URL=http://127.0.0.1:4100   # e.g. from ./scripts/demo.sh
//! export OPENPARTNER_API_KEY=op_…                       # an admin key
//! cargo run -p openpartner-examples --bin onboarding -- new.partner@example.com "New Partner"
//! ```
//!
//! Without arguments it creates `onboarding-<unix time>@example.com`. A second run with the
//! same email reports that the partner exists (HTTP 409 `email_taken`) instead of failing.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use futures::StreamExt;
use openpartner::{Client, Credentials};

#[tokio::main]
async fn main() -> Result<()> {
    let base_url = std::env::var("OPENPARTNER_BASE_URL")
        .context("set OPENPARTNER_BASE_URL (e.g. http://127.0.0.1:4100)")?;
    let api_key = std::env::var("OPENPARTNER_API_KEY").context("set OPENPARTNER_API_KEY")?;
    let mut builder = Client::builder()
        .base_url(base_url.as_str())
        .credentials(Credentials::api_key(api_key));
    if let Ok(tenant) = std::env::var("OPENPARTNER_TENANT") {
        builder = builder.tenant(tenant);
    }
    let client = builder.build()?;

    let mut args = std::env::args().skip(1);
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let email = args
        .next()
        .unwrap_or_else(|| format!("onboarding-{stamp}@example.com"));
    let name = args
        .next()
        .unwrap_or_else(|| "Onboarding Example".to_string());

    // 1. Create the partner without an invite mail (activated at once), with metadata.
    match client
        .partners()
        .create(email.as_str(), name.as_str())
        .send_invite(false)
        .metadata(serde_json::json!({ "source": "onboarding-example" }))
        .send()
        .await
    {
        Ok(created) => println!(
            "created partner {} <{}> (invited: {})",
            created.partner.id, created.partner.email, created.invited
        ),
        Err(e) if e.code() == Some("email_taken") => println!("{email} already exists"),
        Err(e) => return Err(e.into()),
    }

    // 2. List the ten newest partners; the stream fetches pages lazily.
    println!("newest partners:");
    let stream = client.partners().list().page_size(10).limit(10).stream();
    futures::pin_mut!(stream);
    while let Some(partner) = stream.next().await {
        let p = partner?;
        println!("  {}  {:<40} {}", p.id, p.email, p.name);
    }
    Ok(())
}
