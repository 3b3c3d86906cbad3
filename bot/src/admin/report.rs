//! The HTML page of `helpdesk eval --report FILE.html`: the metrics, how
//! precision and coverage move with the answer threshold (an SVG plot), and
//! the wrong answers and misses with their candidates, so an admin sees
//! which entries need more questions.
//!
//! The page is self-contained (no scripts, fonts or links to load) and
//! every text from the FAQ or the queries file is escaped.
//!
//! The curve is recomputed from each query's candidates with the matcher's
//! rule: answer when the best confidence is at least the threshold and
//! leads the runner-up by the margin. Queries the matcher declined for
//! other reasons at the configured threshold (a one-word query only gets
//! "did you mean"; "I want a human" is never answered) stay unanswered at
//! every threshold, so the curve passes through the measured point.

use std::fmt::Write as _;

use matcher::MatcherConfig;
use matcher::eval::{Judged, Metrics};
use serde::Serialize;

/// One point of the threshold curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CurvePoint {
    pub threshold: f64,
    pub answered: usize,
    pub correct: usize,
    /// correct / answered; `None` when nothing is answered.
    pub precision: Option<f64>,
    /// correct / queries with an expected entry.
    pub coverage: f64,
    /// wrong / queries.
    pub false_answer_rate: f64,
}

/// Whether the matcher's threshold-and-margin rule answers at `threshold`.
fn passes(judged: &Judged, threshold: f64, margin: f64) -> bool {
    let mut confidences = judged
        .verdict
        .candidates
        .iter()
        .map(|c| f64::from(c.confidence));
    let Some(best) = confidences.next() else {
        return false;
    };
    let second = confidences.next().unwrap_or(0.0);
    // The matcher compares f32s; allow for the rounding of the conversion.
    best + 1e-6 >= threshold && best - second + 1e-6 >= margin
}

