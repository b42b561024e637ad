//! Page requests and the page envelope every list answers with.

use serde::Serialize;
use utoipa::ToSchema;

use super::FieldError;

pub const DEFAULT_PER_PAGE: i64 = 20;
pub const MAX_PER_PAGE: i64 = 100;

/// A validated page request: `page` from 1, `per_page` from 1 to [`MAX_PER_PAGE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub page: i64,
    pub per_page: i64,
}

impl PageRequest {
    /// Validates the raw query values, naming the parameter at fault. A page so far out that its
    /// offset would overflow is refused as well.
    pub fn new(page: Option<i64>, per_page: Option<i64>) -> Result<Self, Vec<FieldError>> {
        Self::named(page, per_page, "page", "per_page")
    }

    /// Like [`PageRequest::new`] for lists whose page parameter has another name.
    pub fn named(
        page: Option<i64>,
        per_page: Option<i64>,
        page_field: &str,
        per_page_field: &str,
    ) -> Result<Self, Vec<FieldError>> {
        let page = page.unwrap_or(1);
        let per_page = per_page.unwrap_or(DEFAULT_PER_PAGE);
        let mut errors = Vec::new();
        if !(1..=1_000_000).contains(&page) {
            errors.push(FieldError::new(page_field, "must be between 1 and 1000000"));
        }
        if !(1..=MAX_PER_PAGE).contains(&per_page) {
            errors.push(FieldError::new(
                per_page_field,
                format!("must be between 1 and {MAX_PER_PAGE}"),
            ));
        }
        if errors.is_empty() {
            Ok(Self { page, per_page })
        } else {
            Err(errors)
        }
    }

    pub fn offset(&self) -> i64 {
        (self.page - 1) * self.per_page
    }

    pub fn limit(&self) -> i64 {
        self.per_page
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            page: 1,
            per_page: DEFAULT_PER_PAGE,
        }
    }
}

/// One page of a list, with what is needed to fetch the others.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    #[schema(example = 1)]
    pub page: i64,
    #[schema(example = 20)]
    pub per_page: i64,
    /// Items across all pages.
    #[schema(example = 1)]
    pub total: i64,
    #[schema(example = 1)]
    pub total_pages: i64,
}

impl<T> Page<T> {
    pub fn new(items: Vec<T>, request: PageRequest, total: i64) -> Self {
        Self {
            items,
            page: request.page,
            per_page: request.per_page,
            total,
            total_pages: (total + request.per_page - 1) / request.per_page,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_when_nothing_is_given() {
        assert_eq!(PageRequest::new(None, None), Ok(PageRequest::default()));
    }

    #[test]
    fn out_of_range_values_name_their_parameter() {
        let errors = PageRequest::new(Some(0), Some(101)).expect_err("both are out of range");
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["page", "per_page"]);
    }

    #[test]
    fn total_pages_rounds_up() {
        let page = Page::new(
            vec![1],
            PageRequest {
                page: 1,
                per_page: 20,
            },
            41,
        );
        assert_eq!(page.total_pages, 3);
        let empty: Page<i32> = Page::new(vec![], PageRequest::default(), 0);
        assert_eq!(empty.total_pages, 0);
    }
}
