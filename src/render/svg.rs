// SPDX-License-Identifier: MIT OR Apache-2.0
//! A small SVG writer, written as text: the elements physdemo's pictures use (rectangles,
//! text, paths, groups), with escaping, and the colours every picture shares.
//!
//! The pictures are standalone SVG 1.1 (they open in any browser and in `rsvg-convert` or
//! `resvg`): a white background, a `<title>`, and text in the DejaVu fonts Debian ships
//! (with the generic family after it). Numbers are written with at most two decimals.
//! Each picture's module puts `data-*` attributes on what a test needs to find by
//! position (a grid's origin, an axis' scale); those change nothing in the rendering.

use std::fmt::Write as _;

use crate::kernel::frame_class::FrameClass;

/// The background of every picture.
pub(crate) const BACKGROUND: &str = "#ffffff";
/// The colour of a highlighted process's frames, and of its variable's frame.
pub(crate) const HIGHLIGHT: &str = "#ff00cc";
/// Text and outlines.
pub(crate) const INK: &str = "#1a1a1a";
/// Secondary text, axis lines.
pub(crate) const MUTED: &str = "#6b6b6b";
pub(crate) const SANS: &str = "DejaVu Sans, Verdana, sans-serif";
pub(crate) const MONO: &str = "DejaVu Sans Mono, Menlo, monospace";

/// The fill of a frame class (as `--color` draws it in the terminal, roughly).
pub(crate) fn class_colour(class: FrameClass) -> &'static str {
    match class {
        FrameClass::Free => "#e6e6e6",
        FrameClass::Anonymous => "#e15759",
        FrameClass::File => "#4e79a7",
        FrameClass::Slab => "#59a14f",
        FrameClass::PageTables => "#76b7b2",
        FrameClass::Huge => "#edc948",
        FrameClass::Kernel => "#4d4d4d",
        FrameClass::Other => "#b8a48a",
    }
}

/// Colours for things told apart by colour alone (mappings, bit fields), in order.
pub(crate) const PALETTE: [&str; 10] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f",
    "#ff9da7", "#2f4b7c",
];

/// `colour` (`#rrggbb`) mixed with `white` parts of white (0 to 1): a pale tint of it.
pub(crate) fn tint(colour: &str, white: f64) -> String {
    let channel =
        |i: usize| u8::from_str_radix(colour.get(i..i + 2).unwrap_or("00"), 16).unwrap_or(0);
    let mix = |c: u8| (f64::from(c) * (1.0 - white) + 255.0 * white).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        mix(channel(1)),
        mix(channel(3)),
        mix(channel(5))
    )
}

/// `text` with the five XML special characters escaped (and control characters dropped).
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A number as SVG wants it: at most two decimals, no trailing zeros.
pub(crate) fn num(value: f64) -> String {
    let text = format!("{value:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_string()
    } else {
        text.to_string()
    }
}

/// How a text is placed and drawn.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Font {
    pub(crate) size: f64,
    pub(crate) mono: bool,
    pub(crate) bold: bool,
    /// `start`, `middle` or `end`.
    pub(crate) anchor: &'static str,
    pub(crate) fill: &'static str,
}

impl Font {
    pub(crate) fn sans(size: f64) -> Self {
        Font {
            size,
            mono: false,
            bold: false,
            anchor: "start",
            fill: INK,
        }
    }

    pub(crate) fn mono(size: f64) -> Self {
        Font {
            mono: true,
            ..Font::sans(size)
        }
    }

    pub(crate) fn bold(self) -> Self {
        Font { bold: true, ..self }
    }

    pub(crate) fn anchor(self, anchor: &'static str) -> Self {
        Font { anchor, ..self }
    }

    pub(crate) fn fill(self, fill: &'static str) -> Self {
        Font { fill, ..self }
    }
}

/// An SVG document being written.
pub(crate) struct Svg {
    body: String,
    width: f64,
    height: f64,
    title: String,
}

impl Svg {
    pub(crate) fn new(width: f64, height: f64, title: &str) -> Self {
        Svg {
            body: String::new(),
            width,
            height,
            title: title.to_string(),
        }
    }

    /// Grows the canvas to `height` if it is shorter.
    pub(crate) fn fit_height(&mut self, height: f64) {
        self.height = self.height.max(height);
    }

