#include "manifest/diagnostics.h"

#include <algorithm>

namespace meros {

std::string Diagnostic::str() const {
  if (mark.file.empty()) return message;
  if (mark.line <= 0) return mark.file + ": " + message;
  return mark.file + ":" + std::to_string(mark.line) + ":" + std::to_string(mark.column) + ": " + message;
}

void Diagnostics::error(SourceMark mark, std::string message) {
  errors_.push_back({std::move(mark), std::move(message)});
}

std::vector<Diagnostic> Diagnostics::sorted() const {
  std::vector<Diagnostic> out = errors_;
  std::stable_sort(out.begin(), out.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.mark.file, a.mark.line, a.mark.column) < std::tie(b.mark.file, b.mark.line, b.mark.column);
  });
  out.erase(std::unique(out.begin(), out.end(),
                        [](const Diagnostic& a, const Diagnostic& b) { return a.str() == b.str(); }),
            out.end());
  return out;
}

void Diagnostics::append(const Diagnostics& other) {
  errors_.insert(errors_.end(), other.errors_.begin(), other.errors_.end());
}

}  // namespace meros
