//! PNG plots of a run: mean ± standard deviation over time, the final histogram (with the
//! stationary density drawn over it when the model says what it is), the distribution of
//! first-passage times, and mean-square displacements with autocorrelations.
//!
//! Text is drawn with an embedded subset of DejaVu Sans (`assets/`, Bitstream Vera licence),
//! so the plots look the same on a headless machine without any installed fonts.

use anyhow::{anyhow, Result};
use langevin::{EnsembleResult, EnsembleSpec};
use plotters::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::Once;

static FONT: &[u8] = include_bytes!("../assets/DejaVuSans-subset.ttf");
pub(crate) const FAMILY: &str = "sans-serif";
pub(crate) const WIDTH: u32 = 900;
pub(crate) const PANEL_HEIGHT: u32 = 320;
const BAND: RGBColor = RGBColor(70, 120, 200);
const CURVE: RGBColor = RGBColor(200, 60, 40);

pub(crate) fn register_font() -> Result<()> {
    static ONCE: Once = Once::new();
    let mut result = Ok(());
    ONCE.call_once(|| {
        result = plotters::style::register_font(FAMILY, FontStyle::Normal, FONT)
            .map_err(|_| anyhow!("the embedded plot font cannot be read"));
    });
    result
}

pub(crate) fn plot_error(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("cannot draw a plot: {e}")
}

/// Draws into `dir/name` through a temporary file that is renamed when complete (the image
/// encoder picks the format from the extension, so the temporary name ends in `.png` too:
/// `name.tmp-<pid>.png`, unique to this process); on failure the temporary file is removed.
pub(crate) fn draw_png(
    dir: &Path,
    name: &str,
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>) -> Result<()>,
) -> Result<PathBuf> {
    let path = dir.join(name);
    let stem = name.strip_suffix(".png").unwrap_or(name);
    let tmp = dir.join(format!("{stem}.tmp-{}.png", std::process::id()));
    let drawn = (|| -> Result<()> {
        let root = BitMapBackend::new(&tmp, size).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        draw(&root)?;
        root.present().map_err(plot_error)
    })();
    if let Err(e) = drawn {
        // The backend may still write the file when it is dropped after an error.
        let _ = std::fs::remove_file(&tmp);
        return Err(e.context(format!("cannot write {}", path.display())));
    }
    std::fs::rename(&tmp, &path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        anyhow!("cannot rename {} to {}: {e}", tmp.display(), path.display())
    })?;
    Ok(path)
}

/// A chart with f64 axes on a bitmap.
pub(crate) type Chart<'a, 'b> = ChartContext<
    'a,
    BitMapBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// A chart of bars and curves over `x` by `[0, 1.08 top]`, with its caption and axis labels.
pub(crate) fn bar_chart<'a, 'b>(
    root: &'a DrawingArea<BitMapBackend<'b>, plotters::coord::Shift>,
    caption: String,
    x: (f64, f64),
    top: f64,
    x_desc: &str,
    y_desc: &str,
) -> Result<Chart<'a, 'b>> {
    let mut chart = ChartBuilder::on(root)
        .caption(caption, (FAMILY, 17))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d(x.0..x.1, 0.0..(1.08 * top).max(1e-12))
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .x_label_formatter(&crate::plots::tick)
        .y_label_formatter(&crate::plots::tick)
        .x_desc(x_desc)
        .y_desc(y_desc)
        .label_style((FAMILY, 13))
        .draw()
        .map_err(plot_error)?;
    Ok(chart)
}

/// The legend of a chart's labelled series, on a translucent white box.
pub(crate) fn draw_legend<'a, 'b: 'a, X, Y>(
    chart: &mut ChartContext<'a, BitMapBackend<'b>, Cartesian2d<X, Y>>,
    position: SeriesLabelPosition,
) -> Result<()>
where
    X: plotters::coord::ranged1d::Ranged,
    Y: plotters::coord::ranged1d::Ranged,
{
    chart
        .configure_series_labels()
        .position(position)
        .label_font((FAMILY, 13))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(plot_error)
}

/// Bars `[edges[j], edges[j + 1])` of height `heights[j]`.
fn bars<'a>(
    edges: &'a [f64],
    heights: &'a [f64],
) -> impl Iterator<Item = Rectangle<(f64, f64)>> + 'a {
    heights.iter().enumerate().map(move |(j, &d)| {
        Rectangle::new(
            [(edges[j], 0.0), (edges[j + 1], d)],
            BAND.mix(0.45).filled(),
        )
    })
}