    pub(crate) fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str) {
        self.rect_with(x, y, w, h, fill, "");
    }

    /// A rectangle with more attributes (` stroke="…"`, ` data-…="…"`), written as given.
    pub(crate) fn rect_with(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str, extra: &str) {
        let _ = writeln!(
            self.body,
            r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{fill}"{extra}/>"#,
            num(x),
            num(y),
            num(w),
            num(h)
        );
    }

    /// A rectangle with a tooltip (`<title>`, which browsers show on hover).
    pub(crate) fn rect_titled(
        &mut self,
        (x, y, w, h): (f64, f64, f64, f64),
        fill: &str,
        extra: &str,
        title: &str,
    ) {
        let _ = writeln!(
            self.body,
            r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{fill}"{extra}><title>{}</title></rect>"#,
            num(x),
            num(y),
            num(w),
            num(h),
            escape(title)
        );
    }

    pub(crate) fn text(&mut self, x: f64, y: f64, font: Font, text: &str) {
        let family = if font.mono { MONO } else { SANS };
        let weight = if font.bold {
            r#" font-weight="bold""#
        } else {
            ""
        };
        let _ = writeln!(
            self.body,
            r#"<text x="{}" y="{}" font-family="{family}" font-size="{}" text-anchor="{}" fill="{}"{weight}>{}</text>"#,
            num(x),
            num(y),
            num(font.size),
            font.anchor,
            font.fill,
            escape(text)
        );
    }

    /// Text turned by `degrees` (negative: anticlockwise) around its anchor point.
    pub(crate) fn text_turned(&mut self, x: f64, y: f64, degrees: f64, font: Font, text: &str) {
        let family = if font.mono { MONO } else { SANS };
        let _ = writeln!(
            self.body,
            r#"<text x="{x}" y="{y}" transform="rotate({} {x} {y})" font-family="{family}" font-size="{}" text-anchor="{}" fill="{}">{}</text>"#,
            num(degrees),
            num(font.size),
            font.anchor,
            font.fill,
            escape(text),
            x = num(x),
            y = num(y),
        );
    }

    pub(crate) fn line(&mut self, from: (f64, f64), to: (f64, f64), stroke: &str, width: f64) {
        let _ = writeln!(
            self.body,
            r#"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{stroke}" stroke-width="{}"/>"#,
            num(from.0),
            num(from.1),
            num(to.0),
            num(to.1),
            num(width)
        );
    }

    /// A path: `d` as given, `attrs` as given (` fill="…" stroke="…"`).
    pub(crate) fn path(&mut self, d: &str, attrs: &str) {
        let _ = writeln!(self.body, r#"<path d="{d}"{attrs}/>"#);
    }

    /// Opens a group with the attributes given (written as given); close it with [`Svg::end`].
    pub(crate) fn group(&mut self, attrs: &str) {
        let _ = writeln!(self.body, "<g{attrs}>");
    }

    pub(crate) fn end(&mut self) {
        self.body.push_str("</g>\n");
    }

    /// The whole document.
    pub(crate) fn finish(self) -> String {
        let (w, h) = (num(self.width), num(self.height));
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">\n\
             <title>{}</title>\n\
             <rect x=\"0\" y=\"0\" width=\"{w}\" height=\"{h}\" fill=\"{BACKGROUND}\"/>\n\
             {}</svg>\n",
            escape(&self.title),
            self.body
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_writes_short_numbers() {
        assert_eq!(
            escape("a<b & \"c\" 'd'>\u{1b}"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;"
        );
        assert_eq!(num(12.0), "12");
        assert_eq!(num(12.345), "12.35");
        assert_eq!(num(0.5), "0.5");
        assert_eq!(num(-0.001), "0");
        assert_eq!(tint("#000000", 0.5), "#808080");
        assert_eq!(tint("#4e79a7", 0.0), "#4e79a7");
        assert_eq!(tint("#4e79a7", 1.0), "#ffffff");
    }

    #[test]
    fn a_document_has_its_size_title_background_and_elements() {
        let mut svg = Svg::new(100.0, 50.0, "t<1>");
        svg.rect(1.0, 2.0, 3.0, 4.0, "#123456");
        svg.text(5.0, 6.0, Font::mono(11.0).bold(), "x&y");
        svg.fit_height(80.0);
        let text = svg.finish();
        assert!(
            text.contains(r#"width="100" height="80" viewBox="0 0 100 80""#),
            "{text}"
        );
        assert!(text.contains("<title>t&lt;1&gt;</title>"));
        assert!(text.contains(r##"<rect x="1" y="2" width="3" height="4" fill="#123456"/>"##));
        assert!(text.contains(r#"font-weight="bold">x&amp;y</text>"#));
        assert!(text.ends_with("</svg>\n"));
    }
}
