#include "report/html_report.h"

#include <algorithm>
#include <map>
#include <set>

#include "report/text.h"

namespace meros {
namespace {

// Text for HTML content and attribute values: valid UTF-8 without the
// control characters XML forbids, markup characters escaped.
std::string esc(std::string_view text) {
  std::string out;
  for (char ch : xml_text(text)) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += ch;
    }
  }
  return out;
}

std::string status_class(CaseStatus status) { return std::string(to_string(status)); }

std::string suite_status(const Counts& counts) {
  if (counts.errors > 0) return "errored";
  if (counts.failures > 0) return "failed";
  if (counts.tests == counts.skipped && counts.tests > 0) return "skipped";
  return "passed";
}

std::string number(double value) {
  std::string text = format_seconds(value);
  return text;
}

constexpr const char* kStyle = R"(
body{font:14px/1.4 system-ui,sans-serif;margin:0 2em 3em;color:#1d2330;background:#fafbfc}
h1{margin:.8em 0 .2em}h2{margin:1.6em 0 .4em;padding-top:.6em;border-top:2px solid #d8dde6}
h3{margin:1.2em 0 .4em}table{border-collapse:collapse;margin:.4em 0}
th,td{border:1px solid #d0d5de;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#eef1f5}.num{text-align:right}
.passed{background:#dcf5e0}.failed{background:#fbd9d7}.errored{background:#fde7c2}.skipped{background:#e8e8e8}
.badge{display:inline-block;padding:1px 8px;border-radius:8px;font-weight:600}
.grid td{min-width:9em}.check{display:block;margin:2px 0;padding:2px 6px;border-radius:4px}
pre{background:#f1f3f6;border:1px solid #d8dde6;padding:8px;overflow-x:auto;white-space:pre-wrap;max-height:30em}
.evidence{border-left:4px solid #d9534f;padding-left:1em;margin:1em 0}
.evidence.errored{border-color:#e5a13a}.muted{color:#667085}svg text{font:12px system-ui,sans-serif}
)";

// --- summary -------------------------------------------------------------

std::string summary_section(const RunReport& report) {
  Counts counts = count_cases(report);
  std::string html = "<section id=\"summary\"><table class=\"summary\">";
  html += "<tr><th>run</th><td>" + esc(report.run_id) + "</td></tr>";
  html += "<tr><th>started</th><td>" + esc(report.started) + " on " + esc(report.hostname) + "</td></tr>";
  html += "<tr><th>result</th><td><span class=\"badge " + suite_status(counts) + "\">" + suite_status(counts) + "</span> " +
          std::to_string(counts.tests) + " tests: " + std::to_string(counts.passed()) + " passed, " +
          std::to_string(counts.failures) + " failed, " + std::to_string(counts.errors) + " errored, " +
          std::to_string(counts.skipped) + " skipped" + (counts.flaky ? ", " + std::to_string(counts.flaky) + " flaky" : "") +
          " in " + number(total_time(report)) + " s</td></tr>";
  for (const Property& p : report.properties)
    if (p.name != "run_id") html += "<tr><th>" + esc(p.name) + "</th><td>" + esc(p.value) + "</td></tr>";
  html += "</table>\n<table class=\"scenarios\"><tr><th>scenario</th><th>file</th><th>result</th><th class=\"num\">tests</th>"
          "<th class=\"num\">failed</th><th class=\"num\">errored</th><th class=\"num\">time (s)</th></tr>";
  for (std::size_t i = 0; i < report.suites.size(); ++i) {
    const SuiteResult& suite = report.suites[i];
    Counts c = count_cases(suite);
    html += "<tr class=\"" + suite_status(c) + "\"><td><a href=\"#suite-" + std::to_string(i) + "\">" + esc(suite.name) +
            "</a></td><td>" + esc(suite.path) + "</td><td>" + suite_status(c) + "</td><td class=\"num\">" +
            std::to_string(c.tests) + "</td><td class=\"num\">" + std::to_string(c.failures) + "</td><td class=\"num\">" +
            std::to_string(c.errors) + "</td><td class=\"num\">" + number(suite.time) + "</td></tr>";
  }
  return html + "</table></section>\n";
}

// --- topology ------------------------------------------------------------

// Bridges are horizontal lines, one a row; the scenario host and every VM
// are boxes in a row above them, with a drop line to each bridge they are
// on, labelled with the address there.
std::string topology_svg(const Topology& topology) {
  if (topology.bridges.empty() && topology.vms.empty()) return "<p class=\"muted\">no network</p>";
  const int label_width = 260, column = 170, box_w = 140, box_h = 40, top = 10, first_bridge = 110, bridge_gap = 64;
  int columns = 1 + static_cast<int>(topology.vms.size());
  int width = label_width + columns * column + 20;
  int height = first_bridge + static_cast<int>(std::max<std::size_t>(1, topology.bridges.size()) - 1) * bridge_gap + 30;
  std::map<std::string, int> bridge_y;
  for (std::size_t i = 0; i < topology.bridges.size(); ++i)
    bridge_y[topology.bridges[i].name] = first_bridge + static_cast<int>(i) * bridge_gap;
  std::string svg = "<svg class=\"topology\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(width) +
                    "\" height=\"" + std::to_string(height) + "\" viewBox=\"0 0 " + std::to_string(width) + " " +
                    std::to_string(height) + "\" role=\"img\">";
  for (const TopologyBridge& b : topology.bridges) {
    int y = bridge_y[b.name];
    bool open = b.policy == "host-access";
    std::string colour = open ? "#2f8f46" : "#8a5a9e";
    svg += "<g class=\"bridge\" data-bridge=\"" + esc(b.name) + "\"><line x1=\"" + std::to_string(label_width - 10) + "\" y1=\"" +
           std::to_string(y) + "\" x2=\"" + std::to_string(width - 10) + "\" y2=\"" + std::to_string(y) + "\" stroke=\"" + colour +
           "\" stroke-width=\"5\"/>";
    svg += "<text x=\"4\" y=\"" + std::to_string(y - 16) + "\" font-weight=\"bold\">" + esc(b.name) + " " + esc(b.subnet) + "</text>";
    svg += "<text x=\"4\" y=\"" + std::to_string(y) + "\" fill=\"" + colour + "\">" + esc(b.policy) + (b.allow_icmp ? ", icmp" : ", no icmp") + "</text>";
    if (open)
      svg += "<text x=\"4\" y=\"" + std::to_string(y + 16) + "\" class=\"muted\">ports " + esc(b.allowed_ports) + "; from " +
             esc(b.allowed_ips) + "</text>";
    svg += "</g>";
  }
  auto node = [&](int index, const std::string& name, const std::string& sub, const std::string& css,
                  const std::vector<TopologyAddress>& addresses, bool dashed_for_isolated) {
    int x = label_width + index * column;
    int centre = x + box_w / 2;
    std::string g = "<g class=\"" + css + "\" data-name=\"" + esc(name) + "\">";
    for (const TopologyAddress& a : addresses) {
      auto it = bridge_y.find(a.bridge);
      if (it == bridge_y.end()) continue;
      bool isolated = false;
      for (const auto& b : topology.bridges) if (b.name == a.bridge) isolated = b.policy != "host-access";
      g += "<line x1=\"" + std::to_string(centre) + "\" y1=\"" + std::to_string(top + box_h) + "\" x2=\"" + std::to_string(centre) +
           "\" y2=\"" + std::to_string(it->second) + "\" stroke=\"#556\" stroke-width=\"2\"" +
           (dashed_for_isolated && isolated ? " stroke-dasharray=\"5 4\"" : "") + "/>";
      g += "<circle cx=\"" + std::to_string(centre) + "\" cy=\"" + std::to_string(it->second) + "\" r=\"4\" fill=\"#556\"/>";
      g += "<text x=\"" + std::to_string(centre + 6) + "\" y=\"" + std::to_string(it->second - 6) + "\">" + esc(a.address) + "</text>";
    }
    g += "<rect x=\"" + std::to_string(x) + "\" y=\"" + std::to_string(top) + "\" width=\"" + std::to_string(box_w) + "\" height=\"" +
         std::to_string(box_h) + "\" rx=\"6\" fill=\"" + (css == "host" ? "#e4ecf7" : "#fff") + "\" stroke=\"#334\"/>";
    g += "<text x=\"" + std::to_string(centre) + "\" y=\"" + std::to_string(top + 17) + "\" text-anchor=\"middle\" font-weight=\"bold\">" +
         esc(name) + "</text>";
    g += "<text x=\"" + std::to_string(centre) + "\" y=\"" + std::to_string(top + 32) + "\" text-anchor=\"middle\" class=\"muted\">" +
         esc(sub) + "</text></g>";
    return g;
  };
  std::vector<TopologyAddress> gateways;
  for (const TopologyBridge& b : topology.bridges) gateways.push_back({b.name, b.gateway});
  svg += node(0, "host", "scenario host", "host", gateways, true);
  for (std::size_t i = 0; i < topology.vms.size(); ++i)
    svg += node(static_cast<int>(i) + 1, topology.vms[i].name, "image " + topology.vms[i].image, "vm", topology.vms[i].addresses, false);
  return svg + "</svg>";
}

// --- matrices ------------------------------------------------------------

struct CheckCell {
  const CaseResult* c;
  std::string from, to, target, expect;
};

std::string check_field(const CaseResult& c, const char* key) {
  if (!c.extra.contains("check") || !c.extra["check"].contains(key) || !c.extra["check"][key].is_string()) return "";
  return c.extra["check"][key].get<std::string>();
}

std::vector<std::string> unique_in_order(const std::vector<CheckCell>& cells, std::string CheckCell::*field) {
  std::vector<std::string> out;
  for (const CheckCell& cell : cells)
    if (std::find(out.begin(), out.end(), cell.*field) == out.end()) out.push_back(cell.*field);
  return out;
}

std::string observed_text(const CaseResult& c) {
  if (!c.observed.empty()) return c.observed;
  if (c.status == CaseStatus::passed) return "as expected";
  return one_line(c.message.empty() ? std::string(to_string(c.status)) : c.message, 120);
}

std::string matrix_grid(const std::string& name, const std::vector<CheckCell>& cells) {
  std::vector<std::string> froms = unique_in_order(cells, &CheckCell::from);
  std::vector<std::string> tos = unique_in_order(cells, &CheckCell::to);
  std::string html = "<h4>" + esc(name) + "</h4><table class=\"grid\" data-matrix=\"" + esc(name) + "\"><tr><th>from \\ to</th>";
  for (const std::string& to : tos) html += "<th>" + esc(to) + "</th>";
  html += "</tr>";
  for (const std::string& from : froms) {
    html += "<tr><th>" + esc(from) + "</th>";
    for (const std::string& to : tos) {
      html += "<td>";
      for (const CheckCell& cell : cells) {
        if (cell.from != from || cell.to != to) continue;
        const CaseResult& c = *cell.c;
        html += "<span class=\"check " + status_class(c.status) + "\" data-from=\"" + esc(from) + "\" data-to=\"" + esc(to) +
                "\" data-target=\"" + esc(cell.target) + "\" data-expected=\"" + esc(cell.expect) + "\" data-observed=\"" +
                esc(observed_text(c)) + "\" data-status=\"" + status_class(c.status) + "\" title=\"" + esc(c.name) + "\"><b>" +
                esc(cell.target) + "</b> expected " + esc(cell.expect) + ", observed " + esc(observed_text(c)) + "</span>";
      }
      html += "</td>";
    }
    html += "</tr>";
  }
  return html + "</table>";
}

std::string matrices_section(const SuiteResult& suite) {
  std::vector<std::string> order;
  std::map<std::string, std::vector<CheckCell>> by_step;
  for (const CaseResult& c : suite.cases) {
    if (c.kind != "matrix" && c.kind != "reach") continue;
    std::string from = check_field(c, "from"), to = check_field(c, "to");
    if (from.empty() || to.empty()) continue;
    std::string key = c.kind == "matrix" ? c.step : "reach checks";
    if (!by_step.count(key)) order.push_back(key);
    by_step[key].push_back({&c, from, to, check_field(c, "target"), check_field(c, "expect")});
  }
  if (order.empty()) return "";
  std::string html = "<h3>Reachability</h3>";
  for (const std::string& key : order) html += matrix_grid(key, by_step[key]);
  return html;
}

// --- timeline ------------------------------------------------------------

struct Bar {
  std::string label;
  double started, time;
  std::string css;
};

std::vector<Bar> timeline_bars(const SuiteResult& suite) {
  std::vector<Bar> bars;
  for (const TimelineEvent& e : suite.timeline) bars.push_back({e.name, e.started, e.time, e.ok ? "setup" : "errored"});
  // A stage is recorded when it ends; the VMs' readiness inside "boot" reads better after it.
  std::stable_sort(bars.begin(), bars.end(), [](const Bar& a, const Bar& b) { return a.started < b.started; });
  // A matrix is one step: its rows share a start and add up their times.
  for (const CaseResult& c : suite.cases) {
    std::string label = c.step.empty() ? c.name : c.step;
    if (!bars.empty() && bars.back().css != "setup" && bars.back().label == label && c.kind == "matrix") {
      bars.back().time += c.time;
      if (c.status != CaseStatus::passed && bars.back().css == "passed") bars.back().css = status_class(c.status);
      continue;
    }
    bars.push_back({label, c.started, c.time, status_class(c.status)});
  }
  return bars;
}

std::string timeline_svg(const SuiteResult& suite) {
  std::vector<Bar> bars = timeline_bars(suite);
  if (bars.empty()) return "";
  double end = std::max(suite.time, 0.001);
  for (const Bar& b : bars) end = std::max(end, b.started + b.time);
  const int label_width = 300, plot = 560, row = 20;
  int height = static_cast<int>(bars.size()) * row + 24;
  static const std::map<std::string, std::string> colours = {{"setup", "#6b8fc7"}, {"passed", "#4caf50"}, {"failed", "#d9534f"},
                                                             {"errored", "#e5a13a"}, {"skipped", "#aaaaaa"}};
  std::string svg = "<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(label_width + plot + 80) +
                    "\" height=\"" + std::to_string(height) + "\">";
  for (std::size_t i = 0; i < bars.size(); ++i) {
    const Bar& b = bars[i];
    int y = static_cast<int>(i) * row + 4;
    double x = label_width + b.started / end * plot;
    double w = std::max(2.0, b.time / end * plot);
    svg += "<g class=\"bar " + b.css + "\"><text x=\"0\" y=\"" + std::to_string(y + 13) + "\">" + esc(one_line(b.label, 48)) + "</text>";
    svg += "<rect x=\"" + std::to_string(static_cast<int>(x)) + "\" y=\"" + std::to_string(y) + "\" width=\"" +
           std::to_string(static_cast<int>(w)) + "\" height=\"" + std::to_string(row - 6) + "\" fill=\"" + colours.at(b.css) + "\"/>";
    svg += "<text x=\"" + std::to_string(static_cast<int>(x + w + 4)) + "\" y=\"" + std::to_string(y + 13) + "\" class=\"muted\">" +
           number(b.time) + " s</text></g>";
  }
  svg += "<text x=\"" + std::to_string(label_width) + "\" y=\"" + std::to_string(height - 4) + "\" class=\"muted\">0 s</text>";
  svg += "<text x=\"" + std::to_string(label_width + plot) + "\" y=\"" + std::to_string(height - 4) +
         "\" text-anchor=\"end\" class=\"muted\">" + number(end) + " s</text>";
  return svg + "</svg>";
}

// --- cases and evidence --------------------------------------------------

std::string where(const SuiteResult& suite, const CaseResult& c) {
  return c.line > 0 ? suite.path + ":" + std::to_string(c.line) : suite.path;
}

std::string pre_block(const char* title, const std::string& text) {
  if (text.empty()) return "";
  return "<div><b>" + std::string(title) + "</b><pre>" + esc(keep_tail(text, 16 * 1024)) + "</pre></div>";
}

std::string evidence(const RunReport& report, const SuiteResult& suite, const CaseResult& c) {
  std::string html = "<div class=\"evidence " + status_class(c.status) + "\" data-case=\"" + esc(c.name) + "\"><h4>" +
                     esc(c.name) + " <span class=\"badge " + status_class(c.status) + "\">" + status_class(c.status) +
                     "</span></h4><p><code>" + esc(where(suite, c)) + "</code> " + esc(c.kind) + "</p>";
  if (!c.message.empty()) html += "<p class=\"verdict\">" + esc(one_line(c.message)) + "</p>";
  if (!c.expected.empty() || !c.observed.empty())
    html += "<p>expected <b>" + esc(c.expected) + "</b>, observed <b>" + esc(c.observed) + "</b></p>";
  html += pre_block("detail (command, verdict, console tail)", c.detail);
  html += pre_block("stdout", c.stdout_text);
  html += pre_block("stderr", c.stderr_text);
  if (!c.attachments.empty()) {
    html += "<p>files: ";
    for (const std::string& a : c.attachments) html += "<a href=\"" + esc(a) + "\">" + esc(a) + "</a> ";
    html += "</p>";
  }
  (void)report;
  return html + "</div>";
}

std::string cases_table(const SuiteResult& suite) {
  std::string html = "<table class=\"cases\"><tr><th>test</th><th>kind</th><th>line</th><th>result</th><th>verdict</th>"
                     "<th class=\"num\">time (s)</th></tr>";
  for (const CaseResult& c : suite.cases) {
    std::string verdict = c.message.empty() && !c.observed.empty() ? "observed " + c.observed : c.message;
    if (c.flaky) verdict = "flaky: passed on attempt " + std::to_string(c.attempts.size());
    html += "<tr class=\"" + status_class(c.status) + "\"><td>" + esc(c.name) + "</td><td>" + esc(c.kind) + "</td><td class=\"num\">" +
            (c.line > 0 ? std::to_string(c.line) : "") + "</td><td>" + status_class(c.status) + "</td><td>" + esc(one_line(verdict, 200)) +
            "</td><td class=\"num\">" + number(c.time) + "</td></tr>";
  }
  return html + "</table>";
}

std::string suite_section(const RunReport& report, const SuiteResult& suite, std::size_t index) {
  Counts counts = count_cases(suite);
  std::string html = "<section class=\"suite\" id=\"suite-" + std::to_string(index) + "\" data-scenario=\"" + esc(suite.name) +
                     "\"><h2>" + esc(suite.name) + " <span class=\"badge " + suite_status(counts) + "\">" + suite_status(counts) +
                     "</span></h2><p class=\"muted\">" + esc(suite.path) + " · started " + esc(suite.timestamp) + " · " +
                     number(suite.time) + " s</p>";
  html += "<h3>Topology</h3>" + topology_svg(suite.topology);
  html += matrices_section(suite);
  html += "<h3>Timeline</h3>" + timeline_svg(suite);
  html += "<h3>Tests</h3>" + cases_table(suite);
  std::string failures;
  for (const CaseResult& c : suite.cases)
    if (c.status == CaseStatus::failed || c.status == CaseStatus::errored) failures += evidence(report, suite, c);
  if (!failures.empty()) html += "<h3>Failures</h3>" + failures;
  if (!suite.system_err.empty()) html += pre_block("harness errors", suite.system_err);
  return html + "</section>\n";
}

}  // namespace

std::string render_html(const RunReport& report) {
  std::string title = report.run_id.empty() ? "meros-test report" : "meros-test run " + report.run_id;
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                     "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
                     "<meta name=\"viewport\" content=\"width=device-width\"><title>" + esc(title) + "</title><style>" + kStyle +
                     "</style></head><body>\n<h1>" + esc(title) + "</h1>\n";
  html += summary_section(report);
  for (std::size_t i = 0; i < report.suites.size(); ++i) html += suite_section(report, report.suites[i], i);
  return html + "</body></html>\n";
}

}  // namespace meros
