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

#[cfg(test)]
mod tests {
    /// The stylesheet's colour (`--name: #rrggbb`) as relative luminance (WCAG 2).
    fn luminance(name: &str) -> f64 {
        let css = include_str!("../../assets/admin/admin.css");
        let at = css
            .find(&format!("--{name}:"))
            .unwrap_or_else(|| panic!("no --{name}"));
        let hex = css[at..]
            .split('#')
            .nth(1)
            .map(|h| &h[..6])
            .unwrap_or_else(|| panic!("--{name} is not #rrggbb"));
        let channel = |i: usize| {
            let c = f64::from(u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0)) / 255.0;
            if c <= 0.039_28 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(0) + 0.7152 * channel(2) + 0.0722 * channel(4)
    }

    fn contrast(fore: &str, back: &str) -> f64 {
        let (a, b) = (luminance(fore), luminance(back));
        (a.max(b) + 0.05) / (a.min(b) + 0.05)
    }

    /// Every text colour on the backgrounds it is used on keeps WCAG AA's 4.5:1.
    #[test]
    fn text_colours_keep_a_contrast_of_4_5() {
        for (fore, back) in [
            ("text", "bg"),
            ("text", "panel"),
            ("muted", "bg"),
            ("muted", "panel"),
            ("link", "bg"),
            ("link", "panel"),
            ("green", "green-bg"),
            ("amber", "amber-bg"),
            ("grey", "grey-bg"),
            ("red", "red-bg"),
            ("red", "bg"),
            ("green", "bg"),
            ("amber", "bg"),
        ] {
            let ratio = contrast(fore, back);
            assert!(ratio >= 4.5, "--{fore} on --{back}: {ratio:.2}:1");
        }
    }
}
