//! The chart of the HTTP load results (`chart`): an SVG drawn with plotters from the JSON that
//! `bench --json` writes ([`Results`]).
//!
//! Two sections, one row per variant and one column per scenario: the server's CPU time per
//! request (the primary figure; whiskers from the lowest to the highest run), then the
//! throughput. Bars are coloured by family (baseline, ours, peers); each is labelled with its
//! value and its ratio to the baseline in the same scenario, and a dashed line marks the
//! baseline's value. A bar far longer than the rest of its column (more than 2.5 times the next
//! one, as a PostgreSQL store's can be) is cut at the column's edge, with a break mark; its
//! label still gives the real value. Skipped (pending) and failed measurements are named in
//! their cell instead of a bar.
//!
//! The SVG backend writes text as SVG `<text>` elements: no font files are read, the viewer
//! renders them.

use std::error::Error;
use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::runner::report::{LoadResult, Median, Results, Status, grouped};

/// The results read when no path is given (from the workspace root).
pub const DEFAULT_INPUT: &str = "benches/results/http-load.json";
/// The chart written when no path is given (from the workspace root).
pub const DEFAULT_OUTPUT: &str = "benches/results/http-load.svg";

/// Scenarios in this order first; any other after them, in the order of the results.
const SCENARIO_ORDER: [&str; 4] = ["sticky", "fresh", "untouched", "large"];

/// A bar more than this many times the next longest of its column is cut.
const OUTLIER_FACTOR: f64 = 2.5;

const MARGIN: i32 = 16;
const LABEL_W: i32 = 200;
const COL_W: i32 = 230;
const BAR_W: i32 = 130;
const ROW_H: i32 = 20;
const BAR_H: i32 = 13;

const BASELINE_COLOUR: RGBColor = RGBColor(0x8c, 0x8c, 0x8c);
const OURS_COLOUR: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
const PEER_COLOUR: RGBColor = RGBColor(0xff, 0x7f, 0x0e);
const OTHER_COLOUR: RGBColor = RGBColor(0xbc, 0xbd, 0x22);
const TEXT: RGBColor = RGBColor(0x20, 0x20, 0x20);
const MUTED: RGBColor = RGBColor(0x80, 0x80, 0x80);
const FAILED: RGBColor = RGBColor(0xd6, 0x27, 0x28);
const GUIDE: RGBColor = RGBColor(0x60, 0x60, 0x60);
const STRIPE: RGBColor = RGBColor(0xf3, 0xf3, 0xf3);

/// What went wrong.
pub type ChartError = Box<dyn Error + Send + Sync>;

/// Reads the results written by `bench --json`.
pub fn read_results(path: &Path) -> Result<Results, ChartError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text)
        .map_err(|e| format!("{} is not bench results: {e}", path.display()).into())
}

/// Draws the chart of `results` and writes it to `path`.
pub fn write_chart(results: &Results, path: &Path) -> Result<(), ChartError> {
    let svg = render(results)?;
    std::fs::write(path, svg).map_err(|e| format!("cannot write {}: {e}", path.display()).into())
}

/// One of the two figures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Metric {
    /// Server CPU time per request, µs.
    Cpu,
    /// Requests per second.
    Throughput,
}

impl Metric {
    fn title(self) -> &'static str {
        match self {
            Metric::Cpu => {
                "Server CPU time per request, µs (lower is better; whiskers: lowest and highest run)"
            }
            Metric::Throughput => "Throughput, requests per second (higher is better)",
        }
    }

    fn value(self, m: &Median) -> f64 {
        match self {
            Metric::Cpu => m.server_cpu_us_per_request,
            Metric::Throughput => m.throughput,
        }
    }

    fn ratio(self, m: &Median) -> Option<f64> {
        match self {
            Metric::Cpu => m.cpu_ratio,
            Metric::Throughput => m.throughput_ratio,
        }
    }

    /// The lowest and highest run, where the medians keep them.
    fn range(self, m: &Median) -> Option<(f64, f64)> {
        match self {
            Metric::Cpu if m.server_cpu_min.is_finite() && m.server_cpu_max > 0.0 => {
                Some((m.server_cpu_min, m.server_cpu_max))
            }
            _ => None,
        }
    }

    fn format(self, value: f64) -> String {
        match self {
            Metric::Cpu if value < 100.0 => format!("{value:.1}"),
            Metric::Cpu => format!("{value:.0}"),
            Metric::Throughput => grouped(value),
        }
    }
}