/// A range that contains every finite value, padded by 5%, never empty.
pub(crate) fn padded_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        return (-1.0, 1.0);
    }
    let pad = if hi > lo {
        0.05 * (hi - lo)
    } else {
        0.1 * lo.abs().max(1.0)
    };
    (lo - pad, hi + pad)
}

/// Writes `moments.png`, and `histogram.png` and `first_passage.png` when the run recorded
/// them; returns the paths written.
pub fn write_all(dir: &Path, spec: &EnsembleSpec, r: &EnsembleResult) -> Result<Vec<PathBuf>> {
    register_font()?;
    // Populations cannot go below zero: their band is clipped there, and says so.
    let floor = spec.model.reactions().is_some().then_some(0.0);
    let mut written = vec![moments(dir, r, floor)?];
    if r.histogram.is_some() {
        written.push(histogram(dir, spec, r)?);
    }
    if let Some(fp) = &r.first_passage {
        if fp.hit > 0 {
            written.push(first_passage(dir, spec, r)?);
        }
    }
    if r.displacement.is_some() {
        written.push(displacement(dir, r)?);
    }
    if r.paths.is_some() {
        written.push(paths(dir, r)?);
    }
    if !r.histograms.is_empty() {
        written.push(histograms(dir, r)?);
    }
    if r.histogram2d.is_some() {
        written.push(histogram2d(dir, r)?);
    }
    Ok(written)
}

/// A tick label as plotters writes an f64 one, without the sign of a zero (a key point computed
/// as `-1e-17` or `-0.0` would read `-0.0`).
pub(crate) fn tick(v: &f64) -> String {
    let text = plotters::data::float::FloatPrettyPrinter {
        allow_scientific: false,
        min_decimal: 1,
        max_decimal: 5,
    }
    .print(*v);
    match text.strip_prefix('-') {
        Some(magnitude) if magnitude.chars().all(|c| c == '0' || c == '.') => magnitude.to_string(),
        _ => text,
    }
}

/// A panel of values over time with its caption and mesh.
pub(crate) fn time_axes<'a, 'b>(
    area: &'a DrawingArea<BitMapBackend<'b>, plotters::coord::Shift>,
    caption: String,
    t: (f64, f64),
    y: (f64, f64),
) -> Result<Chart<'a, 'b>> {
    let mut chart = ChartBuilder::on(area)
        .caption(caption, (FAMILY, 16))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d(t.0..t.1, y.0..y.1)
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .x_label_formatter(&crate::plots::tick)
        .y_label_formatter(&crate::plots::tick)
        .x_desc("t")
        .label_style((FAMILY, 13))
        .draw()
        .map_err(plot_error)?;
    Ok(chart)
}

/// Colours of the methods of `comparison.png`, in order (the run first).
pub(crate) const METHODS: [RGBColor; 5] = [
    RGBColor(20, 20, 20),
    CURVE,
    BAND,
    RGBColor(40, 150, 60),
    RGBColor(150, 80, 170),
];

/// One row per state variable: its mean-square displacement and its autocorrelation with the
/// initial state over the save times.
fn displacement(dir: &Path, r: &EnsembleResult) -> Result<PathBuf> {
    let dim = r.state_names.len();
    let size = (WIDTH, PANEL_HEIGHT * dim as u32);
    draw_png(dir, "displacement.png", size, |root| {
        let rows = root.split_evenly((dim, 2));
        for (i, name) in r.state_names.iter().enumerate() {
            let msd: Vec<(f64, f64)> = (0..r.times.len())
                .filter_map(|k| Some((r.times[k], r.msd(k, i)?)))
                .collect();
            let acf: Vec<(f64, f64)> = (0..r.times.len())
                .filter_map(|k| Some((r.times[k], r.autocorrelation(k, i)?.0)))
                .collect();
            let panels = [
                (
                    &rows[2 * i],
                    format!("{name}: mean-square displacement"),
                    msd,
                ),
                (
                    &rows[2 * i + 1],
                    format!("{name}: <{name}(0) {name}(t)>"),
                    acf,
                ),
            ];
            for (area, caption, points) in panels {
                let points: Vec<(f64, f64)> =
                    points.into_iter().filter(|(_, v)| v.is_finite()).collect();
                let (t0, t1) = padded_range(points.iter().map(|p| p.0));
                let (y0, y1) = padded_range(points.iter().map(|p| p.1));
                let mut chart = time_axes(area, caption, (t0, t1), (y0, y1))?;
                chart
                    .draw_series(LineSeries::new(
                        points.iter().copied(),
                        BAND.stroke_width(2),
                    ))
                    .map_err(plot_error)?;
                chart
                    .draw_series(points.iter().map(|&p| Circle::new(p, 3, BAND.filled())))
                    .map_err(plot_error)?;
            }
        }
        Ok(())
    })
}

