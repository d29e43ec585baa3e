//! The admin page's files, compiled into the binary so the page works offline and loads
//! nothing from elsewhere: one stylesheet and htmx (vendored from the npm package `htmx.org`
//! with its licence, `assets/admin/vendor/htmx/`).

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

pub const STYLESHEET_PATH: &str = "/admin/assets/admin.css";
pub const HTMX_PATH: &str = "/admin/assets/htmx.min.js";

/// Each file by its name under `/admin/assets/`: its content type and bytes.
const FILES: &[(&str, &str, &str)] = &[
    (
        "admin.css",
        "text/css; charset=utf-8",
        include_str!("../../assets/admin/admin.css"),
    ),
    (
        "htmx.min.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/admin/vendor/htmx/htmx.min.js"),
    ),
    (
        "htmx-LICENSE.txt",
        "text/plain; charset=utf-8",
        include_str!("../../assets/admin/vendor/htmx/LICENSE"),
    ),
];

/// `GET /admin/assets/{name}`. Cached for an hour only: a new binary may bring new files
/// under the same names.
pub async fn file(Path(name): Path<String>) -> Response {
    match FILES.iter().find(|(file, _, _)| *file == name) {
        Some((_, content_type, body)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            *body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}
