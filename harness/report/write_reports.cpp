#include "report/write_reports.h"

#include <string>

#include "report/atomic_file.h"
#include "report/html_report.h"
#include "report/json_report.h"
#include "report/junit.h"

namespace meros {
namespace {

void note_failure(const Status& status, std::string& errors) {
  if (status) return;
  if (!errors.empty()) errors += "; ";
  errors += status.error().message;
}

}  // namespace

Status write_reports(const RunReport& report,
                     const std::optional<std::filesystem::path>& junit_path,
                     const std::optional<std::filesystem::path>& json_path,
                     const std::optional<std::filesystem::path>& html_path) {
  std::string errors;
  if (junit_path) note_failure(write_file_atomically(*junit_path, render_junit(report)), errors);
  if (json_path) note_failure(write_file_atomically(*json_path, render_json(report)), errors);
  if (html_path) note_failure(write_file_atomically(*html_path, render_html(report)), errors);
  if (!errors.empty()) return make_error(errors);
  return {};
}

}  // namespace meros