/// The paths drawn: one panel per state variable, at most [`DRAWN_PATHS`] trajectories
/// (the first ones kept), each a line through its saved states.
fn paths(dir: &Path, r: &EnsembleResult) -> Result<PathBuf> {
    let p = r.paths.as_ref().expect("called with paths");
    let dim = r.state_names.len();
    let rows = p.times.len();
    let drawn = (p.trajectories as usize).min(DRAWN_PATHS);
    let size = (WIDTH, PANEL_HEIGHT * dim as u32);
    draw_png(dir, "paths.png", size, |root| {
        let panels = root.split_evenly((dim, 1));
        let (t0, t1) = padded_range(p.times.iter().copied());
        for (i, (area, name)) in panels.iter().zip(&r.state_names).enumerate() {
            let line = |j: usize| -> Vec<(f64, f64)> {
                (0..rows)
                    .map(|k| (p.times[k], f64::from(p.states[(j * rows + k) * dim + i])))
                    .filter(|(_, v)| v.is_finite())
                    .collect()
            };
            let (y0, y1) = padded_range((0..drawn).flat_map(|j| line(j).into_iter().map(|q| q.1)));
            let caption = if drawn == 1 {
                format!("{name}: the path of trajectory 0")
            } else {
                format!("{name}: the paths of trajectories 0 to {}", drawn - 1)
            };
            let mut chart = time_axes(area, caption, (t0, t1), (y0, y1))?;
            for j in 0..drawn {
                let colour = Palette99::pick(j).mix(0.9);
                chart
                    .draw_series(LineSeries::new(line(j), colour.stroke_width(1)))
                    .map_err(plot_error)?;
            }
        }
        Ok(())
    })
}

/// A histogram's values in its range, and its density there per bin.
fn density(h: &langevin::Histogram) -> (u64, Vec<f64>) {
    let in_range: u64 = h.counts.iter().sum();
    let width = (h.hi - h.lo) / h.counts.len() as f64;
    let density = h
        .counts
        .iter()
        .map(|&c| c as f64 / (in_range.max(1) as f64 * width))
        .collect();
    (in_range, density)
}

/// The host's histograms, a panel each, as densities on their ranges.
fn histograms(dir: &Path, r: &EnsembleResult) -> Result<PathBuf> {
    let size = (WIDTH, PANEL_HEIGHT * r.histograms.len() as u32);
    draw_png(dir, "histograms.png", size, |root| {
        let panels = root.split_evenly((r.histograms.len(), 1));
        for (area, h) in panels.iter().zip(&r.histograms) {
            let name = crate::observed::observed_name(r, h.component);
            let (in_range, density) = density(h);
            let top = density.iter().copied().fold(0.0, f64::max);
            let caption = format!(
                "{name} at the end: {in_range} of {} trajectories in [{}, {})",
                r.trajectories, h.lo, h.hi
            );
            let mut chart = bar_chart(area, caption, (h.lo, h.hi), top, name, "density")?;
            chart
                .draw_series(bars(&h.edges(), &density))
                .map_err(plot_error)?;
        }
        Ok(())
    })
}

