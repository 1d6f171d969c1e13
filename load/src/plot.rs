//! Plots of how cost grows with load, as SVG written by hand (no plotting dependency):
//! one figure per scenario, built from the scenario's JSON result lines. Every distinct
//! `label` becomes its own series, so runs before and after a change share a chart.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;
use serde_json::Value;

/// A line of points.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    /// Drawn dashed, without markers: a target rather than a measurement.
    pub dashed: bool,
}

impl Series {
    /// A horizontal line at `y` across `[x0, x1]`, for a target.
    pub fn target(name: &str, y: f64, x0: f64, x1: f64) -> Series {
        Series { name: name.to_owned(), points: vec![(x0, y), (x1, y)], dashed: true }
    }
}

/// One chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
    /// A logarithmic y axis (latencies that grow by orders of magnitude near saturation).
    pub log_y: bool,
}

/// Charts stacked under one title.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub title: String,
    pub panels: Vec<Panel>,
}

const WIDTH: f64 = 860.0;
const PANEL_HEIGHT: f64 = 340.0;
const TOP: f64 = 44.0;
const MARGIN_LEFT: f64 = 78.0;
const MARGIN_RIGHT: f64 = 24.0;
const MARGIN_TOP: f64 = 34.0;
const MARGIN_BOTTOM: f64 = 50.0;
const COLOURS: [&str; 8] =
    ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

/// Writes `figure` to `path` as SVG.
pub fn write(path: &Path, figure: &Figure) -> anyhow::Result<()> {
    std::fs::write(path, render(figure)).with_context(|| format!("cannot write {}", path.display()))
}

/// The SVG text of a figure.
pub fn render(figure: &Figure) -> String {
    let height = TOP + PANEL_HEIGHT * figure.panels.len().max(1) as f64;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = write!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = write!(
        svg,
        r#"<text x="{}" y="26" text-anchor="middle" font-size="16" font-weight="bold">{}</text>"#,
        WIDTH / 2.0,
        escape(&figure.title)
    );
    for (i, panel) in figure.panels.iter().enumerate() {
        panel_svg(&mut svg, panel, TOP + PANEL_HEIGHT * i as f64);
    }
    svg.push_str("</svg>\n");
    svg
}

