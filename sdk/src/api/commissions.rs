//! `client.commissions()` and `client.payouts()` (API.md §3.5, §6).

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use chrono::{DateTime, Utc};
use futures::stream::{BoxStream, Stream};

use crate::capabilities::Extension;
use crate::client::{seg, Client, Req};
use crate::error::Result;
use crate::pagination::{Listing, Page, PageToken, Truncate};
use crate::types::{
    ts, Commission, CommissionBody, CommissionStatus, CommissionsBody, Payout, PayoutBody,
    PayoutRun, PayoutsBody,
};

/// Server default page size of the commission listings.
const DEFAULT_COMMISSION_PAGE: u32 = 100;

/// Commissions handler; obtain with [`Client::commissions`].
#[derive(Debug, Clone)]
pub struct Commissions {
    pub(crate) client: Client,
}

impl Commissions {
    /// Describes a commission listing; finish with [`ListCommissions::send`],
    /// [`ListCommissions::stream`] or [`ListCommissions::pages`].
    ///
    /// Calls `GET /commissions` (admin or a key with scope `commissions:read`; a partner
    /// credential gets 403 there, use [`Commissions::list_for_partner`]). See
    /// [`ListCommissions`] for the filters and the API.md §6 fallback.
    ///
    /// ```no_run
    /// # async fn run(client: openpartner::Client) -> openpartner::Result<()> {
    /// use futures::TryStreamExt;
    /// let mut rows = client.commissions().list().status("approved").stream();
    /// while let Some(c) = rows.try_next().await? {
    ///     println!("{} {} {}", c.id, c.amount, c.currency);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn list(&self) -> ListCommissions {
        self.builder(Route::TopLevel, None)
    }

    /// Describes the listing of one partner's commissions, `GET /partners/:id/commissions`
    /// (admin, a key with scope `commissions:read`, or that partner's own key or session —
    /// the only commission listing a partner credential may call).
    ///
    /// Takes the partner id (sent percent-encoded in the path) and returns a
    /// [`ListCommissions`] builder with the same filters and finishers as
    /// [`Commissions::list`]: with the server's `commission-filters` extension, `status`,
    /// `since`, `until` (exclusive), `programId`, `limit` and `cursor` go on the wire and
    /// pages follow `nextCursor`; without it only `status` and `limit` are sent, one page
    /// exists, `since`/`until`/`program_id` are applied client-side and
    /// [`CommissionPage::possibly_truncated`] / [`CommissionStream::possibly_truncated`] say
    /// whether that page came back full. `partnerId` is never sent as a query parameter on
    /// this route; [`ListCommissions::partner_id`] replaces the partner in the path.
    ///
    /// Errors (when the builder is sent): 401 `unauthorized`; 403 `forbidden` (another
    /// partner's credential) or `forbidden_scope`; 400 `invalid_query`/`invalid_cursor`;
    /// errors of the capability refresh (`GET /health`) when no capabilities are known yet.
    ///
    /// ```no_run
    /// # async fn run(client: openpartner::Client) -> openpartner::Result<()> {
    /// use futures::TryStreamExt;
    /// let mut rows = client
    ///     .commissions()
    ///     .list_for_partner("01J8PARTNER000000000000000")
    ///     .since("2026-11-01T00:00:00Z".parse().expect("time"))
    ///     .until("2026-12-01T00:00:00Z".parse().expect("time"))
    ///     .stream();
    /// while let Some(c) = rows.try_next().await? {
    ///     println!("{} {} {}", c.id, c.amount, c.currency);
    /// }
    /// if rows.possibly_truncated() {
    ///     eprintln!("server without commission-filters: older rows may be missing");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn list_for_partner(&self, partner_id: impl Into<String>) -> ListCommissions {
        self.builder(Route::Partner, Some(partner_id.into()))
    }

    fn builder(&self, route: Route, partner_id: Option<String>) -> ListCommissions {
        ListCommissions {
            client: self.client.clone(),
            route,
            status: None,
            since: None,
            until: None,
            program_id: None,
            partner_id,
            page_size: None,
            limit: None,
            cursor: None,
        }
    }

    /// `POST /commissions/:id/approve` (admin) → the approved commission.
    ///
    /// Errors: 404 `not_found`; 409 `holdback_active` (body has `matureAt`, `holdbackDays`);
    /// 409 `not_approvable`.
    pub async fn approve(&self, id: impl AsRef<str>) -> Result<Commission> {
        let b: CommissionBody = self
            .client
            .send_json(Req::post(format!(
                "/commissions/{}/approve",
                seg(id.as_ref())
            )))
            .await?;
        Ok(b.commission)
    }

    /// `POST /commissions/:id/reverse` (admin) → the reversed commission.
    ///
    /// Errors: 404 `not_found`; 409 `not_reversible`.
    pub async fn reverse(&self, id: impl AsRef<str>) -> Result<Commission> {
        let b: CommissionBody = self
            .client
            .send_json(Req::post(format!(
                "/commissions/{}/reverse",
                seg(id.as_ref())
            )))
            .await?;
        Ok(b.commission)
    }
}