/// The 2-D histogram as a heat map of the density on its rectangle, with a colour bar.
fn histogram2d(dir: &Path, r: &EnsembleResult) -> Result<PathBuf> {
    let h = r.histogram2d.as_ref().expect("called with a 2-D histogram");
    let s = &h.spec;
    let [a, b] = s.components.map(|c| crate::observed::observed_name(r, c));
    let [(x0, x1), (y0, y1)] = s.range;
    let (nx, ny) = (s.bins[0] as usize, s.bins[1] as usize);
    let (dx, dy) = ((x1 - x0) / nx as f64, (y1 - y0) / ny as f64);
    let inside: u64 = h.counts.iter().sum();
    let density = |c: u64| c as f64 / (inside.max(1) as f64 * dx * dy);
    let top = h.counts.iter().map(|&c| density(c)).fold(0.0, f64::max);
    let side = 2 * PANEL_HEIGHT;
    draw_png(dir, "histogram2d.png", (side + BAR_WIDTH, side), |whole| {
        let (root, bar) = whole.split_horizontally(side);
        colour_bar(&bar, 0.0, top.max(1e-300), sequential)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!(
                    "{a} and {b} at the end: {inside} of {} trajectories",
                    r.trajectories
                ),
                (FAMILY, 16),
            )
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(plot_error)?;
        chart
            .configure_mesh()
            .x_label_formatter(&crate::plots::tick)
            .y_label_formatter(&crate::plots::tick)
            .disable_mesh()
            .x_desc(a)
            .y_desc(b)
            .label_style((FAMILY, 13))
            .draw()
            .map_err(plot_error)?;
        chart
            .draw_series((0..nx).flat_map(|i| {
                (0..ny).map(move |j| {
                    let (xa, ya) = (x0 + i as f64 * dx, y0 + j as f64 * dy);
                    let colour = sequential(density(h.counts[i * ny + j]), 0.0, top);
                    Rectangle::new([(xa, ya), (xa + dx, ya + dy)], colour.filled())
                })
            }))
            .map_err(plot_error)?;
        Ok(())
    })
}

/// The most paths `paths.png` draws.
const DRAWN_PATHS: usize = 8;

/// One panel per state variable: the ensemble mean over the save times with a band of ± one
/// standard deviation, clipped at `floor` where the quantity has that lower bound (a band
/// below it would show values no trajectory can take); the caption says where it clipped.
fn moments(dir: &Path, r: &EnsembleResult, floor: Option<f64>) -> Result<PathBuf> {
    let series = crate::observed::observed_series(r);
    let dim = r.state_names.len();
    let size = (WIDTH, PANEL_HEIGHT * series.len() as u32);
    draw_png(dir, "moments.png", size, |root| {
        let (t0, t1) = padded_range(r.times.iter().copied());
        let panels = root.split_evenly((series.len(), 1));
        for (i, (area, (name, moments))) in panels.iter().zip(&series).enumerate() {
            // The floor bounds the state (populations), not the observables.
            let floor = floor.filter(|_| i < dim);
            let mean: Vec<(f64, f64)> = r
                .times
                .iter()
                .zip(moments)
                .map(|(&t, m)| (t, m.mean_or_nan()))
                .filter(|(_, m)| m.is_finite())
                .collect();
            let std: Vec<f64> = moments
                .iter()
                .filter(|m| m.mean_or_nan().is_finite())
                .map(|m| {
                    let v = m.variance();
                    if v.is_finite() {
                        v.sqrt()
                    } else {
                        0.0
                    }
                })
                .collect();
            let low = |m: f64, s: f64| floor.map_or(m - s, |f| (m - s).max(f));
            // With quantiles, the band runs between the lowest and highest level asked for:
            // values trajectories took, so nothing to cut.
            let quantile_band = r.quantiles.as_ref().and_then(|q| {
                let lo =
                    (0..q.levels.len()).min_by(|&a, &b| q.levels[a].total_cmp(&q.levels[b]))?;
                let hi =
                    (0..q.levels.len()).max_by(|&a, &b| q.levels[a].total_cmp(&q.levels[b]))?;
                (q.levels[lo] < q.levels[hi])
                    .then(|| (&q.values[i], lo, hi, q.levels[lo], q.levels[hi]))
            });
            let band_of: Vec<(f64, f64, f64)> = match quantile_band {
                Some((values, lo, hi, _, _)) => r
                    .times
                    .iter()
                    .zip(values)
                    .map(|(&t, q)| (t, q[lo], q[hi]))
                    .filter(|(_, a, b)| a.is_finite() && b.is_finite())
                    .collect(),
                None => mean
                    .iter()
                    .zip(&std)
                    .map(|(&(t, m), s)| (t, low(m, *s), m + s))
                    .collect(),
            };
            let clipped = floor
                .filter(|_| quantile_band.is_none())
                .filter(|&f| mean.iter().zip(&std).any(|(&(_, m), s)| m - s < f));
            let (y0, y1) = padded_range(
                band_of
                    .iter()
                    .flat_map(|&(_, a, b)| [a, b])
                    .chain(mean.iter().map(|&(_, m)| m)),
            );
            let (what, legend) = match quantile_band {
                Some((_, _, _, a, b)) => (
                    format!("ensemble mean and the {a} to {b} quantiles"),
                    format!("{a} to {b} quantiles"),
                ),
                None => (
                    "ensemble mean ± standard deviation".to_string(),
                    "± std".to_string(),
                ),
            };
            let caption = match clipped {
                Some(f) => format!("{name}: {what} (band cut at {f})"),
                None => format!("{name}: {what}"),
            };
            let mut chart = ChartBuilder::on(area)
                .caption(caption, (FAMILY, 18))
                .margin(12)
                .x_label_area_size(36)
                .y_label_area_size(64)
                .build_cartesian_2d(t0..t1, y0..y1)
                .map_err(plot_error)?;
            chart
                .configure_mesh()
                .x_label_formatter(&crate::plots::tick)
                .y_label_formatter(&crate::plots::tick)
                .x_desc("t")
                .y_desc(*name)
                .label_style((FAMILY, 13))
                .draw()
                .map_err(plot_error)?;
            let mut band: Vec<(f64, f64)> = band_of.iter().map(|&(t, _, b)| (t, b)).collect();
            band.extend(band_of.iter().rev().map(|&(t, a, _)| (t, a)));
            chart
                .draw_series(std::iter::once(Polygon::new(band, BAND.mix(0.25).filled())))
                .map_err(plot_error)?
                .label(legend)
                .legend(|(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 18, y + 5)], BAND.mix(0.25).filled())
                });
            chart
                .draw_series(LineSeries::new(mean.iter().copied(), BAND.stroke_width(2)))
                .map_err(plot_error)?
                .label("mean")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BAND.stroke_width(2)));
            draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        }
        Ok(())
    })
}

