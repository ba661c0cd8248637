//! Partner analytics (API.md §3.1): dashboard, timeseries, events and customers (offset
//! pagination), plus \[EXT\] login links.

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::capabilities::Extension;
use crate::client::{seg, Client, Req};
use crate::credentials::Secret;
use crate::error::Result;
use crate::pagination::{Listing, OffsetPage, PageToken};
use crate::types::{ts, Customer, CustomersBody, Dashboard, EventsBody, PartnerEvent, Timeseries};

use super::partners::Partners;

/// \[EXT\] `POST /partners/:id/login-links` → a one-time sign-in URL (contains a token: secret).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginLink {
    /// `<portal>/auth/magic?token=opml_…` (masked in `Debug`).
    pub url: Secret,
    /// Expiry (15 minutes).
    #[serde(with = "crate::types::ts")]
    pub expires_at: DateTime<Utc>,
}

impl Partners {
    /// Describes `GET /partners/:id/dashboard`.
    pub fn dashboard(&self, partner_id: impl Into<String>) -> DashboardQuery {
        DashboardQuery {
            client: self.client.clone(),
            partner_id: partner_id.into(),
            since: None,
        }
    }

    /// Describes `GET /partners/:id/timeseries`.
    pub fn timeseries(&self, partner_id: impl Into<String>) -> TimeseriesQuery {
        TimeseriesQuery {
            client: self.client.clone(),
            partner_id: partner_id.into(),
            since: None,
            until: None,
            program_id: None,
            bucket: None,
        }
    }

    /// Describes `GET /partners/:id/events` (offset pagination).
    pub fn events(&self, partner_id: impl Into<String>) -> PartnerEventsQuery {
        PartnerEventsQuery {
            client: self.client.clone(),
            partner_id: partner_id.into(),
            program_id: None,
            kind: None,
            since: None,
            until: None,
            page_size: None,
            offset: None,
            limit: None,
        }
    }

    /// Describes `GET /partners/:id/customers` (offset pagination).
    pub fn customers(&self, partner_id: impl Into<String>) -> CustomersQuery {
        CustomersQuery {
            client: self.client.clone(),
            partner_id: partner_id.into(),
            program_id: None,
            page_size: None,
            offset: None,
            limit: None,
        }
    }

    /// \[EXT\] `POST /partners/:id/login-links` (admin): a 15-minute single-use sign-in URL.
    ///
    /// Errors: [`crate::Error::Unsupported`] (`login-links`) before sending on servers without
    /// the extension; 404 `not_found`; 409 `partner_revoked`; 429.
    pub async fn login_link(&self, partner_id: impl AsRef<str>) -> Result<LoginLink> {
        self.client.require_extension(Extension::LoginLinks).await?;
        self.client
            .send_json(Req::post(format!(
                "/partners/{}/login-links",
                seg(partner_id.as_ref())
            )))
            .await
    }
}

/// A page fetcher for the offset-paginated listings.
pub(crate) trait OffsetFetcher<T>:
    FnMut(Option<PageToken>) -> BoxFuture<'static, Result<OffsetPage<T>>> + Send + 'static
{
}

impl<T, F> OffsetFetcher<T> for F where
    F: FnMut(Option<PageToken>) -> BoxFuture<'static, Result<OffsetPage<T>>> + Send + 'static
{
}

/// Rows, echoed `limit`, echoed `offset` of an offset-paginated envelope.
type OffsetParts<T> = (Vec<T>, Option<u32>, Option<u64>);

/// Fetches `template` (route + filters) page by page with `limit=size` and `offset`,
/// starting at `first_offset`; `parts` splits the wire envelope `B` into (rows, echoed limit,
/// echoed offset).
fn offset_fetcher<T, B>(
    client: Client,
    template: Req,
    first_offset: u64,
    size: u32,
    parts: fn(B) -> OffsetParts<T>,
) -> impl OffsetFetcher<T>
where
    T: Send + 'static,
    B: DeserializeOwned + Send + 'static,
{
    move |token| {
        let client = client.clone();
        let offset = match token {
            Some(PageToken::Offset(o)) => o,
            _ => first_offset,
        };
        let req = template
            .clone()
            .query("limit", size)
            .query("offset", offset);
        Box::pin(async move {
            let (items, limit, echoed) = parts(client.send_json::<B>(req).await?);
            Ok(OffsetPage {
                items,
                limit: limit.unwrap_or(size),
                offset: echoed.unwrap_or(offset),
            })
        })
    }
}

/// The paging setters (`page_size`, `offset`, `limit`), the page fetcher and the `.send()` /
/// `.pages()` / `.stream()` finishers of an offset-paginated builder with fields `client`,
/// `page_size`, `offset` and `limit` and a `fn request(&self) -> Req` (route + filters);
/// `$rows` is the field of the wire envelope `$body` that holds the rows.
macro_rules! offset_listing {
    ($builder:ty, $item:ty, $body:ty, $rows:ident, $stream_doc:literal) => {
        impl $builder {
            /// Rows per page 1–200 (default 50).
            pub fn page_size(mut self, n: u32) -> Self {
                self.page_size = Some(n);
                self
            }
            /// First offset (default 0).
            pub fn offset(mut self, n: u64) -> Self {
                self.offset = Some(n);
                self
            }
            /// Stop after `n` items in total.
            pub fn limit(mut self, n: usize) -> Self {
                self.limit = Some(n);
                self
            }

            fn listing(self) -> Listing<impl OffsetFetcher<$item>> {
                let req = self.request();
                Listing::new(
                    offset_fetcher(
                        self.client,
                        req,
                        self.offset.unwrap_or(0),
                        self.page_size.unwrap_or(DEFAULT_OFFSET_PAGE),
                        |b: $body| (b.$rows, b.limit, b.offset),
                    ),
                    self.limit,
                )
            }

            /// One page. Errors: 404; 401/403; 400 `invalid_query`.
            pub async fn send(self) -> Result<OffsetPage<$item>> {
                self.listing().first_page().await
            }
            /// All pages, lazily (a short page is the last).
            pub fn pages(self) -> BoxStream<'static, Result<OffsetPage<$item>>> {
                self.listing().pages()
            }
            #[doc = $stream_doc]
            pub fn stream(self) -> BoxStream<'static, Result<$item>> {
                self.listing().items()
            }
        }
    };
}