/// One page of commissions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommissionPage {
    /// Rows, newest `accruedAt` first (after client-side filtering in fallback mode).
    pub items: Vec<Commission>,
    /// Cursor of the next page (always `None` in fallback mode).
    pub next_cursor: Option<String>,
    /// `true` in fallback mode (server without `commission-filters`) when the single page the
    /// server returns came back full: older rows exist that cannot be fetched.
    pub possibly_truncated: bool,
}

impl Truncate for CommissionPage {
    fn truncate(&mut self, n: usize) {
        self.items.truncate(n);
    }
}

impl Page for CommissionPage {
    type Item = Commission;
    fn items(&self) -> &[Commission] {
        &self.items
    }
    fn into_items(self) -> Vec<Commission> {
        self.items
    }
    fn next_token(&self) -> Option<PageToken> {
        match &self.next_cursor {
            Some(c) if !c.is_empty() => Some(PageToken::Cursor(c.clone())),
            _ => None,
        }
    }
}

/// Which listing route a [`ListCommissions`] calls when the server has `commission-filters`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// `GET /commissions`, the partner (if any) as the `partnerId` query parameter.
    TopLevel,
    /// `GET /partners/:id/commissions` (the partner id is always set).
    Partner,
}

/// Builder for `GET /commissions` ([`Commissions::list`]) and
/// `GET /partners/:id/commissions` ([`Commissions::list_for_partner`]).
///
/// With the server's `commission-filters` extension every filter is sent and pages follow
/// `nextCursor` (`partnerId` as a query parameter only on the top-level route). Without it
/// (API.md §6): a listing with a partner uses `GET /partners/:id/commissions`, `status` and
/// the page size are sent, `since`, `until` (exclusive) and `program_id` are applied
/// client-side, and only one page exists; when it came back full,
/// [`CommissionPage::possibly_truncated`] / [`CommissionStream::possibly_truncated`] are set.
#[derive(Debug, Clone)]
#[must_use = "call .send(), .stream() or .pages()"]
pub struct ListCommissions {
    client: Client,
    route: Route,
    status: Option<CommissionStatus>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    program_id: Option<String>,
    partner_id: Option<String>,
    page_size: Option<u32>,
    limit: Option<usize>,
    cursor: Option<String>,
}

