//! Property tests: money round-trips in both wire forms; tenant URLs; secrets never leak
//! through `Debug`.

use openpartner::{Client, Credentials, Secret};
use proptest::prelude::*;
use rust_decimal::Decimal;

#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Money {
    #[serde(with = "openpartner::money::string")]
    s: Decimal,
    #[serde(with = "openpartner::money::number")]
    n: Decimal,
}

proptest! {
    #[test]
    fn money_round_trips_exactly(mantissa in any::<i64>(), scale in 0u32..=18) {
        let d = Decimal::new(mantissa, scale);
        let m = Money { s: d, n: d };
        let text = serde_json::to_string(&m).unwrap();
        // String form is quoted, number form is not, both with every digit.
        prop_assert!(text.contains(&format!("\"s\":\"{d}\"")), "{}", text);
        prop_assert!(text.contains(&format!("\"n\":{d}")), "{}", text);
        let back: Money = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(back.s, d);
        prop_assert_eq!(back.n, d);
        prop_assert_eq!(back.s.scale(), d.scale());
        // Cross-decoding: the number field accepts the string form and vice versa.
        let swapped = format!("{{\"s\":{d},\"n\":\"{d}\"}}");
        let back2: Money = serde_json::from_str(&swapped).unwrap();
        prop_assert_eq!(back2, Money { s: d, n: d });
    }

    #[test]
    fn tenant_urls_follow_the_rule(slug in "[a-z0-9][a-z0-9-]{0,20}", seg in "[A-Za-z0-9_]{1,12}", trailing in any::<bool>()) {
        prop_assume!(!["default","www","api","app","admin","signup","login","auth","docs","help","support","status","network","static","public","platform"].contains(&slug.as_str()));
        let base = if trailing { "https://h.example/api/" } else { "https://h.example/api" };
        let c = Client::builder().base_url(base).tenant(slug.clone()).build().unwrap();
        let u = c.url_for(&format!("/partners/{seg}")).unwrap();
        prop_assert_eq!(u.as_str(), format!("https://h.example/api/t/{slug}/partners/{seg}"));
        let health = c.url_for("/health").unwrap();
        prop_assert_eq!(health.as_str(), "https://h.example/api/health");
    }

    #[test]
    fn debug_never_shows_the_secret(body in "[0-9a-f]{48}") {
        let key = format!("op_{body}");
        let tail = key[6..].to_string();
        let c = Client::builder()
            .base_url("http://127.0.0.1:1")
            .credentials(Credentials::api_key(key.clone()))
            .build()
            .unwrap();
        let shown = [
            format!("{:?}", Secret::new(key.clone())),
            Secret::new(key.clone()).to_string(),
            format!("{:?}", Credentials::api_key(key.clone())),
            format!("{:?}", Credentials::session(format!("ops_{body}"))),
            format!("{c:?}"),
        ];
        for s in shown {
            prop_assert!(!s.contains(&tail), "leaked in {}", s);
        }
    }
}
