// The report's SVG plotter (svg_plot.hpp).
//
// Layout: a title line, the plot area with a left margin for the y tick labels and the rotated
// y-axis title, a bottom margin for the x tick labels and the x-axis title, then the legend below
// the plot, one entry per row, so long series names (file paths) never overlap the data.
//
// Scales: linear axes pick a "nice" step (1, 2 or 5 x 10^k) for about six ticks and widen the
// data range to whole steps; log axes widen it to whole decades and tick every decade, adding
// 2 and 5 when the range spans two decades or less so a short axis still has several labels.
// A fixed min/max replaces the widening at that end. Points outside a log axis's domain (<= 0)
// and non-finite points are skipped rather than clamped, so the plot never shows a value the
// data does not have.
//
// Colours are the Okabe-Ito palette (distinguishable with the common colour-vision
// deficiencies); markers also change shape per series, so the plot survives grey-scale
// printing. Every marker carries an SVG <title> with its values: browsers show it on hover
// without any script.
//
// No ids are emitted (several plots share one HTML page, and ids would collide), hence no
// clip paths: nothing is drawn outside the data's own widened range.

#include "harness/svg_plot.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace semcache::detail {
namespace {

constexpr const char* kPalette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"};
constexpr int kPaletteSize = static_cast<int>(sizeof(kPalette) / sizeof(kPalette[0]));
constexpr int kLeft = 78, kRight = 24, kTop = 34, kBottom = 54, kLegendRow = 18;

struct Domain {
  double low = 0;
  double high = 1;
  std::vector<double> ticks;
};

bool usable(double v, AxisScale scale) { return std::isfinite(v) && (scale == AxisScale::kLinear || v > 0); }

Domain make_domain(double low, double high, const PlotAxis& axis) {
  Domain d;
  if (!(low <= high)) {  // no data
    low = axis.scale == AxisScale::kLog ? 1 : 0;
    high = axis.scale == AxisScale::kLog ? 10 : 1;
  }
  if (axis.min) low = *axis.min;
  if (axis.max) high = *axis.max;
  if (axis.scale == AxisScale::kLog) {
    double lo_exp = std::floor(std::log10(low));
    double hi_exp = std::ceil(std::log10(high));
    if (hi_exp <= lo_exp) hi_exp = lo_exp + 1;
    d.low = axis.min ? low : std::pow(10.0, lo_exp);
    d.high = axis.max ? high : std::pow(10.0, hi_exp);
    const int decades = static_cast<int>(hi_exp - lo_exp);
    const int every = decades > 8 ? 2 : 1;
    for (double e = lo_exp; e <= hi_exp; e += 1) {
      const double decade = std::pow(10.0, e);
      const bool major = static_cast<int>(e - lo_exp) % every == 0;
      for (double m : {1.0, 2.0, 5.0}) {
        if (m != 1.0 && decades > 2) continue;
        if (m == 1.0 && !major) continue;
        const double t = m * decade;
        if (t >= d.low * (1 - 1e-9) && t <= d.high * (1 + 1e-9)) d.ticks.push_back(t);
      }
    }
    return d;
  }
  if (high - low < 1e-12 * std::max(1.0, std::abs(high))) {
    const double pad = low == 0 ? 1 : std::abs(low) * 0.1;
    low -= pad;
    high += pad;
  }
  const double raw = (high - low) / 6;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * magnitude;
    if (step >= raw) break;
  }
  d.low = axis.min ? low : std::floor(low / step + 1e-9) * step;
  d.high = axis.max ? high : std::ceil(high / step - 1e-9) * step;
  for (double t = std::ceil(d.low / step - 1e-9) * step; t <= d.high + step * 1e-9; t += step) {
    d.ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
  }
  return d;
}