/// Precision, coverage and false answers at thresholds 0.00, 0.01, ... 1.00.
pub fn curve(judged: &[Judged], config: &MatcherConfig) -> Vec<CurvePoint> {
    let margin = f64::from(config.margin);
    let configured = f64::from(config.answer_threshold);
    // Declined for another reason than the threshold: never answered.
    let answerable: Vec<bool> = judged
        .iter()
        .map(|j| j.verdict.answered.is_some() || !passes(j, configured, margin))
        .collect();
    let with_expected = judged.iter().filter(|j| j.query.expected.is_some()).count();
    (0..=100)
        .map(|step| {
            let threshold = f64::from(step) / 100.0;
            let (mut answered, mut correct) = (0, 0);
            for (j, &answerable) in judged.iter().zip(&answerable) {
                if answerable && passes(j, threshold, margin) {
                    answered += 1;
                    let best = j.verdict.candidates.first().map(|c| c.entry_id.as_str());
                    if best.is_some() && best == j.query.expected.as_deref() {
                        correct += 1;
                    }
                }
            }
            let ratio = |part: usize, whole: usize| {
                if whole == 0 {
                    0.0
                } else {
                    part as f64 / whole as f64
                }
            };
            CurvePoint {
                threshold,
                answered,
                correct,
                precision: (answered > 0).then(|| correct as f64 / answered as f64),
                coverage: ratio(correct, with_expected),
                false_answer_rate: ratio(answered - correct, judged.len()),
            }
        })
        .collect()
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 360.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 40.0;

fn x_of(threshold: f64) -> f64 {
    LEFT + threshold * (WIDTH - LEFT - RIGHT)
}

fn y_of(value: f64) -> f64 {
    TOP + (1.0 - value) * (HEIGHT - TOP - BOTTOM)
}

/// Polylines of a series; a gap where the value is undefined.
fn polylines(
    points: &[CurvePoint],
    value: impl Fn(&CurvePoint) -> Option<f64>,
    class: &str,
) -> String {
    let mut svg = String::new();
    let mut run: Vec<String> = Vec::new();
    let flush = |run: &mut Vec<String>, svg: &mut String| {
        if run.len() > 1 {
            let _ = write!(
                svg,
                "<polyline class=\"{class}\" points=\"{}\"/>",
                run.join(" ")
            );
        }
        run.clear();
    };
    for point in points {
        match value(point) {
            Some(v) => run.push(format!("{:.1},{:.1}", x_of(point.threshold), y_of(v))),
            None => flush(&mut run, &mut svg),
        }
    }
    flush(&mut run, &mut svg);
    svg
}

/// The precision / coverage / false-answer plot as inline SVG.
pub fn plot(points: &[CurvePoint], config: &MatcherConfig) -> String {
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" width=\"{WIDTH}\" height=\"{HEIGHT}\" role=\"img\" aria-label=\"precision and coverage by answer threshold\">"
    );
    for step in 0..=5 {
        let v = f64::from(step) / 5.0;
        let _ = write!(
            svg,
            "<line class=\"grid\" x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{x2:.1}\" y2=\"{y:.1}\"/>\
             <text x=\"{tx:.1}\" y=\"{ty:.1}\" text-anchor=\"end\">{v:.1}</text>\
             <line class=\"grid\" x1=\"{x:.1}\" y1=\"{TOP}\" x2=\"{x:.1}\" y2=\"{yb:.1}\"/>\
             <text x=\"{x:.1}\" y=\"{xl:.1}\" text-anchor=\"middle\">{v:.1}</text>",
            y = y_of(v),
            x2 = WIDTH - RIGHT,
            tx = LEFT - 6.0,
            ty = y_of(v) + 4.0,
            x = x_of(v),
            yb = HEIGHT - BOTTOM,
            xl = HEIGHT - BOTTOM + 16.0,
        );
    }
    let _ = write!(
        svg,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">answer threshold</text>",
        x_of(0.5),
        HEIGHT - 4.0
    );
    let threshold = f64::from(config.answer_threshold);
    // The label goes on the side of the line with room for it: right of a
    // low threshold, left of a high one (at 0.95 it ran off the plot).
    let (tx, anchor) = if threshold <= 0.5 {
        (x_of(threshold) + 4.0, "start")
    } else {
        (x_of(threshold) - 4.0, "end")
    };
    let _ = write!(
        svg,
        "<line class=\"now\" x1=\"{x:.1}\" y1=\"{TOP}\" x2=\"{x:.1}\" y2=\"{yb:.1}\"/>\
         <text x=\"{tx:.1}\" y=\"{ty:.1}\" text-anchor=\"{anchor}\">configured {threshold:.2}</text>",
        x = x_of(threshold),
        yb = HEIGHT - BOTTOM,
        // Low in the plot, clear of the precision line near the top.
        ty = y_of(0.12),
    );
    svg.push_str(&polylines(points, |p| p.precision, "precision"));
    svg.push_str(&polylines(points, |p| Some(p.coverage), "coverage"));
    svg.push_str(&polylines(points, |p| Some(p.false_answer_rate), "false"));
    svg.push_str("</svg>");
    svg
}

/// What the page is about.
pub struct ReportInput<'a> {
    pub faq: &'a str,
    pub queries: &'a str,
    pub config: &'a MatcherConfig,
    pub metrics: &'a Metrics,
    pub judged: &'a [Judged],
}

/// A confidence with three decimals, rounded down: a miss just under the
/// threshold (0.9496 at 0.95) must not read as reaching it, as `{:.2}`
/// made it. The f32 noise of a value that is the threshold (0.95f32 is
/// 0.94999998…) is not rounded away.
fn confidence_text(confidence: f32) -> String {
    let thousandths = (f64::from(confidence) * 1000.0 + 1e-3).floor();
    format!("{:.3}", thousandths / 1000.0)
}