/// The histogram at the final time as a density on its range; over it, the stationary density
/// of the component when it is a one-dimensional gradient flow with constant noise.
fn histogram(dir: &Path, spec: &EnsembleSpec, r: &EnsembleResult) -> Result<PathBuf> {
    let h = r.histogram.as_ref().expect("called with a histogram");
    let name = crate::observed::observed_name(r, h.component);
    let edges = h.edges();
    let (in_range, density) = density(h);
    let flow = spec.model.scalar_flow(h.component);
    let curve = flow
        .as_ref()
        .and_then(|f| f.density(h.lo, h.hi, 8 * h.counts.len() + 1));
    draw_png(dir, "histogram.png", (WIDTH, 560), |root| {
        let top = density
            .iter()
            .chain(curve.iter().flatten().map(|(_, p)| p))
            .copied()
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max);
        let t_end = r.times.last().copied().unwrap_or(0.0);
        let caption = format!(
            "{name} at t = {t_end}: {in_range} of {} trajectories in [{}, {})",
            r.trajectories, h.lo, h.hi
        );
        let mut chart = bar_chart(
            root,
            caption,
            (h.lo, h.hi),
            top,
            name,
            "density on the range",
        )?;
        chart
            .draw_series(bars(&edges, &density))
            .map_err(plot_error)?
            .label("ensemble")
            .legend(|(x, y)| {
                Rectangle::new([(x, y - 5), (x + 18, y + 5)], BAND.mix(0.45).filled())
            });
        if let Some(curve) = &curve {
            chart
                .draw_series(LineSeries::new(
                    curve.iter().copied(),
                    CURVE.stroke_width(2),
                ))
                .map_err(plot_error)?
                .label("stationary density ∝ exp(2∫f dx / g²), on the range")
                .legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], CURVE.stroke_width(2))
                });
        }
        draw_legend(&mut chart, SeriesLabelPosition::MiddleRight)?;
        Ok(())
    })
}