fn panel_svg(svg: &mut String, panel: &Panel, y0: f64) {
    let (left, right) = (MARGIN_LEFT, WIDTH - MARGIN_RIGHT);
    let (top, bottom) = (y0 + MARGIN_TOP, y0 + PANEL_HEIGHT - MARGIN_BOTTOM);
    let points = || panel.series.iter().flat_map(|s| s.points.iter().copied());
    let x_max = points().map(|p| p.0).fold(0.0, f64::max);
    let (x_ticks, x_top) = ticks(x_max);
    let sx = |x: f64| left + (right - left) * x / x_top;
    let (y_ticks, sy): (Vec<f64>, Box<dyn Fn(f64) -> f64>) = if panel.log_y {
        let positive = || points().map(|p| p.1).filter(|y| *y > 0.0);
        let low = 10f64.powf(positive().fold(f64::INFINITY, f64::min).log10().floor().min(0.0));
        let high = 10f64.powf(positive().fold(1.0, f64::max).log10().ceil().max(low.log10() + 1.0));
        let decades = (high / low).log10().round() as i32;
        let ticks = (0..=decades).map(|d| low * 10f64.powi(d)).collect();
        let (l0, l1) = (low.log10(), high.log10());
        (ticks, Box::new(move |y: f64| bottom - (bottom - top) * (y.max(low).log10() - l0) / (l1 - l0)))
    } else {
        let y_max = points().map(|p| p.1).fold(0.0, f64::max);
        let (ticks, y_top) = ticks(y_max);
        (ticks, Box::new(move |y: f64| bottom - (bottom - top) * y / y_top))
    };
    let _ = write!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="middle" font-size="14">{}</text>"#,
        (left + right) / 2.0,
        y0 + 20.0,
        escape(&panel.title)
    );
    for &t in &y_ticks {
        let y = sy(t);
        let _ = write!(svg, r##"<line x1="{left}" y1="{y:.1}" x2="{right}" y2="{y:.1}" stroke="#e4e4e4"/>"##);
        let _ = write!(
            svg,
            r#"<text x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            left - 6.0,
            y + 4.0,
            number(t)
        );
    }
    for &t in &x_ticks {
        let x = sx(t);
        let _ = write!(svg, r##"<line x1="{x:.1}" y1="{top}" x2="{x:.1}" y2="{bottom}" stroke="#f0f0f0"/>"##);
        let _ = write!(
            svg,
            r#"<text x="{x:.1}" y="{}" text-anchor="middle">{}</text>"#,
            bottom + 16.0,
            number(t)
        );
    }
    let _ = write!(
        svg,
        r##"<polyline points="{left},{top} {left},{bottom} {right},{bottom}" fill="none" stroke="#333"/>"##
    );
    let _ = write!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
        (left + right) / 2.0,
        bottom + 36.0,
        escape(&panel.x_label)
    );
    let (cx, cy) = (18.0, (top + bottom) / 2.0);
    let y_label = if panel.log_y { format!("{} (log scale)", panel.y_label) } else { panel.y_label.clone() };
    let _ = write!(
        svg,
        r#"<text x="{cx}" y="{cy}" text-anchor="middle" transform="rotate(-90 {cx} {cy})">{}</text>"#,
        escape(&y_label)
    );
    for (i, series) in panel.series.iter().enumerate() {
        let colour = if series.dashed { "#777" } else { COLOURS[i % COLOURS.len()] };
        let dash = if series.dashed { r#" stroke-dasharray="6 4""# } else { "" };
        let mut sorted = series.points.clone();
        sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
        let line: Vec<String> = sorted.iter().map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y))).collect();
        if line.len() > 1 {
            let _ = write!(
                svg,
                r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>"#,
                line.join(" ")
            );
        }
        if sorted.len() <= 60 && !series.dashed {
            for &(x, y) in &sorted {
                let _ = write!(svg, r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{colour}"/>"#, sx(x), sy(y));
            }
        }
        let ly = top + 8.0 + 16.0 * i as f64;
        let _ = write!(
            svg,
            r#"<line x1="{}" y1="{ly}" x2="{}" y2="{ly}" stroke="{colour}" stroke-width="4"{dash}/><text x="{}" y="{}">{}</text>"#,
            left + 12.0,
            left + 26.0,
            left + 32.0,
            ly + 4.0,
            escape(&series.name)
        );
    }
}

/// Tick values from 0 to a round number at or above `max`: 1, 2 or 5 times a power of ten.
fn ticks(max: f64) -> (Vec<f64>, f64) {
    if max <= 0.0 || !max.is_finite() {
        return (vec![0.0, 1.0], 1.0);
    }
    let raw = max / 5.0;
    let power = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * power).find(|s| *s >= raw).unwrap_or(10.0 * power);
    let count = (max / step).ceil() as usize;
    let ticks: Vec<f64> = (0..=count).map(|i| i as f64 * step).collect();
    let top = ticks.last().copied().unwrap_or(1.0);
    (ticks, top)
}

