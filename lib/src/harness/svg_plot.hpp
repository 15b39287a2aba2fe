#pragma once
// A small SVG plotter for the HTML report: one x/y plot per call, linear or log axes with ticks,
// labelled axes, a legend, polylines with markers, vertical error bars and vertical marker lines.
// The output is a standalone <svg> element (no scripts, no external fonts or styles), so it can
// be inlined into a page or saved as an .svg file. Every string is XML-escaped.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace semcache::detail {

// Escapes & < > " ' for text and attribute values of XML and HTML.
std::string xml_escape(std::string_view text);

enum class AxisScale { kLinear, kLog };

struct PlotAxis {
  std::string label;                    // with the unit, e.g. "latency (µs, log scale)"
  AxisScale scale = AxisScale::kLinear;
  bool percent = false;                 // values are shares 0..1, tick labels read "25%"
  std::optional<double> min;            // fixed ends; by default the data's range, widened to ticks
  std::optional<double> max;
};

struct PlotPoint {
  double x = 0;
  double y = 0;
  std::optional<double> y_low;          // an error bar from y_low to y_high (both or neither)
  std::optional<double> y_high;
  std::string label;                    // drawn beside the marker when non-empty (e.g. "ef=64")
};

struct PlotSeries {
  std::string name;                     // the legend entry
  std::vector<PlotPoint> points;        // drawn in this order; non-finite (or <= 0 on a log axis) skipped
  bool line = true;
  bool markers = true;
  bool dashed = false;
  int color = -1;                       // palette index; -1: the series' position
};

struct PlotMarkerLine {
  double x = 0;
  std::string label;
};

struct Plot {
  std::string title;
  PlotAxis x;
  PlotAxis y;
  std::vector<PlotSeries> series;
  std::vector<PlotMarkerLine> x_markers;
  int width = 540;                      // of the plot; the legend below adds to the height
  int height = 340;
};

// The plot as an <svg> element with class "plot"; axis titles carry class "axis-label".
std::string render_svg(const Plot& plot);

}  // namespace semcache::detail