/// What one cell shows.
enum Cell<'a> {
    /// Measured.
    Measured(&'a Median),
    /// Skipped; the text says why in a word.
    Skipped(&'static str),
    /// Failed, or `ok` without medians.
    Failed,
    /// Not in the results.
    Missing,
}

/// A variant row: its name and family.
struct Row {
    name: String,
    family: String,
}

fn family_colour(family: &str) -> RGBColor {
    match family {
        "baseline" => BASELINE_COLOUR,
        "ours" => OURS_COLOUR,
        "peer" => PEER_COLOUR,
        _ => OTHER_COLOUR,
    }
}

/// The variants in the order of the results' list, then any others that have load results.
fn rows(results: &Results) -> Vec<Row> {
    let mut rows: Vec<Row> = results
        .variants
        .iter()
        .map(|v| Row {
            name: v.name.clone(),
            family: v.family.clone(),
        })
        .collect();
    for r in &results.load {
        if !rows.iter().any(|row| row.name == r.variant) {
            let family = if r.variant == "baseline" {
                "baseline"
            } else {
                "other"
            };
            rows.push(Row {
                name: r.variant.clone(),
                family: family.into(),
            });
        }
    }
    rows
}

/// The scenarios measured (`all`, which a skipped variant reports, is not one).
fn scenarios(load: &[LoadResult]) -> Vec<String> {
    let mut seen: Vec<&str> = Vec::new();
    for r in load {
        if r.scenario != "all" && !seen.contains(&r.scenario.as_str()) {
            seen.push(&r.scenario);
        }
    }
    if seen.is_empty() {
        return SCENARIO_ORDER.map(str::to_owned).to_vec();
    }
    let mut out: Vec<String> = SCENARIO_ORDER
        .iter()
        .filter(|s| seen.contains(s))
        .map(|s| (*s).to_owned())
        .collect();
    out.extend(
        seen.iter()
            .filter(|s| !SCENARIO_ORDER.contains(s))
            .map(|s| (*s).to_owned()),
    );
    out
}

fn cell<'a>(load: &'a [LoadResult], variant: &str, scenario: &str) -> Cell<'a> {
    let found = load
        .iter()
        .find(|r| r.variant == variant && r.scenario == scenario)
        .or_else(|| {
            load.iter()
                .find(|r| r.variant == variant && r.scenario == "all")
        });
    match found {
        None => Cell::Missing,
        Some(r) => match (r.status, &r.median) {
            (Status::Ok, Some(m)) => Cell::Measured(m),
            (Status::Skipped, _) => {
                let pending = r
                    .reason
                    .as_deref()
                    .is_some_and(|reason| reason.starts_with("pending"));
                Cell::Skipped(if pending { "pending" } else { "skipped" })
            }
            _ => Cell::Failed,
        },
    }
}

/// The value at a column's full bar width: the longest bar (or whisker), leaving out CPU bars
/// more than [`OUTLIER_FACTOR`] times the next one (throughput has no such outliers: the
/// baseline's is the highest, and the load generator's core caps it).
fn column_scale(metric: Metric, medians: &[&Median]) -> f64 {
    let mut values: Vec<f64> = medians
        .iter()
        .map(|m| metric.value(m))
        .filter(|v| v.is_finite() && *v > 0.0)
        .collect();
    values.sort_by(|a, b| b.total_cmp(a));
    let mut top = 0;
    while let (Some(a), Some(b)) = (values.get(top), values.get(top + 1)) {
        if metric == Metric::Cpu && *a > OUTLIER_FACTOR * *b {
            top += 1;
        } else {
            break;
        }
    }
    let Some(&cut) = values.get(top) else {
        return 1.0;
    };
    let longest = medians
        .iter()
        .filter(|m| metric.value(m) <= cut)
        .map(|m| metric.range(m).map_or(metric.value(m), |(_, hi)| hi))
        .fold(cut, f64::max);
    longest * 1.02
}