fn candidates_cell(judged: &Judged) -> String {
    if judged.verdict.candidates.is_empty() {
        return "<span class=\"muted\">none (not a question for the FAQ)</span>".to_owned();
    }
    judged
        .verdict
        .candidates
        .iter()
        .map(|c| {
            let mark = if Some(c.entry_id.as_str()) == judged.query.expected.as_deref() {
                " class=\"expected\""
            } else {
                ""
            };
            format!(
                "<span{mark}>{} {}</span>",
                escape(&c.entry_id),
                confidence_text(c.confidence)
            )
        })
        .collect::<Vec<_>>()
        .join("<br>")
}

fn rows(judged: &[&Judged]) -> String {
    let mut html = String::new();
    for j in judged {
        let _ = write!(
            html,
            "<tr><td>{}</td><td class=\"query\">{}</td><td class=\"id\">{}</td><td class=\"id\">{}</td>\
             <td class=\"candidates\">{}</td></tr>",
            j.query.line,
            escape(&j.query.query),
            escape(j.query.expected.as_deref().unwrap_or("-")),
            escape(j.verdict.answered.as_deref().unwrap_or("-")),
            candidates_cell(j)
        );
    }
    html
}

fn table(title: &str, explain: &str, judged: &[&Judged]) -> String {
    if judged.is_empty() {
        return format!("<h2>{title} (0)</h2><p class=\"muted\">None.</p>");
    }
    format!(
        "<h2>{title} ({})</h2><p>{explain}</p><div class=\"scroll\"><table class=\"queries\"><thead><tr><th>line</th>\
         <th>query</th><th>expected</th><th>answered</th><th>candidates (confidence)</th></tr></thead>\
         <tbody>{}</tbody></table></div>",
        judged.len(),
        rows(judged)
    )
}

/// The whole page.
pub fn html(input: &ReportInput) -> String {
    let m = input.metrics;
    let points = curve(input.judged, input.config);
    let wrong: Vec<&Judged> = input.judged.iter().filter(|j| j.is_wrong()).collect();
    let misses: Vec<&Judged> = input
        .judged
        .iter()
        .filter(|j| j.query.expected.is_some() && j.verdict.answered.is_none())
        .collect();
    let mut curve_rows = String::new();
    for point in points.iter().step_by(5) {
        let _ = write!(
            curve_rows,
            "<tr><td>{:.2}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.3}</td><td>{:.3}</td></tr>",
            point.threshold,
            point.answered,
            point.correct,
            point
                .precision
                .map_or_else(|| "–".to_owned(), |p| format!("{p:.3}")),
            point.coverage,
            point.false_answer_rate
        );
    }
    let metric = |name: &str, value: String| format!("<tr><th>{name}</th><td>{value}</td></tr>");
    let metrics_rows = [
        metric("queries", m.queries.to_string()),
        metric("answered", m.answered.to_string()),
        metric("correct", m.correct.to_string()),
        metric("wrong", m.wrong.to_string()),
        metric("precision", format!("{:.3}", m.precision)),
        metric("coverage", format!("{:.3}", m.coverage)),
        metric("top1", format!("{:.3}", m.top1)),
        metric("false answer rate", format!("{:.3}", m.false_answer_rate)),
        metric("one tap", format!("{:.3}", m.one_tap)),
        metric(
            "offered unanswerable",
            format!("{:.3}", m.offered_unanswerable),
        ),
        metric(
            "latency p50 / p99",
            format!("{:.0} µs / {:.0} µs", m.p50_us, m.p99_us),
        ),
    ]
    .concat();
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>helpdesk eval: {faq}</title><style>{STYLE}</style></head><body>\
         <h1>helpdesk eval</h1>\
         <p>FAQ <code>{faq}</code>, queries <code>{queries}</code>. Answer threshold {threshold:.2}, margin {margin:.2}, \
         \"did you mean\" from {suggest:.2}.</p>\
         <h2>Metrics</h2><table class=\"metrics\">{metrics_rows}</table>\
         <p class=\"muted\">precision = correct / answered; coverage = correct / queries with an expected entry; \
         top1 = the best candidate is the expected entry, confident or not; false answer rate = wrong / queries; \
         one tap = answered right, or the expected entry among the \"did you mean\" choices; \
         offered unanswerable = questions without an entry that got an answer or choices.</p>\
         <h2>Precision and coverage by answer threshold</h2>\
         <p><span class=\"key precision\">precision</span> <span class=\"key coverage\">coverage</span> \
         <span class=\"key false\">false answer rate</span> (recomputed from the candidates with the margin rule)</p>\
         {svg}\
         <div class=\"scroll\"><table class=\"curve\"><thead><tr><th>threshold</th><th>answered</th><th>correct</th>\
         <th>precision</th><th>coverage</th><th>false answers</th></tr></thead><tbody>{curve_rows}</tbody></table></div>\
         {wrong}{misses}</body></html>\n",
        faq = escape(input.faq),
        queries = escape(input.queries),
        threshold = input.config.answer_threshold,
        margin = input.config.margin,
        suggest = input.config.suggest_threshold,
        svg = plot(&points, input.config),
        wrong = table(
            "Wrong answers",
            "Answered with an entry other than the expected one (or when no entry should answer). \
             Add the query to the expected entry's questions, or make the entries more distinct.",
            &wrong
        ),
        misses = table(
            "Misses",
            "An entry should have answered but the bot was not confident enough. \
             If the expected entry is among the candidates, a question like this one added to it usually helps.",
            &misses
        ),
    )
}