fn number(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else if x.abs() >= 10_000.0 && x % 1000.0 == 0.0 {
        format!("{}k", x / 1000.0)
    } else if x.fract() == 0.0 {
        format!("{x}")
    } else {
        let text = format!("{x:.3}");
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn f(v: &Value, pointer: &str) -> Option<f64> {
    v.pointer(pointer).and_then(Value::as_f64)
}

fn label(v: &Value, fallback: &str) -> String {
    match v.get("label").and_then(Value::as_str) {
        Some(l) if !l.is_empty() => l.to_owned(),
        _ => fallback.to_owned(),
    }
}

/// Points grouped into named series; repeated runs at one x are drawn as their median.
#[derive(Default)]
struct Groups(BTreeMap<String, Vec<(f64, f64)>>);

impl Groups {
    fn add(&mut self, name: String, point: Option<(f64, f64)>) {
        if let Some(p) = point {
            self.0.entry(name).or_default().push(p);
        }
    }

    /// Every point as measured (for a ramp, where x repeats while y moves).
    fn raw(self) -> Vec<Series> {
        self.0.into_iter().map(|(name, points)| Series { name, points, dashed: false }).collect()
    }

    fn series(self) -> Vec<Series> {
        self.0
            .into_iter()
            .map(|(name, points)| {
                let mut by_x: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
                for (x, y) in points {
                    by_x.entry(x.to_bits()).or_default().push(y);
                }
                let points = by_x.into_iter().map(|(x, ys)| (f64::from_bits(x), median(ys))).collect();
                Series { name, points, dashed: false }
            })
            .collect()
    }
}

fn median(mut ys: Vec<f64>) -> f64 {
    ys.sort_by(f64::total_cmp);
    let n = ys.len();
    if n % 2 == 1 {
        ys[n / 2]
    } else {
        (ys[n / 2 - 1] + ys[n / 2]) / 2.0
    }
}

fn x_range(series: &[Series]) -> (f64, f64) {
    let xs = || series.iter().flat_map(|s| s.points.iter().map(|p| p.0));
    (xs().fold(f64::INFINITY, f64::min).min(0.0), xs().fold(0.0, f64::max))
}

/// `sessions`: server memory against sessions during the ramp, and growth per session.
pub fn sessions(results: &[Value]) -> Figure {
    let mut rss = Groups::default();
    let mut per = Groups::default();
    for (i, r) in results.iter().enumerate() {
        let name = label(r, &format!("run {}", i + 1));
        for s in r.get("series").and_then(Value::as_array).into_iter().flatten() {
            rss.add(name.clone(), f(s, "/sessions").zip(f(s, "/rss_kib").map(|k| k / 1024.0)));
        }
        for m in r.get("milestones").and_then(Value::as_array).into_iter().flatten() {
            per.add(name.clone(), f(m, "/sessions").zip(f(m, "/kib_per_session")));
        }
    }
    let mut per = per.series();
    let (x0, x1) = x_range(&per);
    per.push(Series::target("target: 10 KiB", 10.0, x0, x1));
    Figure {
        title: "msnd: memory per logged-in session (20 contacts each, MSNP7)".into(),
        panels: vec![
            Panel {
                title: "Server resident memory (VmRSS) during the ramp".into(),
                x_label: "concurrent logged-in sessions".into(),
                y_label: "RSS (MiB)".into(),
                series: rss.raw(),
                log_y: false,
            },
            Panel {
                title: "RSS growth over the idle server, per session".into(),
                x_label: "concurrent logged-in sessions".into(),
                y_label: "KiB per session".into(),
                series: per,
                log_y: false,
            },
        ],
    }
}

/// `logins`: throughput of concurrent clients, and latency at offered rates.
pub fn logins(results: &[Value]) -> Figure {
    let mut closed = Groups::default();
    let mut open = Groups::default();
    // The MD5 logins the targets are about; MSNP8's Argon2id-bound ones are tabulated only.
    for r in results.iter().filter(|r| f(r, "/params/protocol").unwrap_or(7.0) < 8.0) {
        let name = label(r, "msnd");
        let rate = f(r, "/params/rate").unwrap_or(0.0);
        let achieved = f(r, "/logins_per_sec").unwrap_or(0.0);
        if rate == 0.0 {
            closed.add(name, f(r, "/params/concurrency").map(|c| (c, achieved)));
        } else if achieved >= 0.95 * rate {
            open.add(format!("{name} p50"), f(r, "/latency/p50_ms").map(|y| (rate, y)));
            open.add(format!("{name} p99"), f(r, "/latency/p99_ms").map(|y| (rate, y)));
        }
    }
    let mut closed = closed.series();
    let (x0, x1) = x_range(&closed);
    closed.push(Series::target("target: 3,000/s", 3000.0, x0, x1));
    let mut open = open.series();
    let (x0, x1) = x_range(&open);
    open.push(Series::target("target: p99 50 ms at 1,000/s", 50.0, x0, x1));
    Figure {
        title: "msnd: complete MD5 logins (dispatch, XFR, MD5, SYN, CHG NLN; 20 contacts)".into(),
        panels: vec![
            Panel {
                title: "Logins per second, clients logging in back to back".into(),
                x_label: "concurrent clients".into(),
                y_label: "logins per second".into(),
                series: closed,
                log_y: false,
            },
            Panel {
                title: "Login latency at a steady offered rate (rates the server kept up with)".into(),
                x_label: "logins offered per second".into(),
                y_label: "latency (ms)".into(),
                series: open,
                log_y: true,
            },
        ],
    }
}

/// `presence`: fan-out latency against the load, the contacts and the users online.
pub fn presence(results: &[Value]) -> Figure {
    let mut by_load = Groups::default();
    let mut by_contacts = Groups::default();
    let mut by_users = Groups::default();
    for r in results {
        let name = label(r, "msnd");
        let users = f(r, "/online");
        let contacts = f(r, "/contacts_per_user").map(|c| (c / 10.0).round() * 10.0);
        let rate = f(r, "/params/rate").unwrap_or(0.0);
        let per_sec = f(r, "/delivered").zip(f(r, "/params/duration_secs")).map(|(d, s)| d / s);
        let (p50, p99) = (f(r, "/latency/p50_ms"), f(r, "/latency/p99_ms"));
        by_load.add(format!("{name} p50"), per_sec.zip(p50));
        by_load.add(format!("{name} p99"), per_sec.zip(p99));
        // The other two charts vary one thing at the target's rate.
        if users == Some(10_000.0) && rate == 1000.0 {
            by_contacts.add(format!("{name}: 10,000 users, 1,000 changes/s, p99"), contacts.zip(p99));
        }
        if contacts == Some(100.0) && rate == 1000.0 {
            by_users.add(format!("{name}: 100 contacts, 1,000 changes/s, p99"), users.zip(p99));
        }
    }
    let with_target = |groups: Groups| {
        let mut series = groups.series();
        let (x0, x1) = x_range(&series);
        series.push(Series::target("target: p99 10 ms", 10.0, x0, x1));
        series
    };
    Figure {
        title: "msnd: status change (CHG) to NLN at every watcher".into(),
        panels: vec![
            Panel {
                title: "Fan-out latency against NLN deliveries per second (changes/s x contacts)".into(),
                x_label: "NLN delivered per second".into(),
                y_label: "latency (ms)".into(),
                series: with_target(by_load),
                log_y: true,
            },
            Panel {
                title: "p99 against online contacts per user".into(),
                x_label: "online contacts per user".into(),
                y_label: "p99 latency (ms)".into(),
                series: with_target(by_contacts),
                log_y: true,
            },
            Panel {
                title: "p99 against users online".into(),
                x_label: "users online".into(),
                y_label: "p99 latency (ms)".into(),
                series: with_target(by_users),
                log_y: true,
            },
        ],
    }
}

/// `chat` and `relay-baseline`: throughput against chats, round trip against the rate.
pub fn chat(results: &[Value]) -> Figure {
    let mut throughput = Groups::default();
    let mut at_rate = Groups::default();
    let mut unthrottled = Groups::default();
    for r in results {
        let venue = if r.get("scenario").and_then(Value::as_str) == Some("relay-baseline") {
            "relay"
        } else {
            "msnd"
        };
        let name = match r.get("label").and_then(Value::as_str) {
            Some(l) if !l.is_empty() => format!("{venue} ({l})"),
            _ => venue.to_owned(),
        };
        let chats = f(r, "/chats_ready");
        let rate = f(r, "/params/rate").unwrap_or(0.0);
        if rate == 0.0 {
            throughput.add(name.clone(), chats.zip(f(r, "/messages_per_sec")));
            unthrottled.add(format!("{name} p99"), chats.zip(f(r, "/round_trip/p99_ms")));
        } else if chats == Some(1000.0) {
            at_rate.add(format!("{name} p50"), f(r, "/round_trip/p50_ms").map(|y| (rate, y)));
            at_rate.add(format!("{name} p99"), f(r, "/round_trip/p99_ms").map(|y| (rate, y)));
        }
    }
    let mut at_rate = at_rate.series();
    let (x0, x1) = x_range(&at_rate);
    at_rate.push(Series::target("target: p99 5 ms", 5.0, x0, x1));
    Figure {
        title: "msnd: two-party switchboard chats (MSG with ack A), against a minimal relay".into(),
        panels: vec![
            Panel {
                title: "Messages relayed per second, every chat as fast as it goes".into(),
                x_label: "concurrent chats".into(),
                y_label: "messages per second".into(),
                series: throughput.series(),
                log_y: false,
            },
            Panel {
                title: "Round trip (message and its echo) at 1,000 chats and a steady rate".into(),
                x_label: "messages offered per second".into(),
                y_label: "round trip (ms)".into(),
                series: at_rate,
                log_y: true,
            },
            Panel {
                title: "Round trip when every chat goes as fast as it can (queueing)".into(),
                x_label: "concurrent chats".into(),
                y_label: "p99 round trip (ms)".into(),
                series: unthrottled.series(),
                log_y: false,
            },
        ],
    }
}

/// `plot`: reads result lines and writes one SVG per scenario found into `dir`.
pub fn plot_files(files: &[std::path::PathBuf], dir: &Path) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let mut by_scenario: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for file in files {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
        for line in text.lines().filter(|l| l.trim_start().starts_with('{')) {
            let value: Value =
                serde_json::from_str(line).with_context(|| format!("bad JSON in {}", file.display()))?;
            let scenario = value.get("scenario").and_then(Value::as_str).unwrap_or_default().to_owned();
            let group = if scenario == "relay-baseline" { "chat".to_owned() } else { scenario };
            by_scenario.entry(group).or_default().push(value);
        }
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = Vec::new();
    for (scenario, results) in by_scenario {
        let figure = match scenario.as_str() {
            "sessions" => sessions(&results),
            "logins" => logins(&results),
            "presence" => presence(&results),
            "chat" => chat(&results),
            _ => continue,
        };
        let path = dir.join(format!("{scenario}.svg"));
        write(&path, &figure)?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_data() {
        assert_eq!(ticks(9.0), (vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0], 10.0));
        assert_eq!(ticks(19_500.0).1, 20_000.0);
        assert_eq!(ticks(0.0).1, 1.0);
        assert_eq!(number(20_000.0), "20k");
        assert_eq!(number(0.25), "0.25");
        assert_eq!(number(0.1), "0.1");
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0]), 2.5);
    }

    #[test]
    fn figures_render_from_results() {
        let result = serde_json::json!({
            "scenario": "sessions", "label": "a<b",
            "series": [{"sessions": 0, "rss_kib": 10240}, {"sessions": 1000, "rss_kib": 20480}],
            "milestones": [{"sessions": 1000, "kib_per_session": 10.24}],
        });
        let figure = sessions(&[result]);
        assert_eq!(figure.panels[0].series[0].points, [(0.0, 10.0), (1000.0, 20.0)]);
        assert!(figure.panels[1].series[1].dashed, "the target line");
        let svg = render(&figure);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert!(svg.contains("a&lt;b") && svg.contains("<polyline"));
        let mut log = figure.clone();
        log.panels[1].log_y = true;
        assert!(render(&log).contains("(log scale)"));
    }
}