/// Pixel length of `value` on a column whose full width is `scale`, clamped to the column.
fn length(value: f64, scale: f64) -> i32 {
    if !(value.is_finite() && scale > 0.0) {
        return 0;
    }
    // Rounded and clamped to 0..=BAR_W first, so the conversion cannot truncate.
    (f64::from(BAR_W) * (value / scale).clamp(0.0, 1.0)).round() as i32
}

fn font(px: f64) -> FontDesc<'static> {
    // The SVG backend writes `font-size` as the size over 1.24.
    FontDesc::new(FontFamily::SansSerif, px * 1.24, FontStyle::Normal)
}

fn bold(px: f64) -> FontDesc<'static> {
    FontDesc::new(FontFamily::SansSerif, px * 1.24, FontStyle::Bold)
}

fn text_style(font: FontDesc<'static>, colour: &RGBColor, h: HPos) -> TextStyle<'static> {
    font.color(colour).pos(Pos::new(h, VPos::Center))
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

fn rect(area: &Area<'_>, from: (i32, i32), to: (i32, i32), colour: &RGBColor) -> DrawResult {
    area.draw(&Rectangle::new([from, to], colour.filled()))?;
    Ok(())
}

fn text(area: &Area<'_>, s: &str, at: (i32, i32), style: &TextStyle<'static>) -> DrawResult {
    area.draw(&Text::new(s.to_owned(), at, style.clone()))?;
    Ok(())
}

fn line(area: &Area<'_>, from: (i32, i32), to: (i32, i32), colour: &RGBColor) -> DrawResult {
    area.draw(&PathElement::new(vec![from, to], colour.stroke_width(1)))?;
    Ok(())
}

/// The row's own background under a label that starts at `at`, so the baseline's line does not
/// cross it (text widths are estimated: about 0.6 em per character).
fn backing(area: &Area<'_>, label: &str, at: (i32, i32), background: &RGBColor) -> DrawResult {
    let chars = i32::try_from(label.chars().count()).unwrap_or(0);
    rect(
        area,
        (at.0 - 1, at.1 - 7),
        (at.0 + 3 + chars * 13 / 2, at.1 + 7),
        background,
    )
}

type DrawResult = Result<(), ChartError>;

/// Height of one section.
fn section_height(rows: usize) -> i32 {
    let rows = i32::try_from(rows).unwrap_or(i32::MAX / ROW_H / 2);
    30 + 22 + rows * ROW_H + 24
}

const HEADER_H: i32 = 96;

/// The SVG text of the chart of `results`.
pub fn render(results: &Results) -> Result<String, ChartError> {
    let rows = rows(results);
    let scenarios = scenarios(&results.load);
    let columns = i32::try_from(scenarios.len()).map_err(|_| "too many scenarios")?;
    let width = 2 * MARGIN + LABEL_W + columns * COL_W;
    let height = HEADER_H + 2 * section_height(rows.len()) + 30;
    let size = (
        u32::try_from(width).map_err(|_| "chart too wide")?,
        u32::try_from(height).map_err(|_| "chart too tall")?,
    );

    let mut svg = String::new();
    {
        let area = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        area.fill(&WHITE)?;
        header(&area, results, width)?;
        let mut top = HEADER_H;
        for metric in [Metric::Cpu, Metric::Throughput] {
            section(&area, results, &rows, &scenarios, metric, top)?;
            top += section_height(rows.len());
        }
        let footer = format!(
            "From {DEFAULT_INPUT} by `cargo run -p typed-sessions-bench --bin chart`; \
             every figure is the median of the runs. Ratios are to the baseline in the same scenario."
        );
        text(
            &area,
            &footer,
            (MARGIN, top + 8),
            &text_style(font(11.0), &MUTED, HPos::Left),
        )?;
        area.present()?;
    }
    Ok(svg)
}

fn header(area: &Area<'_>, results: &Results, width: i32) -> DrawResult {
    text(
        area,
        "typed-sessions: HTTP load, side by side (server CPU per request and throughput)",
        (MARGIN, 18),
        &text_style(bold(16.0), &TEXT, HPos::Left),
    )?;
    let m = &results.machine;
    let s = &results.settings;
    let first = |load: &str| load.split_whitespace().next().unwrap_or("?").to_owned();
    let about = format!(
        "commit {}, {} cores ({}), {}; {} runs of {} s per variant and scenario, {} connections; \
         load average {} at the start, {} at the end",
        if m.commit.is_empty() { "?" } else { &m.commit },
        m.nproc,
        m.cpu_model,
        m.rustc,
        s.repeat,
        s.duration_s,
        s.connections,
        first(&m.loadavg_start),
        first(&m.loadavg_end),
    );
    text(
        area,
        &about,
        (MARGIN, 42),
        &text_style(font(11.0), &MUTED, HPos::Left),
    )?;
    // The legend.
    let mut x = MARGIN;
    let y = 68;
    for (label, colour) in [
        ("baseline (no sessions)", BASELINE_COLOUR),
        ("typed-sessions", OURS_COLOUR),
        ("peers", PEER_COLOUR),
    ] {
        rect(area, (x, y - 6), (x + 12, y + 6), &colour)?;
        text(
            area,
            label,
            (x + 18, y),
            &text_style(font(12.0), &TEXT, HPos::Left),
        )?;
        x += 18 + 8 * i32::try_from(label.len()).unwrap_or(20) + 24;
    }
    let note =
        "labels: value · ratio to baseline; dashed line: the baseline; a bar with a gap is cut";
    text(
        area,
        note,
        (width - MARGIN, y),
        &text_style(font(11.0), &MUTED, HPos::Right),
    )?;
    Ok(())
}

fn section(
    area: &Area<'_>,
    results: &Results,
    rows: &[Row],
    scenarios: &[String],
    metric: Metric,
    top: i32,
) -> DrawResult {
    text(
        area,
        metric.title(),
        (MARGIN, top + 12),
        &text_style(bold(13.0), &TEXT, HPos::Left),
    )?;
    let head_y = top + 30 + 9;
    let first_row = top + 30 + 22;
    let rows_bottom = first_row + i32::try_from(rows.len()).unwrap_or(0) * ROW_H;

    // Row stripes and labels.
    for (i, row) in rows.iter().enumerate() {
        let y = first_row + i32::try_from(i).unwrap_or(0) * ROW_H;
        if i % 2 == 1 {
            rect(
                area,
                (MARGIN, y),
                (
                    MARGIN + LABEL_W + COL_W * i32::try_from(scenarios.len()).unwrap_or(0),
                    y + ROW_H,
                ),
                &STRIPE,
            )?;
        }
        let mid = y + ROW_H / 2;
        rect(
            area,
            (MARGIN, mid - 5),
            (MARGIN + 10, mid + 5),
            &family_colour(&row.family),
        )?;
        text(
            area,
            &row.name,
            (MARGIN + 16, mid),
            &text_style(font(12.0), &TEXT, HPos::Left),
        )?;
    }

    for (c, scenario) in scenarios.iter().enumerate() {
        let x0 = MARGIN + LABEL_W + i32::try_from(c).unwrap_or(0) * COL_W;
        text(
            area,
            scenario,
            (x0, head_y),
            &text_style(bold(12.0), &TEXT, HPos::Left),
        )?;
        line(area, (x0, first_row - 2), (x0, rows_bottom), &MUTED)?;

        let cells: Vec<Cell<'_>> = rows
            .iter()
            .map(|row| cell(&results.load, &row.name, scenario))
            .collect();
        let medians: Vec<&Median> = cells
            .iter()
            .filter_map(|c| match c {
                Cell::Measured(m) => Some(*m),
                _ => None,
            })
            .collect();
        let scale = column_scale(metric, &medians);

        // The baseline's value, across the column, under the bars and labels.
        let base = rows
            .iter()
            .zip(&cells)
            .find(|(row, _)| row.family == "baseline")
            .and_then(|(_, c)| match c {
                Cell::Measured(m) => Some(metric.value(m)),
                _ => None,
            });
        if let Some(base) = base {
            let x = x0 + 1 + length(base, scale);
            let mut y = first_row;
            while y < rows_bottom {
                line(area, (x, y), (x, (y + 4).min(rows_bottom)), &GUIDE)?;
                y += 8;
            }
        }

        for (i, (row, cell)) in rows.iter().zip(&cells).enumerate() {
            let mid = first_row + i32::try_from(i).unwrap_or(0) * ROW_H + ROW_H / 2;
            match cell {
                Cell::Measured(m) => {
                    let value = metric.value(m);
                    let len = length(value, scale);
                    let cut = value > scale;
                    rect(
                        area,
                        (x0 + 1, mid - BAR_H / 2),
                        (x0 + 1 + len, mid + BAR_H / 2),
                        &family_colour(&row.family),
                    )?;
                    if cut {
                        // A white slanted gap near the end: the bar goes on.
                        let x = x0 + BAR_W - 14;
                        area.draw(&Polygon::new(
                            vec![
                                (x, mid + BAR_H / 2 + 1),
                                (x + 6, mid - BAR_H / 2 - 1),
                                (x + 10, mid - BAR_H / 2 - 1),
                                (x + 4, mid + BAR_H / 2 + 1),
                            ],
                            WHITE.filled(),
                        ))?;
                    }
                    let mut end = len;
                    if let Some((lo, hi)) = metric.range(m) {
                        let (a, b) = (length(lo, scale), length(hi, scale));
                        line(area, (x0 + 1 + a, mid), (x0 + 1 + b, mid), &TEXT)?;
                        line(area, (x0 + 1 + a, mid - 3), (x0 + 1 + a, mid + 3), &TEXT)?;
                        line(area, (x0 + 1 + b, mid - 3), (x0 + 1 + b, mid + 3), &TEXT)?;
                        end = end.max(b);
                    }
                    let label = match metric.ratio(m) {
                        Some(r) => format!("{} · {r:.2}×", metric.format(value)),
                        None => metric.format(value),
                    };
                    let background = if i % 2 == 1 { &STRIPE } else { &WHITE };
                    let at = (x0 + 1 + end + 5, mid);
                    backing(area, &label, at, background)?;
                    text(area, &label, at, &text_style(font(11.0), &TEXT, HPos::Left))?;
                }
                other => {
                    let (word, style) = match other {
                        Cell::Skipped(why) => (
                            *why,
                            text_style(font(11.0).style(FontStyle::Italic), &MUTED, HPos::Left),
                        ),
                        Cell::Failed => ("failed", text_style(bold(11.0), &FAILED, HPos::Left)),
                        _ => ("–", text_style(font(11.0), &MUTED, HPos::Left)),
                    };
                    let background = if i % 2 == 1 { &STRIPE } else { &WHITE };
                    backing(area, word, (x0 + 6, mid), background)?;
                    text(area, word, (x0 + 6, mid), &style)?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::report::{Machine, Settings, VariantInfo};

    fn median(cpu: f64, throughput: f64, base: (f64, f64)) -> Median {
        Median {
            server_cpu_us_per_request: cpu,
            server_cpu_min: cpu * 0.9,
            server_cpu_max: cpu * 1.1,
            throughput,
            cpu_ratio: Some(cpu / base.0),
            throughput_ratio: Some(throughput / base.1),
            ..Median::default()
        }
    }

    fn result(variant: &str, scenario: &str, m: Option<Median>) -> LoadResult {
        LoadResult {
            variant: variant.into(),
            scenario: scenario.into(),
            status: if m.is_some() {
                Status::Ok
            } else {
                Status::Failed
            },
            reason: m.is_none().then(|| "wrong answer".into()),
            runs: Vec::new(),
            remeasured: 0,
            median: m,
        }
    }

    fn synthetic() -> Results {
        let variant = |name: &str, family: &str| VariantInfo {
            name: name.into(),
            family: family.into(),
            configuration: String::new(),
        };
        let mut load = Vec::new();
        for scenario in ["sticky", "fresh", "untouched", "large"] {
            let base = (10.0, 40_000.0);
            load.push(result(
                "baseline",
                scenario,
                Some(median(10.0, 40_000.0, base)),
            ));
            load.push(result(
                "typed-one",
                scenario,
                Some(median(12.5, 35_000.0, base)),
            ));
            // An outlier, cut at the column's edge.
            load.push(result(
                "peer-slow",
                scenario,
                Some(median(500.0, 2_000.0, base)),
            ));
            load.push(result(
                "peer-fast",
                scenario,
                Some(median(14.0, 30_000.0, base)),
            ));
        }
        load.push(result("peer-broken", "sticky", None));
        load.push(LoadResult {
            variant: "typed-pending".into(),
            scenario: "all".into(),
            status: Status::Skipped,
            reason: Some("pending: on another branch".into()),
            ..LoadResult::default()
        });
        Results {
            machine: Machine {
                nproc: 2,
                commit: "abc1234".into(),
                ..Machine::default()
            },
            settings: Settings {
                repeat: 3,
                duration_s: 10.0,
                connections: 32,
                ..Settings::default()
            },
            variants: vec![
                variant("baseline", "baseline"),
                variant("typed-one", "ours"),
                variant("typed-pending", "ours"),
                variant("peer-slow", "peer"),
                variant("peer-fast", "peer"),
                variant("peer-broken", "peer"),
            ],
            load,
            ..Results::default()
        }
    }

    /// The contents of the SVG's text elements, trimmed.
    fn texts(svg: &str) -> Vec<String> {
        svg.split("</text>")
            .filter_map(|part| {
                let start = part.rfind("<text")?;
                let content = part.get(start..)?.split_once('>')?.1;
                Some(content.trim().to_owned())
            })
            .collect()
    }

    #[test]
    fn chart_renders_every_variant() {
        let results = synthetic();
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("chart.svg");
        write_chart(&results, &path).expect("chart written");
        let svg = std::fs::read_to_string(&path).expect("chart read");
        let svg = svg.trim();
        assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(80)]);
        assert!(svg.ends_with("</svg>"));
        let texts = texts(svg);
        let has = |s: &str| texts.iter().any(|t| t == s);
        for v in &results.variants {
            assert!(has(&v.name), "{} missing from {texts:?}", v.name);
        }
        for scenario in SCENARIO_ORDER {
            assert!(has(scenario), "{scenario} missing");
        }
        assert!(has("pending"));
        assert!(has("failed"));
        // Ratio labels: 12.5 µs over 10 µs, 35,000 req/s over 40,000; the outlier's real value.
        assert!(has("12.5 · 1.25×"), "{texts:?}");
        assert!(has("35,000 · 0.88×"), "{texts:?}");
        assert!(has("500 · 50.00×"), "{texts:?}");
        // Balanced text elements, one document.
        assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count());
        assert_eq!(svg.matches("<svg").count(), 1);
    }

    #[test]
    fn chart_column_scale_cuts_outliers() {
        let base = (10.0, 1.0);
        let ms = [
            median(10.0, 1.0, base),
            median(20.0, 1.0, base),
            median(500.0, 1.0, base),
        ];
        let refs: Vec<&Median> = ms.iter().collect();
        let scale = column_scale(Metric::Cpu, &refs);
        // The 500 is cut; the scale covers 20's whisker (22).
        assert!((scale - 22.0 * 1.02).abs() < 1e-9, "{scale}");
        assert_eq!(length(500.0, scale), BAR_W);
        assert_eq!(length(0.0, scale), 0);
        assert_eq!(column_scale(Metric::Cpu, &[]), 1.0);
    }

    #[test]
    fn chart_reads_the_committed_results() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("results/http-load.json");
        if path.exists() {
            let results = read_results(&path).expect("the committed results parse");
            let svg = render(&results).expect("rendered");
            assert!(texts(&svg).iter().any(|t| t == "baseline"));
        }
    }
}
