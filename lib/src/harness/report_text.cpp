// The text and Markdown layouts of a report, and render_report's dispatch.
//
// Text is for a terminal: columns padded to their widest cell, measured in code points rather
// than bytes because headers carry "µs" and spreads an en dash. Control characters from the
// inputs (a file name with an escape sequence) are shown as '?', so a report cannot drive the
// terminal.
//
// Markdown is for a PR comment or a README: GitHub renders raw HTML inside Markdown, so every
// string from the inputs has its HTML and Markdown metacharacters escaped, and a '|' in a cell is
// escaped so it cannot split the row.

#include <algorithm>

#include <fmt/format.h>

#include "harness/report_tables.hpp"

namespace semcache {
namespace detail {
namespace {

std::size_t display_width(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;  // not a UTF-8 continuation byte
  }));
}

std::string terminal_safe(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return out;
}

std::string pad(const std::string& cell, std::size_t width, bool right) {
  const std::string fill(width - std::min(width, display_width(cell)), ' ');
  return right ? fill + cell : cell + fill;
}

void text_table(std::string& out, const ReportTable& t) {
  std::vector<std::size_t> widths(t.headers.size(), 0);
  for (std::size_t c = 0; c < t.headers.size(); ++c) widths[c] = display_width(t.headers[c]);
  for (const auto& row : t.rows) {
    for (std::size_t c = 0; c < row.size() && c < widths.size(); ++c) widths[c] = std::max(widths[c], display_width(terminal_safe(row[c])));
  }
  out += t.caption + "\n";
  const auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (std::size_t c = 0; c < widths.size(); ++c) {
      text += (c == 0 ? "" : "  ") + pad(c < cells.size() ? terminal_safe(cells[c]) : "", widths[c], t.numeric[c]);
    }
    out += text + "\n";
  };
  line(t.headers);
  std::size_t total = 0;
  for (std::size_t w : widths) total += w;
  out += std::string(total + 2 * (widths.size() - 1), '-') + "\n";
  for (const auto& row : t.rows) line(row);
  if (!t.note.empty()) out += "(" + t.note + ")\n";
}

std::string markdown_escape(std::string_view text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '|': case '\\': case '`': case '*': case '_': case '[': case ']': case '#':
        out += '\\';
        out += c;
        break;
      case '\n': case '\r': out += ' '; break;
      default: out += c;
    }
  }
  return out;
}

void markdown_table(std::string& out, const ReportTable& t) {
  out += "**" + markdown_escape(t.caption) + "**\n\n|";
  for (const std::string& h : t.headers) out += " " + markdown_escape(h) + " |";
  out += "\n|";
  for (std::size_t c = 0; c < t.headers.size(); ++c) out += t.numeric[c] ? " ---: |" : " --- |";
  out += "\n";
  for (const auto& row : t.rows) {
    out += "|";
    for (const std::string& cell : row) out += " " + markdown_escape(cell) + " |";
    out += "\n";
  }
  if (!t.note.empty()) out += "\n_" + markdown_escape(t.note) + "_\n";
  out += "\n";
}

}  // namespace

std::string render_text(const std::vector<ReportInput>& inputs) {
  std::string out;
  for (const ReportInput& input : inputs) {
    const ReportSection s = describe(input);
    if (!out.empty()) out += "\n";
    const std::string title = terminal_safe(s.title);
    out += title + "\n" + std::string(display_width(title), '=') + "\n";
    std::size_t label_width = 0;
    for (const auto& [label, value] : s.facts) label_width = std::max(label_width, label.size());
    for (const auto& [label, value] : s.facts) out += fmt::format("{:<{}}  {}\n", label + ":", label_width + 1, terminal_safe(value));
    for (const ReportTable& t : s.tables) {
      out += "\n";
      text_table(out, t);
    }
  }
  return out;
}

std::string render_markdown(const std::vector<ReportInput>& inputs) {
  std::string out = "# semcache report\n\n";
  for (const ReportInput& input : inputs) {
    const ReportSection s = describe(input);
    out += "## " + markdown_escape(s.title) + "\n\n";
    for (const auto& [label, value] : s.facts) out += "- **" + markdown_escape(label) + "**: " + markdown_escape(value) + "\n";
    out += "\n";
    for (const ReportTable& t : s.tables) markdown_table(out, t);
  }
  return out;
}

}  // namespace detail

std::string render_report(const std::vector<ReportInput>& inputs, ReportFormat format) {
  switch (format) {
    case ReportFormat::kText: return detail::render_text(inputs);
    case ReportFormat::kMarkdown: return detail::render_markdown(inputs);
    case ReportFormat::kHtml: return detail::render_html(inputs);
  }
  return {};
}

}  // namespace semcache