// 12000 -> "12k", 2500000 -> "2.5M", 0.05 -> "0.05"; percent: 0.25 -> "25%".
std::string tick_text(double v, bool percent) {
  if (percent) return fmt::format("{:g}%", std::round(v * 100 * 1e6) / 1e6);
  const double a = std::abs(v);
  if (a >= 1e9) return fmt::format("{:g}G", v / 1e9);
  if (a >= 1e6) return fmt::format("{:g}M", v / 1e6);
  if (a >= 1e4) return fmt::format("{:g}k", v / 1e3);
  return fmt::format("{:g}", std::round(v * 1e9) / 1e9);
}

// A value for a marker's tooltip: 4 significant digits.
std::string value_text(double v, bool percent) {
  return percent ? fmt::format("{:.4g}%", v * 100) : fmt::format("{:.4g}", v);
}

class Mapper {
 public:
  Mapper(const Domain& d, AxisScale scale, double from, double to) : d_(d), scale_(scale), from_(from), to_(to) {}
  double operator()(double v) const {
    const double t = scale_ == AxisScale::kLog ? (std::log10(v) - std::log10(d_.low)) / (std::log10(d_.high) - std::log10(d_.low))
                                               : (v - d_.low) / (d_.high - d_.low);
    return from_ + t * (to_ - from_);
  }

 private:
  Domain d_;
  AxisScale scale_;
  double from_, to_;
};