// Ids and candidates never wrap (an id broke at its hyphens and a row grew
// to about 200 px); the query wraps anywhere; a table wider than a phone
// scrolls sideways instead of squeezing its columns; the plot shrinks to fit.
const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem;max-width:72rem;color:#222}\
@media (max-width:40rem){body{margin:0.75rem}}.scroll{overflow-x:auto;max-width:100%}\
td.id,td.candidates{white-space:nowrap}td.query{overflow-wrap:anywhere;min-width:12rem}\
table{border-collapse:collapse;margin:0.5rem 0 1.5rem}td,th{border:1px solid #ccc;padding:0.25rem 0.5rem;\
text-align:left;vertical-align:top}table.metrics th{background:#f4f4f4}.muted{color:#777}\
.expected{font-weight:bold;color:#1a7f37}svg{display:block;margin:0.5rem 0;max-width:100%;height:auto}svg text{font-size:11px;fill:#444}\
.grid{stroke:#e4e4e4}.now{stroke:#999;stroke-dasharray:4 3}polyline{fill:none;stroke-width:2}\
polyline.precision{stroke:#0969da}polyline.coverage{stroke:#d97706}polyline.false{stroke:#cf222e;stroke-dasharray:5 3}\
.key{padding:0 0.4rem;border-left:1.2rem solid}.key.precision{border-color:#0969da}.key.coverage{border-color:#d97706}\
.key.false{border-color:#cf222e}";

#[cfg(test)]
mod tests {
    use super::*;
    use matcher::Candidate;
    use matcher::eval::{LabeledQuery, Verdict};

    fn judged(
        expected: Option<&str>,
        candidates: &[(&str, f32)],
        answered: Option<&str>,
    ) -> Judged {
        Judged {
            query: LabeledQuery {
                query: "q".into(),
                expected: expected.map(Into::into),
                line: 2,
            },
            verdict: Verdict {
                answered: answered.map(Into::into),
                offered: Vec::new(),
                candidates: candidates
                    .iter()
                    .map(|(id, c)| Candidate {
                        entry_id: (*id).into(),
                        confidence: *c,
                    })
                    .collect(),
            },
            micros: 1.0,
        }
    }

    #[test]
    fn the_curve_passes_through_the_measured_point() {
        let config = MatcherConfig {
            answer_threshold: 0.6,
            margin: 0.1,
            suggest_threshold: 0.3,
            max_suggestions: 3,
        };
        let all = [
            judged(Some("a"), &[("a", 0.9), ("b", 0.2)], Some("a")),
            judged(Some("a"), &[("b", 0.7), ("a", 0.5)], Some("b")),
            judged(Some("b"), &[("b", 0.5)], None),
            // Close runner-up: never answered, whatever the threshold.
            judged(Some("a"), &[("a", 0.8), ("b", 0.75)], None),
            // Declined for another reason (a one-word query).
            judged(Some("a"), &[("a", 0.9)], None),
        ];
        let points = curve(&all, &config);
        let at = |t: f64| {
            points
                .iter()
                .find(|p| (p.threshold - t).abs() < 1e-9)
                .unwrap()
        };
        assert_eq!((at(0.6).answered, at(0.6).correct), (2, 1));
        assert_eq!((at(0.4).answered, at(0.4).correct), (3, 2));
        assert_eq!(at(1.0).precision, None);
        assert!(
            (at(0.4).coverage - 0.4).abs() < 1e-9,
            "2 correct of 5 expected"
        );
    }

    fn config(answer_threshold: f32) -> MatcherConfig {
        MatcherConfig {
            answer_threshold,
            margin: 0.1,
            suggest_threshold: 0.3,
            max_suggestions: 3,
        }
    }

    fn page(config: &MatcherConfig, judged: &[Judged]) -> String {
        html(&ReportInput {
            faq: "faq",
            queries: "queries.tsv",
            config,
            metrics: &matcher::eval::metrics(judged),
            judged,
        })
    }

    #[test]
    fn a_miss_just_under_the_threshold_never_reads_as_reaching_it() {
        let config = config(0.95);
        let miss = judged(Some("a"), &[("a", 0.9496), ("b", 0.2)], None);
        let html = page(&config, &[miss]);
        assert!(html.contains("a 0.949</span>"), "{html}");
        assert!(!html.contains("a 0.95"), "{html}");
        // A confidence that is the threshold (0.95f32 = 0.94999998…) says so.
        assert_eq!(confidence_text(0.95), "0.950");
        assert_eq!(confidence_text(1.0), "1.000");
    }

    #[test]
    fn the_configured_threshold_label_stays_inside_the_plot() {
        // 11 px text: no glyph of the label is wider than 7 px.
        const GLYPH: f64 = 7.0;
        for step in 0..=20 {
            let threshold = step as f32 / 20.0;
            let svg = plot(&[], &config(threshold));
            let label = format!("configured {threshold:.2}");
            let at = svg.find(&format!(">{label}</text>")).expect("the label");
            let tag = &svg[svg[..at].rfind("<text").expect("its element")..at];
            let attr = |name: &str| {
                let start = tag.find(&format!("{name}=\"")).expect(name) + name.len() + 2;
                tag[start..start + tag[start..].find('"').expect("closing quote")].to_owned()
            };
            let x: f64 = attr("x").parse().expect("a number");
            let width = label.chars().count() as f64 * GLYPH;
            let (left, right) = match attr("text-anchor").as_str() {
                "end" => (x - width, x),
                _ => (x, x + width),
            };
            assert!(
                left >= 0.0 && right <= WIDTH,
                "{label} spans {left:.0}..{right:.0} of 0..{WIDTH}"
            );
        }
    }

    #[test]
    fn ids_and_candidates_do_not_wrap_and_wide_tables_scroll() {
        let config = config(0.95);
        let miss = judged(
            Some("deposit-not-credited"),
            &[("deposit-not-credited", 0.5)],
            None,
        );
        let html = page(&config, &[miss]);
        assert!(
            html.contains("<td class=\"candidates\"><span class=\"expected\">deposit-not-credited 0.500</span>"),
            "{html}"
        );
        assert!(
            html.contains("<div class=\"scroll\"><table class=\"queries\">"),
            "{html}"
        );
        for rule in [
            "td.id,td.candidates{white-space:nowrap}",
            ".scroll{overflow-x:auto",
        ] {
            assert!(STYLE.contains(rule), "{rule}");
        }
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape("<b>\"x\" & 'y'</b>"),
            "&lt;b&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/b&gt;"
        );
    }
}
