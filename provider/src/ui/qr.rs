//! QR codes drawn as inline SVG (the authenticator enrolment page), so the page
//! needs no image endpoint and no JavaScript.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// Smallest side of the drawing in pixels: large enough for a phone camera.
const MIN_SIZE: u32 = 200;

/// `data` as an inline `<svg>` element (EC level M, with its quiet zone), or an
/// empty string when `data` is too long for a QR code. The output holds no text
/// from `data`, only module paths, so it can go into a page unescaped.
pub fn svg(data: &str) -> String {
    let Ok(code) = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M) else {
        return String::new();
    };
    let image = code.render::<svg::Color<'_>>().min_dimensions(MIN_SIZE, MIN_SIZE).quiet_zone(true).build();
    // Inline SVG inside HTML takes no XML declaration.
    match image.find("<svg") {
        Some(start) => image[start..].to_string(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r20_qr_svg_is_inline_and_sized_and_too_long_is_empty() {
        let out =
            svg("otpauth://totp/Latchkey:ada%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Latchkey");
        assert!(out.starts_with("<svg "), "{out}");
        assert!(out.ends_with("</svg>"));
        assert!(!out.contains("<?xml"));
        let width: u32 = out.split("width=\"").nth(1).unwrap().split('"').next().unwrap().parse().unwrap();
        assert!(width >= MIN_SIZE, "{width}");
        assert_eq!(svg(&"x".repeat(5000)), "");
    }
}
