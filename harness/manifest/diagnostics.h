// Collects validation errors so that every problem of a manifest is
// reported at once, each as "file:line:col: message".
#pragma once

#include <string>
#include <vector>

#include "manifest/model.h"

namespace meros {

struct Diagnostic {
  SourceMark mark;
  std::string message;
  std::string str() const;
};

class Diagnostics {
 public:
  void error(SourceMark mark, std::string message);
  bool empty() const { return errors_.empty(); }
  std::size_t size() const { return errors_.size(); }
  // Sorted by file, line and column; errors at one place keep their order.
  std::vector<Diagnostic> sorted() const;
  void append(const Diagnostics& other);

 private:
  std::vector<Diagnostic> errors_;
};

}  // namespace meros