/// The first-passage times as a density over all trajectories, so that its integral is the
/// fraction that passed before the end of the run.
fn first_passage(dir: &Path, spec: &EnsembleSpec, r: &EnsembleResult) -> Result<PathBuf> {
    let fp = r
        .first_passage
        .as_ref()
        .expect("called with first passages");
    let name = &r.state_names[fp.component];
    let (t0, t1) = (spec.t0, r.times.last().copied().unwrap_or(spec.t0));
    let bins = 60usize;
    let width = ((t1 - t0) / bins as f64).max(f64::MIN_POSITIVE);
    let mut counts = vec![0u64; bins];
    for &t in &fp.times {
        let j = ((f64::from(t) - t0) / width).floor();
        counts[(j.max(0.0) as usize).min(bins - 1)] += 1;
    }
    let density: Vec<f64> = counts
        .iter()
        .map(|&c| c as f64 / (r.trajectories as f64 * width))
        .collect();
    draw_png(dir, "first_passage.png", (WIDTH, 560), |root| {
        let top = density.iter().copied().fold(0.0, f64::max);
        let caption = format!(
            "first passage of {name} {} {}: {} of {} trajectories, mean {:.4}, median {:.4}",
            match fp.direction {
                langevin::Direction::Up => "up to",
                langevin::Direction::Down => "down to",
            },
            fp.level,
            fp.hit,
            r.trajectories,
            fp.mean(),
            fp.median()
        );
        let mut chart = bar_chart(
            root,
            caption,
            (t0, t1),
            top,
            "t",
            "density (all trajectories)",
        )?;
        let edges: Vec<f64> = (0..=bins).map(|j| t0 + j as f64 * width).collect();
        chart
            .draw_series(bars(&edges, &density))
            .map_err(plot_error)?;
        Ok(())
    })
}

/// A colour for a value in [lo, hi]: blue through white to red.
pub(crate) fn diverging(v: f64, lo: f64, hi: f64) -> RGBColor {
    let s = if hi > lo {
        ((v - lo) / (hi - lo)).clamp(0.0, 1.0)
    } else {
        0.5
    };
    let (r, g, b) = if s < 0.5 {
        let u = s * 2.0;
        (40.0 + 215.0 * u, 80.0 + 175.0 * u, 200.0 + 55.0 * u)
    } else {
        let u = (s - 0.5) * 2.0;
        (255.0, 255.0 - 195.0 * u, 255.0 - 215.0 * u)
    };
    RGBColor(r as u8, g as u8, b as u8)
}

/// Pixels of the colour bar beside a map, with its value axis.
pub(crate) const BAR_WIDTH: u32 = 100;

/// A colour for a value in [lo, hi] from white to deep blue, for counts and densities.
pub(crate) fn sequential(v: f64, lo: f64, hi: f64) -> RGBColor {
    let s = if hi > lo {
        ((v - lo) / (hi - lo)).clamp(0.0, 1.0)
    } else {
        0.0
    };
    RGBColor(
        (255.0 - 225.0 * s) as u8,
        (255.0 - 185.0 * s) as u8,
        (255.0 - 105.0 * s) as u8,
    )
}

/// A vertical bar of `colour` over `[lo, hi]` with its value axis, so that a map's colours
/// read as values.
pub(crate) fn colour_bar(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    lo: f64,
    hi: f64,
    colour: fn(f64, f64, f64) -> RGBColor,
) -> Result<()> {
    let mut bar = ChartBuilder::on(area)
        .margin(12)
        .margin_top(40)
        .x_label_area_size(36)
        .right_y_label_area_size(56)
        .build_cartesian_2d(0.0..1.0, lo..hi)
        .map_err(plot_error)?;
    bar.configure_mesh()
        .y_label_formatter(&crate::plots::tick)
        .disable_mesh()
        .disable_x_axis()
        .label_style((FAMILY, 12))
        .draw()
        .map_err(plot_error)?;
    const SHADES: usize = 128;
    let at = |k: usize| lo + (hi - lo) * k as f64 / SHADES as f64;
    bar.draw_series((0..SHADES).map(|k| {
        let colour = colour((at(k) + at(k + 1)) / 2.0, lo, hi);
        Rectangle::new([(0.0, at(k)), (1.0, at(k + 1))], colour.filled())
    }))
    .map_err(plot_error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A zero reads as zero whatever its sign or rounding; other values keep theirs.
    #[test]
    fn ticks_drop_the_sign_of_zero() {
        assert_eq!(tick(&-0.0), tick(&0.0));
        assert_eq!(tick(&-1e-17), tick(&0.0));
        assert!(!tick(&-0.0).starts_with('-'));
        assert_eq!(tick(&-0.5), "-0.5");
        assert_eq!(tick(&2.25), "2.25");
    }
}