impl ListCommissions {
    retry_setter!();
    /// Only this status.
    pub fn status(mut self, s: impl Into<CommissionStatus>) -> Self {
        self.status = Some(s.into());
        self
    }
    /// Only rows accrued at or after this time.
    pub fn since(mut self, t: DateTime<Utc>) -> Self {
        self.since = Some(t);
        self
    }
    /// Only rows accrued strictly before this time (exclusive, as the server applies it).
    pub fn until(mut self, t: DateTime<Utc>) -> Self {
        self.until = Some(t);
        self
    }
    /// Only this program.
    pub fn program_id(mut self, id: impl Into<String>) -> Self {
        self.program_id = Some(id.into());
        self
    }
    /// Only this partner: the `partnerId` query parameter of `GET /commissions`; on a
    /// [`Commissions::list_for_partner`] builder, the partner in the path instead.
    pub fn partner_id(mut self, id: impl Into<String>) -> Self {
        self.partner_id = Some(id.into());
        self
    }
    /// Rows per page, 1–500 (server default 100); sent as `limit`.
    pub fn page_size(mut self, n: u32) -> Self {
        self.page_size = Some(n);
        self
    }
    /// Stop after `n` items in total.
    pub fn limit(mut self, n: usize) -> Self {
        self.limit = Some(n);
        self
    }
    /// Start from this cursor (extension mode only).
    pub fn cursor(mut self, c: impl Into<String>) -> Self {
        self.cursor = Some(c.into());
        self
    }

    async fn fetch(
        self,
        token: Option<PageToken>,
        flag: Arc<AtomicBool>,
    ) -> Result<CommissionPage> {
        let caps = self.client.known_capabilities().await?;
        let status = self.status.as_ref().map(|s| s.as_str().to_string());
        if caps.has(Extension::CommissionFilters) {
            let cursor = match token {
                Some(PageToken::Cursor(c)) => Some(c),
                _ => self.cursor.clone(),
            };
            let (path, partner_param) = match (self.route, &self.partner_id) {
                (Route::Partner, Some(p)) => (partner_path(p), None),
                _ => ("/commissions".to_string(), self.partner_id.clone()),
            };
            let req = Req::get(path)
                .query_opt("status", status)
                .query_opt("limit", self.page_size)
                .query_opt("since", self.since.as_ref().map(ts::format))
                .query_opt("until", self.until.as_ref().map(ts::format))
                .query_opt("programId", self.program_id.clone())
                .query_opt("partnerId", partner_param)
                .query_opt("cursor", cursor);
            let body: CommissionsBody = self.client.send_json(req).await?;
            return Ok(CommissionPage {
                items: body.commissions,
                next_cursor: body.next_cursor,
                possibly_truncated: false,
            });
        }
        // Fallback: one page, client-side filters.
        let path = match &self.partner_id {
            Some(p) => partner_path(p),
            None => "/commissions".to_string(),
        };
        let req = Req::get(path)
            .query_opt("status", status)
            .query_opt("limit", self.page_size);
        let body: CommissionsBody = self.client.send_json(req).await?;
        let asked = self.page_size.unwrap_or(DEFAULT_COMMISSION_PAGE) as usize;
        let truncated = body.commissions.len() >= asked;
        if truncated {
            flag.store(true, Ordering::SeqCst);
        }
        let items = body
            .commissions
            .into_iter()
            .filter(|c| self.since.is_none_or(|s| c.accrued_at >= s))
            .filter(|c| self.until.is_none_or(|u| c.accrued_at < u))
            .filter(|c| {
                self.program_id
                    .as_ref()
                    .is_none_or(|p| c.program_id.as_deref() == Some(p.as_str()))
            })
            .filter(|c| self.partner_id.as_ref().is_none_or(|p| &c.partner_id == p))
            .collect();
        Ok(CommissionPage {
            items,
            next_cursor: None,
            possibly_truncated: truncated,
        })
    }

    /// Fetches one page. `.limit()` truncates its items.
    ///
    /// Errors: 400 `invalid_query`/`invalid_cursor`; 401/403; errors of the capability
    /// refresh (`GET /health`) when no capabilities are known yet.
    pub async fn send(self) -> Result<CommissionPage> {
        self.listing(Arc::new(AtomicBool::new(false)))
            .first_page()
            .await
    }