/// Builder for `GET /partners/:id/dashboard`.
#[derive(Debug, Clone)]
#[must_use = "call .send()"]
pub struct DashboardQuery {
    client: Client,
    partner_id: String,
    since: Option<DateTime<Utc>>,
}

impl DashboardQuery {
    retry_setter!();
    /// Window start (server default: 30 days ago).
    pub fn since(mut self, t: DateTime<Utc>) -> Self {
        self.since = Some(t);
        self
    }
    /// Sends it. Errors: 404; 401/403; 400 `invalid_query`.
    pub async fn send(self) -> Result<Dashboard> {
        self.client
            .send_json(
                Req::get(format!("/partners/{}/dashboard", seg(&self.partner_id)))
                    .query_opt("since", self.since.as_ref().map(ts::format)),
            )
            .await
    }
}

/// Builder for `GET /partners/:id/timeseries`.
#[derive(Debug, Clone)]
#[must_use = "call .send()"]
pub struct TimeseriesQuery {
    client: Client,
    partner_id: String,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    program_id: Option<String>,
    bucket: Option<String>,
}

impl TimeseriesQuery {
    retry_setter!();
    /// Range start.
    pub fn since(mut self, t: DateTime<Utc>) -> Self {
        self.since = Some(t);
        self
    }
    /// Range end.
    pub fn until(mut self, t: DateTime<Utc>) -> Self {
        self.until = Some(t);
        self
    }
    /// Only this program.
    pub fn program_id(mut self, id: impl Into<String>) -> Self {
        self.program_id = Some(id.into());
        self
    }
    /// `day` or `week` (default: `week` beyond 90 days, else `day`).
    pub fn bucket(mut self, b: impl Into<String>) -> Self {
        self.bucket = Some(b.into());
        self
    }
    /// Sends it. Errors: 404; 401/403; 400 `invalid_query`.
    pub async fn send(self) -> Result<Timeseries> {
        self.client
            .send_json(
                Req::get(format!("/partners/{}/timeseries", seg(&self.partner_id)))
                    .query_opt("since", self.since.as_ref().map(ts::format))
                    .query_opt("until", self.until.as_ref().map(ts::format))
                    .query_opt("programId", self.program_id)
                    .query_opt("bucket", self.bucket),
            )
            .await
    }
}

/// Builder for `GET /partners/:id/events`.
#[derive(Debug, Clone)]
#[must_use = "call .send(), .stream() or .pages()"]
pub struct PartnerEventsQuery {
    client: Client,
    partner_id: String,
    program_id: Option<String>,
    kind: Option<String>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    page_size: Option<u32>,
    offset: Option<u64>,
    limit: Option<usize>,
}

/// Server default page size of the offset-paginated analytics listings.
const DEFAULT_OFFSET_PAGE: u32 = 50;

impl PartnerEventsQuery {
    retry_setter!();
    /// Only this program.
    pub fn program_id(mut self, id: impl Into<String>) -> Self {
        self.program_id = Some(id.into());
        self
    }
    /// Only this event type (`type`).
    pub fn kind(mut self, t: impl Into<String>) -> Self {
        self.kind = Some(t.into());
        self
    }
    /// From this time.
    pub fn since(mut self, t: DateTime<Utc>) -> Self {
        self.since = Some(t);
        self
    }
    /// Until this time.
    pub fn until(mut self, t: DateTime<Utc>) -> Self {
        self.until = Some(t);
        self
    }

    /// The route and filters, without `limit`/`offset`.
    fn request(&self) -> Req {
        Req::get(format!("/partners/{}/events", seg(&self.partner_id)))
            .query_opt("programId", self.program_id.clone())
            .query_opt("type", self.kind.clone())
            .query_opt("since", self.since.as_ref().map(ts::format))
            .query_opt("until", self.until.as_ref().map(ts::format))
    }
}

offset_listing!(
    PartnerEventsQuery,
    PartnerEvent,
    EventsBody,
    events,
    "All events, lazily."
);

/// Builder for `GET /partners/:id/customers`.
#[derive(Debug, Clone)]
#[must_use = "call .send(), .stream() or .pages()"]
pub struct CustomersQuery {
    client: Client,
    partner_id: String,
    program_id: Option<String>,
    page_size: Option<u32>,
    offset: Option<u64>,
    limit: Option<usize>,
}

impl CustomersQuery {
    retry_setter!();
    /// Only this program.
    pub fn program_id(mut self, id: impl Into<String>) -> Self {
        self.program_id = Some(id.into());
        self
    }

    /// The route and filters, without `limit`/`offset`.
    fn request(&self) -> Req {
        Req::get(format!("/partners/{}/customers", seg(&self.partner_id)))
            .query_opt("programId", self.program_id.clone())
    }
}

offset_listing!(
    CustomersQuery,
    Customer,
    CustomersBody,
    customers,
    "All customers, lazily."
);
