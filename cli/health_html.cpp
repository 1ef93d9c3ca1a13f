#include "cli/health_html.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace chansync::cli {
namespace {

constexpr int k_chart_w = 1008, k_chart_h = 120, k_strip_h = 18;

const char* severity_colour(Severity s) {
  switch (s) {
    case Severity::critical:
      return "#d73a49";
    case Severity::warning:
      return "#d29922";
    case Severity::ok:
      return "#2da44e";
    default:
      return "#8b949e";
  }
}

const char* class_colour(std::string_view cls) {
  const auto c = parse_health_class(cls);
  return severity_colour(c ? severity_of(*c) : Severity::unknown);
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return s;
}

std::string time_or_dash(std::optional<Timestamp> t) {
  return t ? format_rfc3339(*t) : "—";
}

std::string report_section(const HealthReport& r, const HtmlPageInput& in) {
  const Severity sev = severity_of(r, in.warn_only);
  const std::string name = r.stream.empty() ? r.connector : r.connector + "/" + r.stream;
  std::string out = fmt::format(
      "<section class=\"report sev-{0}\" id=\"{1}\">\n<h2><span class=\"badge\" style=\"background:{2}\">{3}</span> "
      "{1} <small>{4}</small></h2>\n<p class=\"summary\">{5}</p>\n<p class=\"meta\">severity {6} · since {7} · "
      "checked {8}</p>\n",
      lower(to_string(sev)), html_escape(name), severity_colour(sev), html_escape(to_string(r.cls)),
      html_escape(r.type), html_escape(r.summary), html_escape(to_string(sev)), html_escape(time_or_dash(r.since)),
      html_escape(format_rfc3339(r.checked_at)));
  if (!r.action.empty()) out += fmt::format("<p class=\"action\"><b>What to do:</b> {}</p>\n", html_escape(r.action));
  if (!r.findings.empty()) {
    out +=
        "<table class=\"findings\"><tr><th>class</th><th>signal</th><th>value</th><th>evidence</th>"
        "<th>what to do</th></tr>\n";
    for (const auto& f : r.findings)
      out += fmt::format(
          "<tr class=\"finding cls-{0}\"><td><span class=\"dot\" style=\"background:{1}\"></span>{0}</td><td>{2}</td>"
          "<td>{3}</td><td>{4}</td><td>{5}</td></tr>\n",
          html_escape(to_string(f.cls)), severity_colour(severity_of(f.cls)), html_escape(f.signal),
          html_escape(f.value), html_escape(f.detail), html_escape(f.action));
    out += "</table>\n";
  }
  std::vector<HealthTransition> mine;
  for (const auto& t : in.history)
    if (t.connector == r.connector && t.stream == r.stream) mine.push_back(t);
  out += "<h3>Class history</h3>\n";
  out += mine.empty() ? std::string("<p class=\"none\">no stored checks in the window</p>\n")
                      : history_strip(mine, in.start, in.end);
  if (r.stream.empty()) {
    const auto it = in.hourly.find(r.connector);
    if (it != in.hourly.end()) {
      std::optional<Timestamp> last;
      for (const auto& m : in.result->inbound)
        if (m.connector == r.connector) last = std::max(last.value_or(m.last), m.last);
      out += "<h3>Inbound messages per hour</h3>\n";
      // A connector with no inbound message ever stored (a CRM's contacts) has nothing to chart.
      out += last ? inbound_svg(it->second, in.end, last)
                  : std::string("<p class=\"none\">no inbound message of this connector is stored</p>\n");
    }
  }
  return out + "</section>\n";
}

constexpr const char* k_css = R"(body{font-family:system-ui,sans-serif;margin:2em;color:#1f2328;background:#fff}
h1{font-size:1.6em}h2{font-size:1.2em;margin:.2em 0}h3{font-size:1em;margin:.8em 0 .3em}
.report{border:1px solid #d0d7de;border-left-width:8px;border-radius:6px;padding:1em;margin:1em 0}
.sev-critical{border-left-color:#d73a49}.sev-warning{border-left-color:#d29922}
.sev-ok{border-left-color:#2da44e}.sev-unknown{border-left-color:#8b949e}
.badge{color:#fff;padding:.1em .5em;border-radius:4px;font-family:monospace}
.dot{display:inline-block;width:.7em;height:.7em;border-radius:50%;margin-right:.4em}
table{border-collapse:collapse;width:100%;font-size:.9em}td,th{border:1px solid #d0d7de;padding:.3em;text-align:left;
vertical-align:top}.meta,.none{color:#59636e;font-size:.9em}.action{background:#fff8c5;padding:.4em}
svg{display:block;max-width:100%;height:auto}.bar{fill:#0969da}.gap{fill:#d73a49;fill-opacity:.18;stroke:#d73a49}
)";

}  // namespace

std::string inbound_svg(std::span<const std::int64_t> counts, Timestamp end, std::optional<Timestamp> last_inbound) {
  const auto n = static_cast<std::int64_t>(counts.size());
  const std::int64_t peak = counts.empty() ? 0 : *std::max_element(counts.begin(), counts.end());
  const double bw = n ? static_cast<double>(k_chart_w) / static_cast<double>(n) : 0;
  std::string out = fmt::format(
      "<svg class=\"inbound\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{2}\" "
      "viewBox=\"0 0 {0} {2}\"><title>inbound messages per hour, peak {3}</title>"
      "<rect x=\"0\" y=\"0\" width=\"{0}\" height=\"{1}\" fill=\"#f6f8fa\"/>",
      k_chart_w, k_chart_h, k_chart_h + 14, peak);
  const Timestamp start = end - n * k_hour_ms;
  if (last_inbound && end - *last_inbound >= k_hour_ms && n > 0) {
    const Timestamp from = std::max(*last_inbound, start);
    const double x = static_cast<double>(from - start) / static_cast<double>(k_hour_ms) * bw;
    out += fmt::format(
        "<rect class=\"gap\" data-gap-start=\"{0}\" x=\"{1:.1f}\" y=\"0\" width=\"{2:.1f}\" height=\"{3}\">"
        "<title>no inbound message since {0}</title></rect>",
        html_escape(format_rfc3339(*last_inbound)), x, k_chart_w - x, k_chart_h);
  }
  for (std::int64_t i = 0; i < n; ++i) {
    const auto c = counts[static_cast<std::size_t>(i)];
    if (c <= 0) continue;
    const double h = static_cast<double>(c) / static_cast<double>(peak) * (k_chart_h - 4);
    out += fmt::format(
        "<rect class=\"bar\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\"><title>{} {}</title></rect>",
        static_cast<double>(i) * bw, k_chart_h - h, std::max(bw - 0.5, 0.5), h,
        html_escape(format_rfc3339(start + i * k_hour_ms)), c);
  }
  // A tick per day.
  for (std::int64_t i = 0; i <= n; i += 24)
    out += fmt::format("<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#59636e\"/>",
                       static_cast<double>(i) * bw, k_chart_h, k_chart_h + 6);
  return out + "</svg>\n";
}

std::string history_strip(const std::vector<HealthTransition>& ts, Timestamp start, Timestamp end) {
  std::string out = fmt::format(
      "<svg class=\"history\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\"><rect x=\"0\" y=\"0\" width=\"{0}\" height=\"{1}\" fill=\"#f6f8fa\"/>",
      k_chart_w, k_strip_h);
  const double span = static_cast<double>(std::max<Timestamp>(end - start, 1));
  // Before the first change in the window the stream had the class that change left.
  std::vector<HealthTransition> segs;
  if (!ts.empty() && !ts.front().from.empty() && ts.front().from != ts.front().to && ts.front().at > start)
    segs.push_back({ts.front().connector, ts.front().stream, "", ts.front().from, start, "before the window"});
  segs.insert(segs.end(), ts.begin(), ts.end());
  for (std::size_t i = 0; i < segs.size(); ++i) {
    const Timestamp from = std::clamp(segs[i].at, start, end);
    const Timestamp to = i + 1 < segs.size() ? std::clamp(segs[i + 1].at, start, end) : end;
    if (to <= from && i + 1 < segs.size()) continue;
    const double x = static_cast<double>(from - start) / span * k_chart_w;
    const double w = std::max(static_cast<double>(to - from) / span * k_chart_w, 1.0);
    out += fmt::format(
        "<rect class=\"seg cls-{0}\" x=\"{1:.1f}\" y=\"0\" width=\"{2:.1f}\" height=\"{3}\" fill=\"{4}\">"
        "<title>{0} from {5}: {6}</title></rect>",
        html_escape(segs[i].to), x, w, k_strip_h, class_colour(segs[i].to), html_escape(format_rfc3339(segs[i].at)),
        html_escape(segs[i].summary));
  }
  return out + "</svg>\n";
}

std::string health_html(const HtmlPageInput& in) {
  const auto& result = *in.result;
  std::string out = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>chansync health: {0}</title>\n"
      "<style>{1}</style></head>\n<body>\n<h1>chansync health: <span class=\"overall\" style=\"color:{2}\">{0}</span>"
      "</h1>\n<p class=\"meta\">checked {3}; history and charts from {4} to {5}</p>\n",
      html_escape(to_string(result.status)), k_css, severity_colour(result.status),
      html_escape(format_rfc3339(result.checked_at)), html_escape(format_rfc3339(in.start)),
      html_escape(format_rfc3339(in.end)));
  for (const auto& r : result.reports) out += report_section(r, in);
  return out + "</body></html>\n";
}

}  // namespace chansync::cli