    /// The listing; `flag` is set when a fallback page came back full.
    fn listing(
        self,
        flag: Arc<AtomicBool>,
    ) -> Listing<
        impl FnMut(Option<PageToken>) -> futures::future::BoxFuture<'static, Result<CommissionPage>>
            + Send
            + 'static,
    > {
        let limit = self.limit;
        Listing::new(
            move |token| {
                Box::pin(self.clone().fetch(token, flag.clone()))
                    as futures::future::BoxFuture<'static, Result<CommissionPage>>
            },
            limit,
        )
    }

    /// All pages, lazily.
    pub fn pages(self) -> BoxStream<'static, Result<CommissionPage>> {
        self.listing(Arc::new(AtomicBool::new(false))).pages()
    }

    /// All matching commissions, lazily, page by page; see [`CommissionStream`].
    pub fn stream(self) -> CommissionStream {
        let flag = Arc::new(AtomicBool::new(false));
        CommissionStream {
            inner: self.listing(flag.clone()).items(),
            truncated: flag,
        }
    }
}

/// `/partners/<id>/commissions`, the id percent-encoded as one path segment.
fn partner_path(partner_id: &str) -> String {
    format!("/partners/{}/commissions", seg(partner_id))
}

/// A stream of commissions that also reports whether the results may be incomplete.
pub struct CommissionStream {
    inner: BoxStream<'static, Result<Commission>>,
    truncated: Arc<AtomicBool>,
}

impl std::fmt::Debug for CommissionStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommissionStream")
            .field("possibly_truncated", &self.possibly_truncated())
            .finish_non_exhaustive()
    }
}

impl CommissionStream {
    /// `true` once a fallback page (server without `commission-filters`) came back full:
    /// older rows exist that this server cannot list. Check after draining the stream.
    pub fn possibly_truncated(&self) -> bool {
        self.truncated.load(Ordering::SeqCst)
    }
}

impl Stream for CommissionStream {
    type Item = Result<Commission>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

/// Payouts handler; obtain with [`Client::payouts`].
#[derive(Debug, Clone)]
pub struct Payouts {
    pub(crate) client: Client,
}

impl Payouts {
    /// `POST /payouts/run` (admin): one payout per (partner, currency) of the approved
    /// commissions, which become `paid`. Never blindly resent: without the server's
    /// `idempotency` extension a failure after sending is returned, not retried.
    ///
    /// Errors: 401/403.
    pub async fn run(&self) -> Result<PayoutRun> {
        self.client.send_json(Req::post("/payouts/run")).await
    }

    /// Like [`Payouts::run`] with your own `Idempotency-Key`.
    pub async fn run_with_key(&self, idempotency_key: impl Into<String>) -> Result<PayoutRun> {
        self.client
            .send_json(Req::post("/payouts/run").idempotency_key(Some(idempotency_key.into())))
            .await
    }

    /// `POST /payouts/:id/confirm` (admin): pending → paid.
    ///
    /// Errors: 404 `payout_not_found`; 409 `not_confirmable`.
    pub async fn confirm(&self, payout_id: impl AsRef<str>) -> Result<Payout> {
        let b: PayoutBody = self
            .client
            .send_json(Req::post(format!(
                "/payouts/{}/confirm",
                seg(payout_id.as_ref())
            )))
            .await?;
        Ok(b.payout)
    }

    /// `GET /partners/:id/payouts` (admin or the partner) → newest 200.
    ///
    /// Errors: 404; 401/403.
    pub async fn list_for_partner(&self, partner_id: impl AsRef<str>) -> Result<Vec<Payout>> {
        let b: PayoutsBody = self
            .client
            .send_json(Req::get(format!(
                "/partners/{}/payouts",
                seg(partner_id.as_ref())
            )))
            .await?;
        Ok(b.payouts)
    }
}

impl Client {
    /// Commissions: filtered listing (with the API.md §6 fallback), approve, reverse.
    pub fn commissions(&self) -> Commissions {
        Commissions {
            client: self.clone(),
        }
    }

    /// Payouts: run, confirm, list for a partner.
    pub fn payouts(&self) -> Payouts {
        Payouts {
            client: self.clone(),
        }
    }
}
