#include "report/junit.h"

#include <tinyxml2.h>

#include <algorithm>
#include <string_view>

#include "report/text.h"

namespace meros {
namespace {

using tinyxml2::XMLPrinter;

// Attribute values are single lines: parsers turn newlines into spaces anyway.
void push_attribute(XMLPrinter& xml, const char* name, std::string_view value) {
  xml.PushAttribute(name, xml_text(one_line(value)).c_str());
}

void push_attribute(XMLPrinter& xml, const char* name, int value) {
  xml.PushAttribute(name, value);
}

// An element holding only text; left out when there is no text.
void write_text_element(XMLPrinter& xml, const char* name, std::string_view text) {
  if (text.empty()) return;
  xml.OpenElement(name);
  xml.PushText(xml_text(text).c_str());
  xml.CloseElement();
}

void ensure_newline(std::string& text) {
  if (!text.empty() && text.back() != '\n') text += '\n';
}

// The one-line reason shown next to a failed, errored or skipped case.
std::string summary_message(const CaseResult& c) {
  if (!c.message.empty()) return c.message;
  if (!c.expected.empty() || !c.observed.empty()) {
    return "expected " + c.expected + ", observed " + c.observed;
  }
  if (c.status == CaseStatus::errored) return "the harness could not run this step";
  if (c.status == CaseStatus::skipped) return "skipped";
  return "the step failed";
}

// The body of <failure>/<error>: the verdict first, then the long detail.
std::string outcome_text(const CaseResult& c) {
  std::string text;
  if (!c.expected.empty()) text += "expected: " + c.expected + "\n";
  if (!c.observed.empty()) text += "observed: " + c.observed + "\n";
  if (!text.empty() && !c.detail.empty()) text += "\n";
  text += keep_tail(c.detail);
  return text;
}

int attempts_allowed(const CaseResult& c) {
  return std::max(c.retries + 1, static_cast<int>(c.attempts.size()));
}

std::string attempt_line(const Attempt& attempt, int number, int allowed) {
  std::string line = "attempt " + std::to_string(number) + " of " + std::to_string(allowed) +
                     ": " + std::string(to_string(attempt.status)) + " in " +
                     format_seconds(attempt.time) + " s";
  if (!attempt.message.empty()) line += ": " + one_line(attempt.message);
  return line + "\n";
}

// Reruns only matter when there was more than one run.
std::string attempts_record(const CaseResult& c) {
  if (c.attempts.size() < 2) return "";
  std::string record = "--- attempts ---\n";
  int allowed = attempts_allowed(c);
  for (std::size_t i = 0; i < c.attempts.size(); ++i) {
    record += attempt_line(c.attempts[i], static_cast<int>(i) + 1, allowed);
  }
  return record;
}

std::string flaky_line(const CaseResult& c) {
  if (!c.flaky || c.status != CaseStatus::passed) return "";
  int passed_on = std::max(1, static_cast<int>(c.attempts.size()));
  return "flaky: passed on attempt " + std::to_string(passed_on) + " of " +
         std::to_string(attempts_allowed(c)) + "\n";
}

// Jenkins (junit-attachments) and GitLab pick up [[ATTACHMENT|path]] lines;
// GitLab resolves the path from the job's working directory.
std::string attachment_lines(const CaseResult& c, const RunReport& report) {
  std::string lines;
  for (const std::string& path : c.attachments) lines += "[[ATTACHMENT|" + attachment_path(report, path) + "]]\n";
  return lines;
}

// The step printed more than it keeps (util/bounded_output.h); the kept
// text's own marker may be outside the 64 KiB shown here.
std::string dropped_line(const CaseResult& c) {
  // Worded as util/bounded_output.h's describe_not_kept (this library
  // stands alone).
  if (!c.stdout_dropped && !c.stderr_dropped) return "";
  std::string cut;
  if (c.stdout_dropped) cut = std::to_string(c.stdout_dropped) + " bytes of stdout";
  if (c.stderr_dropped) cut += (cut.empty() ? "" : " and ") + std::to_string(c.stderr_dropped) + " bytes of stderr";
  return "output: " + cut + " not kept\n";
}

std::string case_system_out(const CaseResult& c, const RunReport& report) {
  std::string out = keep_tail(c.stdout_text);
  for (const std::string& part : {attempts_record(c), flaky_line(c), dropped_line(c), attachment_lines(c, report)}) {
    if (part.empty()) continue;
    ensure_newline(out);
    out += part;
  }
  return out;
}

// `type` is the step kind, so dashboards can group failures by it; cases
// made before the kind was known fall back to what the status means.
std::string outcome_type(const CaseResult& c) {
  if (!c.kind.empty()) return c.kind;
  return c.status == CaseStatus::errored ? "infrastructure" : "assertion";
}

void write_outcome_element(XMLPrinter& xml, const char* element, const CaseResult& c) {
  xml.OpenElement(element);
  push_attribute(xml, "message", summary_message(c));
  if (c.status != CaseStatus::skipped) push_attribute(xml, "type", outcome_type(c));
  std::string text = outcome_text(c);
  if (!text.empty()) xml.PushText(xml_text(text).c_str());
  xml.CloseElement();
}

void write_outcome(XMLPrinter& xml, const CaseResult& c) {
  switch (c.status) {
    case CaseStatus::passed: return;
    case CaseStatus::failed: return write_outcome_element(xml, "failure", c);
    case CaseStatus::errored: return write_outcome_element(xml, "error", c);
    case CaseStatus::skipped: return write_outcome_element(xml, "skipped", c);
  }
}

// One earlier run that did not pass, as Surefire writes it: flakyFailure /
// flakyError when the case passed in the end, rerunFailure / rerunError for
// the reruns of a case that never passed. stackTrace is required by
// Surefire's schema; it carries the attempt's verdict.
void write_rerun(XMLPrinter& xml, const CaseResult& c, const Attempt& attempt, int number) {
  bool errored = attempt.status == CaseStatus::errored;
  const char* element = c.status == CaseStatus::passed ? (errored ? "flakyError" : "flakyFailure")
                                                       : (errored ? "rerunError" : "rerunFailure");
  std::string message = attempt.message.empty() ? std::string(to_string(attempt.status)) : attempt.message;
  xml.OpenElement(element);
  push_attribute(xml, "message", message);
  push_attribute(xml, "type", outcome_type(c));
  write_text_element(xml, "stackTrace",
                     "attempt " + std::to_string(number) + " of " + std::to_string(attempts_allowed(c)) + ": " +
                         std::string(to_string(attempt.status)) + " in " + format_seconds(attempt.time) + " s: " + message);
  xml.CloseElement();
}

// A passed case lists every failed attempt; a failed one its reruns, since
// its own <failure> stands for the last attempt.
void write_reruns(XMLPrinter& xml, const CaseResult& c) {
  if (c.attempts.size() < 2 || c.status == CaseStatus::skipped) return;
  std::size_t count = c.status == CaseStatus::passed ? c.attempts.size() : c.attempts.size() - 1;
  for (std::size_t i = 0; i < count; ++i) {
    const Attempt& attempt = c.attempts[i];
    if (attempt.status == CaseStatus::failed || attempt.status == CaseStatus::errored)
      write_rerun(xml, c, attempt, static_cast<int>(i) + 1);
  }
}

// `file` and `line` point report actions and GitLab at the step in the
// manifest (the row of a matrix), instead of line 1 of the file.
void write_case(XMLPrinter& xml, const CaseResult& c, const SuiteResult& suite, const RunReport& report) {
  xml.OpenElement("testcase");
  push_attribute(xml, "classname", c.classname);
  push_attribute(xml, "name", c.name);
  push_attribute(xml, "time", format_seconds(c.time));
  if (!suite.path.empty()) push_attribute(xml, "file", suite.path);
  if (c.line > 0) push_attribute(xml, "line", c.line);
  write_outcome(xml, c);
  write_reruns(xml, c);
  write_text_element(xml, "system-out", case_system_out(c, report));
  write_text_element(xml, "system-err", keep_tail(c.stderr_text));
  xml.CloseElement();
}

void write_property(XMLPrinter& xml, const Property& property) {
  xml.OpenElement("property");
  push_attribute(xml, "name", property.name);
  push_attribute(xml, "value", property.value);
  xml.CloseElement();
}

// <testsuites> cannot carry properties, so every suite repeats the run's
// (run id first), followed by its own.
void write_properties(XMLPrinter& xml, const RunReport& report, const SuiteResult& suite) {
  if (report.run_id.empty() && report.properties.empty() && suite.properties.empty()) return;
  xml.OpenElement("properties");
  if (!report.run_id.empty()) write_property(xml, {"run id", report.run_id});
  for (const Property& property : report.properties) write_property(xml, property);
  for (const Property& property : suite.properties) write_property(xml, property);
  xml.CloseElement();
}

void write_suite(XMLPrinter& xml, const RunReport& report, const SuiteResult& suite, int id) {
  Counts counts = count_cases(suite);
  xml.OpenElement("testsuite");
  push_attribute(xml, "name", suite.name);
  push_attribute(xml, "tests", counts.tests);
  push_attribute(xml, "failures", counts.failures);
  push_attribute(xml, "errors", counts.errors);
  push_attribute(xml, "skipped", counts.skipped);
  push_attribute(xml, "time", format_seconds(suite.time));
  if (!suite.timestamp.empty()) push_attribute(xml, "timestamp", suite.timestamp);
  if (!report.hostname.empty()) push_attribute(xml, "hostname", report.hostname);
  push_attribute(xml, "id", id);
  if (!suite.path.empty()) push_attribute(xml, "file", suite.path);
  write_properties(xml, report, suite);
  for (const CaseResult& c : suite.cases) write_case(xml, c, suite, report);
  write_text_element(xml, "system-out", keep_tail(suite.system_out));
  write_text_element(xml, "system-err", keep_tail(suite.system_err));
  xml.CloseElement();
}

std::string root_name(const RunReport& report) {
  return report.run_id.empty() ? "meros-test" : "meros-test run " + report.run_id;
}

}  // namespace

std::string render_junit(const RunReport& report) {
  Counts counts = count_cases(report);
  XMLPrinter xml;
  xml.PushDeclaration("xml version=\"1.0\" encoding=\"UTF-8\"");
  xml.OpenElement("testsuites");
  push_attribute(xml, "name", root_name(report));
  push_attribute(xml, "tests", counts.tests);
  push_attribute(xml, "failures", counts.failures);
  push_attribute(xml, "errors", counts.errors);
  // No `skipped` here: junit-10.xsd does not allow it on <testsuites>.
  push_attribute(xml, "time", format_seconds(total_time(report)));
  for (std::size_t i = 0; i < report.suites.size(); ++i) {
    write_suite(xml, report, report.suites[i], static_cast<int>(i));
  }
  xml.CloseElement();
  return xml.CStr();
}

}  // namespace meros