// A marker of shape `shape` centred at (x, y).
std::string marker(int shape, double x, double y, const char* color) {
  switch (shape % 4) {
    case 0: return fmt::format(R"(<circle cx="{:.1f}" cy="{:.1f}" r="3.8" fill="{}"/>)", x, y, color);
    case 1: return fmt::format(R"(<rect x="{:.1f}" y="{:.1f}" width="7" height="7" fill="{}"/>)", x - 3.5, y - 3.5, color);
    case 2:
      return fmt::format(R"(<path d="M{:.1f} {:.1f}L{:.1f} {:.1f}L{:.1f} {:.1f}Z" fill="{}"/>)", x, y - 4.5, x + 4.5, y + 3.5,
                         x - 4.5, y + 3.5, color);
    default:
      return fmt::format(R"(<path d="M{:.1f} {:.1f}L{:.1f} {:.1f}L{:.1f} {:.1f}L{:.1f} {:.1f}Z" fill="{}"/>)", x, y - 4.5,
                         x + 4.5, y, x, y + 4.5, x - 4.5, y, color);
  }
}

}  // namespace

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string render_svg(const Plot& plot) {
  // The data's range on each axis (error bars included).
  double x_low = std::numeric_limits<double>::infinity(), x_high = -x_low, y_low = x_low, y_high = -x_low;
  for (const PlotSeries& s : plot.series) {
    for (const PlotPoint& p : s.points) {
      if (!usable(p.x, plot.x.scale) || !usable(p.y, plot.y.scale)) continue;
      x_low = std::min(x_low, p.x);
      x_high = std::max(x_high, p.x);
      for (const std::optional<double>& y : {std::optional<double>(p.y), p.y_low, p.y_high}) {
        if (y && usable(*y, plot.y.scale)) {
          y_low = std::min(y_low, *y);
          y_high = std::max(y_high, *y);
        }
      }
    }
  }
  for (const PlotMarkerLine& m : plot.x_markers) {
    if (usable(m.x, plot.x.scale)) {
      x_low = std::min(x_low, m.x);
      x_high = std::max(x_high, m.x);
    }
  }
  const Domain xd = make_domain(x_low, x_high, plot.x);
  const Domain yd = make_domain(y_low, y_high, plot.y);
  const double left = kLeft, right = plot.width - kRight, top = kTop, bottom = plot.height - kBottom;
  const Mapper mx(xd, plot.x.scale, left, right);
  const Mapper my(yd, plot.y.scale, bottom, top);
  const int legend_height = static_cast<int>(plot.series.size()) * kLegendRow + (plot.series.empty() ? 0 : 10);
  const int total_height = plot.height + legend_height;

  std::string out = fmt::format(
      R"(<svg xmlns="http://www.w3.org/2000/svg" class="plot" width="{0}" height="{1}" viewBox="0 0 {0} {1}" role="img" )"
      R"(aria-label="{2}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">)"
      "\n<title>{2}</title>\n"
      R"(<rect width="{0}" height="{1}" fill="#ffffff"/>)"
      "\n",
      plot.width, total_height, xml_escape(plot.title));
  out += fmt::format(R"(<text class="plot-title" x="{:.1f}" y="20" text-anchor="middle" font-size="14" font-weight="bold">{}</text>)"
                     "\n",
                     plot.width / 2.0, xml_escape(plot.title));

  // Grid and ticks.
  out += "<g class=\"grid\" stroke=\"#e3e3e3\" stroke-width=\"1\">\n";
  for (double t : xd.ticks) out += fmt::format(R"(<line x1="{0:.1f}" y1="{1:.1f}" x2="{0:.1f}" y2="{2:.1f}"/>)" "\n", mx(t), top, bottom);
  for (double t : yd.ticks) out += fmt::format(R"(<line x1="{1:.1f}" y1="{0:.1f}" x2="{2:.1f}" y2="{0:.1f}"/>)" "\n", my(t), left, right);
  out += "</g>\n";
  out += fmt::format(R"(<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="none" stroke="#555555"/>)" "\n", left,
                     top, right - left, bottom - top);
  out += "<g class=\"x-ticks\" fill=\"#333333\" text-anchor=\"middle\">\n";
  for (double t : xd.ticks) {
    out += fmt::format(R"(<line x1="{0:.1f}" y1="{1:.1f}" x2="{0:.1f}" y2="{2:.1f}" stroke="#555555"/>)", mx(t), bottom, bottom + 5);
    out += fmt::format(R"(<text x="{:.1f}" y="{:.1f}">{}</text>)" "\n", mx(t), bottom + 18, xml_escape(tick_text(t, plot.x.percent)));
  }
  out += "</g>\n<g class=\"y-ticks\" fill=\"#333333\" text-anchor=\"end\">\n";
  for (double t : yd.ticks) {
    out += fmt::format(R"(<line x1="{1:.1f}" y1="{0:.1f}" x2="{2:.1f}" y2="{0:.1f}" stroke="#555555"/>)", my(t), left - 5, left);
    out += fmt::format(R"(<text x="{:.1f}" y="{:.1f}">{}</text>)" "\n", left - 8, my(t) + 4, xml_escape(tick_text(t, plot.y.percent)));
  }
  out += "</g>\n";
  out += fmt::format(R"(<text class="axis-label x-axis-label" x="{:.1f}" y="{:.1f}" text-anchor="middle" font-size="13">{}</text>)" "\n",
                     (left + right) / 2, bottom + 40, xml_escape(plot.x.label));
  out += fmt::format(
      R"svg(<text class="axis-label y-axis-label" x="{0:.1f}" y="{1:.1f}" text-anchor="middle" font-size="13" transform="rotate(-90 {0:.1f} {1:.1f})">{2}</text>)svg" "\n",
      18.0, (top + bottom) / 2, xml_escape(plot.y.label));

  // Vertical marker lines (a chosen threshold).
  for (const PlotMarkerLine& m : plot.x_markers) {
    if (!usable(m.x, plot.x.scale)) continue;
    out += fmt::format(R"(<line class="marker-line" x1="{0:.1f}" y1="{1:.1f}" x2="{0:.1f}" y2="{2:.1f}" stroke="#777777" stroke-dasharray="2 3"/>)",
                       mx(m.x), top, bottom);
    out += fmt::format(R"(<text x="{:.1f}" y="{:.1f}" font-size="11" fill="#555555">{}</text>)" "\n", mx(m.x) + 4, top + 14,
                       xml_escape(m.label));
  }

  // Series: error bars, then the line, then markers and their labels on top.
  for (std::size_t i = 0; i < plot.series.size(); ++i) {
    const PlotSeries& s = plot.series[i];
    const int index = s.color >= 0 ? s.color : static_cast<int>(i);
    const char* color = kPalette[index % kPaletteSize];
    out += fmt::format("<g class=\"series\" data-name=\"{}\">\n", xml_escape(s.name));
    std::string polyline;
    for (const PlotPoint& p : s.points) {
      if (!usable(p.x, plot.x.scale) || !usable(p.y, plot.y.scale)) continue;
      const double px = mx(p.x), py = my(p.y);
      polyline += fmt::format("{}{:.1f},{:.1f}", polyline.empty() ? "" : " ", px, py);
      if (p.y_low && p.y_high && usable(*p.y_low, plot.y.scale) && usable(*p.y_high, plot.y.scale)) {
        const double lo = my(*p.y_low), hi = my(*p.y_high);
        out += fmt::format(
            R"(<path class="error-bar" d="M{0:.1f} {1:.1f}V{2:.1f}M{3:.1f} {1:.1f}H{4:.1f}M{3:.1f} {2:.1f}H{4:.1f}" stroke="{5}" fill="none"/>)" "\n",
            px, lo, hi, px - 4, px + 4, color);
      }
    }
    if (s.line && !polyline.empty()) {
      out += fmt::format(R"(<polyline points="{}" fill="none" stroke="{}" stroke-width="2"{}/>)" "\n", polyline, color,
                         s.dashed ? R"( stroke-dasharray="6 4")" : "");
    }
    for (const PlotPoint& p : s.points) {
      if (!usable(p.x, plot.x.scale) || !usable(p.y, plot.y.scale)) continue;
      const double px = mx(p.x), py = my(p.y);
      std::string tip = fmt::format("{}: {} = {}, {} = {}", s.name, plot.x.label, value_text(p.x, plot.x.percent), plot.y.label,
                                    value_text(p.y, plot.y.percent));
      if (p.y_low && p.y_high) tip += fmt::format(" [{}, {}]", value_text(*p.y_low, plot.y.percent), value_text(*p.y_high, plot.y.percent));
      if (!p.label.empty()) tip += " (" + p.label + ")";
      if (s.markers) {
        out += fmt::format("<g><title>{}</title>{}</g>\n", xml_escape(tip), marker(index, px, py, color));
      }
      if (!p.label.empty()) {
        // Beside the marker, on its left near the right edge so the label stays inside the plot.
        const bool flip = px > right - 8.0 * static_cast<double>(p.label.size());
        out += fmt::format(R"(<text x="{:.1f}" y="{:.1f}" font-size="10" fill="#333333"{}>{}</text>)" "\n", flip ? px - 6 : px + 6,
                           py - 6, flip ? R"( text-anchor="end")" : "", xml_escape(p.label));
      }
    }
    out += "</g>\n";
  }

  // Legend, one row per series below the plot.
  out += "<g class=\"legend\">\n";
  for (std::size_t i = 0; i < plot.series.size(); ++i) {
    const PlotSeries& s = plot.series[i];
    const int index = s.color >= 0 ? s.color : static_cast<int>(i);
    const char* color = kPalette[index % kPaletteSize];
    const double y = plot.height + static_cast<double>(i) * kLegendRow + 4;
    if (s.line) {
      out += fmt::format(R"(<line x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}" stroke="{}" stroke-width="2"{}/>)", left, y,
                         left + 28, y, color, s.dashed ? R"( stroke-dasharray="6 4")" : "");
    }
    if (s.markers) out += marker(index, left + 14, y, color);
    out += fmt::format(R"(<text x="{:.1f}" y="{:.1f}">{}</text>)" "\n", left + 36, y + 4, xml_escape(s.name));
  }
  out += "</g>\n</svg>\n";
  return out;
}

}  // namespace semcache::detail
