//! Pagination: page types, one [`Page`] trait shared by cursor and offset styles, and the
//! generic lazy streams behind every `.pages()` / `.stream()`.
//!
//! - Cursor style (`GET /partners`, \[EXT\] `GET /commissions`): the request carries
//!   `cursor=<nextCursor of the previous page>`; the listing ends when `nextCursor` is null or
//!   absent.
//! - Offset style (`GET /partners/:id/events`, `/customers`): `limit` + `offset`; a page with
//!   fewer than `limit` items is the last.
//!
//! The streams fetch page by page only when polled, keep every filter on every page (the
//! handler's request template is reused, only the cursor/offset changes), and with a limit
//! stop as soon as that many items were yielded, without fetching another page.
//!
//! Streams are returned as [`BoxStream`] (`Send + 'static + Unpin`), so `try_next()` works
//! without pinning.

use std::future::Future;

use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};

use crate::error::Result;

/// Where the next page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageToken {
    /// Cursor style: the server's opaque `nextCursor`.
    Cursor(String),
    /// Offset style: the next `offset`.
    Offset(u64),
}

/// A page of a listing, whatever its pagination style.
pub trait Page: Send + 'static {
    /// The row type.
    type Item: Send + 'static;
    /// The rows of this page.
    fn items(&self) -> &[Self::Item];
    /// Consumes the page into its rows.
    fn into_items(self) -> Vec<Self::Item>;
    /// Where the next page starts, or `None` on the last page.
    fn next_token(&self) -> Option<PageToken>;
}

/// One page of a cursor-paginated listing: `{"<items>":[…],"nextCursor":str|null}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CursorPage<T> {
    /// The rows, newest first.
    pub items: Vec<T>,
    /// Cursor of the next page (`None` on the last page).
    pub next_cursor: Option<String>,
}

impl<T: Send + 'static> Page for CursorPage<T> {
    type Item = T;
    fn items(&self) -> &[T] {
        &self.items
    }
    fn into_items(self) -> Vec<T> {
        self.items
    }
    fn next_token(&self) -> Option<PageToken> {
        match &self.next_cursor {
            Some(c) if !c.is_empty() && !self.items.is_empty() => {
                Some(PageToken::Cursor(c.clone()))
            }
            _ => None,
        }
    }
}

/// One page of an offset-paginated listing (`limit` + `offset`, echoed by the server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetPage<T> {
    /// The rows.
    pub items: Vec<T>,
    /// The page size that was asked for.
    pub limit: u32,
    /// The offset of the first row.
    pub offset: u64,
}

impl<T: Send + 'static> Page for OffsetPage<T> {
    type Item = T;
    fn items(&self) -> &[T] {
        &self.items
    }
    fn into_items(self) -> Vec<T> {
        self.items
    }
    fn next_token(&self) -> Option<PageToken> {
        if self.items.is_empty() || self.items.len() < self.limit as usize {
            None
        } else {
            Some(PageToken::Offset(self.offset + self.items.len() as u64))
        }
    }
}

/// A listing page read from a raw JSON response (e.g. [`crate::Client::raw`]): its rows and
/// where the next page starts, by the same rules as the typed pages.
///
/// - a JSON array: all rows, no next page;
/// - an object with `nextCursor`: the first array-valued field's rows, cursor style
///   ([`CursorPage`]: `null`/absent/empty ends the listing);
/// - an object with numeric `limit` and `offset`: offset style ([`OffsetPage`]: a page with
///   fewer than `limit` rows is the last);
/// - anything else: the first array-valued field's rows (or none), no next page.
pub fn raw_page(body: &serde_json::Value) -> (Vec<serde_json::Value>, Option<PageToken>) {
    use serde_json::Value;
    let map = match body {
        Value::Array(items) => return (items.clone(), None),
        Value::Object(map) => map,
        _ => return (Vec::new(), None),
    };
    let items = map
        .values()
        .find_map(|v| v.as_array().cloned())
        .unwrap_or_default();
    if let Some(c) = map.get("nextCursor") {
        let page = CursorPage {
            items,
            next_cursor: c.as_str().filter(|c| !c.is_empty()).map(str::to_string),
        };
        let next = page.next_token();
        return (page.items, next);
    }
    let limit = map
        .get("limit")
        .and_then(Value::as_u64)
        .and_then(|l| u32::try_from(l).ok());
    match (limit, map.get("offset").and_then(Value::as_u64)) {
        (Some(limit), Some(offset)) if limit > 0 => {
            let page = OffsetPage {
                items,
                limit,
                offset,
            };
            let next = page.next_token();
            (page.items, next)
        }
        _ => (items, None),
    }
}

