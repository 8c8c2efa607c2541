#include "report/github.h"

#include <cstdlib>
#include <cstring>
#include <fstream>

#include "report/text.h"

namespace meros {
namespace {

bool is_problem(const CaseResult& c) { return c.status == CaseStatus::failed || c.status == CaseStatus::errored; }

// The Actions toolkit's escaping: data may not hold %, CR or LF; property
// values (file, title) not ',' or ':' either.
std::string escape_data(std::string_view text) {
  std::string out;
  for (char ch : text) {
    if (ch == '%') out += "%25";
    else if (ch == '\r') out += "%0D";
    else if (ch == '\n') out += "%0A";
    else out += ch;
  }
  return out;
}

std::string escape_property(std::string_view text) {
  std::string out;
  for (char ch : escape_data(text)) {
    if (ch == ':') out += "%3A";
    else if (ch == ',') out += "%2C";
    else out += ch;
  }
  return out;
}

std::string verdict(const CaseResult& c) {
  if (!c.message.empty()) return one_line(c.message);
  if (!c.expected.empty() || !c.observed.empty()) return "expected " + c.expected + ", observed " + c.observed;
  return c.status == CaseStatus::errored ? "the harness could not run this step" : "the step failed";
}

// A table cell: one line, no pipe, no markup GitHub would render.
std::string cell(std::string_view text) {
  std::string out;
  for (char ch : one_line(text, 300)) {
    switch (ch) {
      case '|': out += "\\|"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '\\': case '`': case '*': case '_': case '[': case ']': case '#':
        out += '\\';
        out += ch;
        break;
      default: out += ch;
    }
  }
  return out;
}

std::string where(const SuiteResult& suite, const CaseResult& c) {
  return c.line > 0 ? suite.path + ":" + std::to_string(c.line) : suite.path;
}

const char* mark(const Counts& counts) {
  if (counts.errors > 0) return "⚠️ errored";
  if (counts.failures > 0) return "❌ failed";
  return "✅ passed";
}

std::string totals_line(const RunReport& report) {
  Counts counts = count_cases(report);
  std::string line = std::to_string(report.suites.size()) + " scenario(s), " + std::to_string(counts.tests) + " test(s): " +
                     std::to_string(counts.passed()) + " passed, " + std::to_string(counts.failures) + " failed, " +
                     std::to_string(counts.errors) + " errored, " + std::to_string(counts.skipped) + " skipped";
  if (counts.flaky > 0) line += " (" + std::to_string(counts.flaky) + " flaky)";
  return line + " in " + format_seconds(total_time(report)) + " s";
}

std::string scenario_table(const RunReport& report) {
  std::string md = "| result | scenario | file | tests | passed | failed | errored | skipped | time (s) |\n"
                   "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n";
  for (const SuiteResult& suite : report.suites) {
    Counts counts = count_cases(suite);
    md += "| " + std::string(mark(counts)) + " | " + cell(suite.name) + " | " + cell(suite.path) + " | " +
          std::to_string(counts.tests) + " | " + std::to_string(counts.passed()) + " | " + std::to_string(counts.failures) +
          " | " + std::to_string(counts.errors) + " | " + std::to_string(counts.skipped) + " | " + format_seconds(suite.time) +
          " |\n";
  }
  return md;
}

std::string failed_rows(const RunReport& report) {
  std::string rows;
  for (const SuiteResult& suite : report.suites)
    for (const CaseResult& c : suite.cases)
      if (is_problem(c))
        rows += "| " + std::string(c.status == CaseStatus::failed ? "failed" : "errored") + " | " + cell(suite.name) + " | " +
                cell(c.name) + " | " + cell(where(suite, c)) + " | " + cell(verdict(c)) + " |\n";
  if (rows.empty()) return "";
  return "### Failed and errored tests\n\n| status | scenario | test | where | verdict |\n| --- | --- | --- | --- | --- |\n" + rows;
}

}  // namespace

std::string github_annotations(const RunReport& report) {
  std::string out;
  for (const SuiteResult& suite : report.suites) {
    for (const CaseResult& c : suite.cases) {
      if (!is_problem(c)) continue;
      std::string properties;
      if (!suite.path.empty()) properties += "file=" + escape_property(suite.path);
      if (!suite.path.empty() && c.line > 0) properties += ",line=" + std::to_string(c.line);
      properties += std::string(properties.empty() ? "" : ",") + "title=" +
                    escape_property(one_line(suite.name + ": " + c.name + (c.status == CaseStatus::errored ? " (errored)" : "")));
      out += "::error " + properties + "::" + escape_data(verdict(c)) + "\n";
    }
  }
  return out;
}

std::string github_step_summary(const RunReport& report) {
  std::string md = "## meros-test" + (report.run_id.empty() ? std::string() : " run " + cell(report.run_id)) + "\n\n";
  md += totals_line(report) + "\n\n";
  if (!report.suites.empty()) md += scenario_table(report) + "\n";
  if (std::string failed = failed_rows(report); !failed.empty()) md += failed + "\n";
  return md;
}

Status publish_to_github(const RunReport& report, std::ostream& out) {
  const char* actions = std::getenv("GITHUB_ACTIONS");
  if (actions == nullptr || std::strcmp(actions, "true") != 0) return {};
  out << github_annotations(report) << std::flush;
  const char* summary = std::getenv("GITHUB_STEP_SUMMARY");
  if (summary == nullptr || *summary == '\0') return {};
  std::ofstream file(summary, std::ios::app);
  file << github_step_summary(report);
  file.close();
  if (!file) return make_error(std::string("cannot append the job summary to ") + summary);
  return {};
}

}  // namespace meros