struct State<F> {
    fetch: F,
    next: Option<Option<PageToken>>,
    seen: usize,
    limit: Option<usize>,
}

/// A lazy stream of pages. `fetch(None)` fetches the first page, `fetch(Some(token))` the
/// following ones. Stops after the last page, after an error, or once `limit` items were
/// seen.
pub(crate) fn pages<P, F, Fut>(fetch: F, limit: Option<usize>) -> BoxStream<'static, Result<P>>
where
    P: Page,
    F: FnMut(Option<PageToken>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<P>> + Send + 'static,
{
    let st = State {
        fetch,
        next: Some(None),
        seen: 0,
        limit,
    };
    stream::try_unfold(st, |mut st| async move {
        let Some(token) = st.next.take() else {
            return Ok(None);
        };
        if st.limit.is_some_and(|l| st.seen >= l) {
            return Ok(None);
        }
        let page = (st.fetch)(token).await?;
        st.seen += page.items().len();
        st.next = page.next_token().map(Some);
        Ok(Some((page, st)))
    })
    .boxed()
}

/// A lazy stream of items over [`pages`], truncated to `limit` items.
pub(crate) fn items<P, F, Fut>(
    fetch: F,
    limit: Option<usize>,
) -> BoxStream<'static, Result<P::Item>>
where
    P: Page,
    F: FnMut(Option<PageToken>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<P>> + Send + 'static,
{
    pages(fetch, limit)
        .map_ok(|p| stream::iter(p.into_items().into_iter().map(Ok)))
        .try_flatten()
        .take(limit.unwrap_or(usize::MAX))
        .boxed()
}

/// A page whose rows can be cut to the caller's item limit (what `.send()` returns).
pub(crate) trait Truncate {
    /// Keeps at most the first `n` rows.
    fn truncate(&mut self, n: usize);
}

impl<T> Truncate for CursorPage<T> {
    fn truncate(&mut self, n: usize) {
        self.items.truncate(n);
    }
}

impl<T> Truncate for OffsetPage<T> {
    fn truncate(&mut self, n: usize) {
        self.items.truncate(n);
    }
}

/// A listing ready to run: a page fetcher (as for [`pages`]) and the caller's item limit.
/// Behind the `.send()` / `.pages()` / `.stream()` finishers of every listing builder.
pub(crate) struct Listing<F> {
    fetch: F,
    limit: Option<usize>,
}

impl<F> Listing<F> {
    /// `fetch(None)` fetches the first page, `fetch(Some(token))` the following ones.
    pub(crate) fn new(fetch: F, limit: Option<usize>) -> Self {
        Listing { fetch, limit }
    }

    /// The first page only, its rows cut to the limit.
    pub(crate) async fn first_page<P, Fut>(mut self) -> Result<P>
    where
        P: Truncate,
        F: FnMut(Option<PageToken>) -> Fut,
        Fut: Future<Output = Result<P>>,
    {
        let mut page = (self.fetch)(None).await?;
        if let Some(l) = self.limit {
            page.truncate(l);
        }
        Ok(page)
    }

    /// All pages, lazily; see [`pages`].
    pub(crate) fn pages<P, Fut>(self) -> BoxStream<'static, Result<P>>
    where
        P: Page,
        F: FnMut(Option<PageToken>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<P>> + Send + 'static,
    {
        pages(self.fetch, self.limit)
    }

    /// All rows, lazily, at most the limit; see [`items`].
    pub(crate) fn items<P, Fut>(self) -> BoxStream<'static, Result<P::Item>>
    where
        P: Page,
        F: FnMut(Option<PageToken>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<P>> + Send + 'static,
    {
        items(self.fetch, self.limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    fn fake(
        calls: Arc<AtomicUsize>,
    ) -> impl FnMut(Option<PageToken>) -> futures::future::Ready<Result<CursorPage<u32>>> {
        move |tok| {
            calls.fetch_add(1, Ordering::SeqCst);
            let page = match tok {
                None => CursorPage {
                    items: vec![1, 2],
                    next_cursor: Some("c1".into()),
                },
                Some(PageToken::Cursor(c)) if c == "c1" => CursorPage {
                    items: vec![3, 4],
                    next_cursor: Some("c2".into()),
                },
                Some(_) => CursorPage {
                    items: vec![5],
                    next_cursor: None,
                },
            };
            futures::future::ready(Ok(page))
        }
    }

    #[tokio::test]
    async fn walks_all_pages_and_stops() {
        let calls = Arc::new(AtomicUsize::new(0));
        let all: Vec<u32> = items(fake(calls.clone()), None)
            .try_collect()
            .await
            .unwrap();
        assert_eq!(all, vec![1, 2, 3, 4, 5]);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn limit_stops_fetching() {
        let calls = Arc::new(AtomicUsize::new(0));
        let some: Vec<u32> = items(fake(calls.clone()), Some(3))
            .try_collect()
            .await
            .unwrap();
        assert_eq!(some, vec![1, 2, 3]);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        let calls = Arc::new(AtomicUsize::new(0));
        let some: Vec<u32> = items(fake(calls.clone()), Some(2))
            .try_collect()
            .await
            .unwrap();
        assert_eq!(some, vec![1, 2]);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn listing_finishers_share_fetcher_and_limit() {
        let calls = Arc::new(AtomicUsize::new(0));
        let first = Listing::new(fake(calls.clone()), Some(1))
            .first_page()
            .await
            .unwrap();
        assert_eq!(first.items, vec![1]);
        assert_eq!(first.next_cursor.as_deref(), Some("c1"));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let calls = Arc::new(AtomicUsize::new(0));
        let pages: Vec<CursorPage<u32>> = Listing::new(fake(calls.clone()), Some(3))
            .pages()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(
            pages.len(),
            2,
            "pages are not truncated, no page after the limit"
        );
        assert_eq!(pages[1].items, vec![3, 4]);
        let calls = Arc::new(AtomicUsize::new(0));
        let rows: Vec<u32> = Listing::new(fake(calls.clone()), Some(3))
            .items()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(rows, vec![1, 2, 3]);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn raw_pages() {
        use serde_json::json;
        let (items, next) = raw_page(&json!({"partners":[{"id":1}],"nextCursor":"c1"}));
        assert_eq!(items.len(), 1);
        assert_eq!(next, Some(PageToken::Cursor("c1".into())));
        assert_eq!(raw_page(&json!({"partners":[],"nextCursor":null})).1, None);
        assert_eq!(
            raw_page(&json!({"partners":[{"id":1}],"nextCursor":""})).1,
            None
        );
        let (items, next) = raw_page(&json!({"partnerId":"p","events":[1,2],"limit":2,"offset":4}));
        assert_eq!(items.len(), 2);
        assert_eq!(next, Some(PageToken::Offset(6)));
        assert_eq!(
            raw_page(&json!({"events":[1],"limit":2,"offset":4})).1,
            None
        );
        assert_eq!(raw_page(&json!({"events":[],"limit":0,"offset":0})).1, None);
        let (items, next) = raw_page(&json!([1, 2, 3]));
        assert_eq!((items.len(), next), (3, None));
        assert_eq!(raw_page(&json!({"ok":true})), (Vec::new(), None));
    }

    #[test]
    fn offset_page_tokens() {
        let p = OffsetPage {
            items: vec![1, 2],
            limit: 2,
            offset: 4,
        };
        assert_eq!(p.next_token(), Some(PageToken::Offset(6)));
        let p = OffsetPage {
            items: vec![1],
            limit: 2,
            offset: 4,
        };
        assert_eq!(p.next_token(), None);
    }
}
