// libFuzzer target for the manifest parser: the input bytes are a
// scenario.yml in a scratch scenario directory that holds a few files (a
// policy, a file to push, a symlink leading out, a rootfs layer), parsed
// with the real fixture catalog. The parser must never crash, hang, leak
// or read outside what a manifest may name, whatever the input.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "manifest/catalog.h"
#include "manifest/diagnostics.h"
#include "manifest/parser.h"

namespace fs = std::filesystem;

namespace {

fs::path scenario_dir;

void write(const fs::path& file, const std::string& content) {
  fs::create_directories(file.parent_path());
  std::ofstream(file) << content;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::string pattern = (fs::temp_directory_path() / "meros-fuzz-XXXXXX").string();
  if (!mkdtemp(pattern.data())) std::abort();
  scenario_dir = fs::path(pattern) / "scenario";
  write(scenario_dir / "policies/web.nft", "table inet web {}\n");
  write(scenario_dir / "files/app.conf", "key = value\n");
  write(scenario_dir / "rootfs/web/includes.chroot/etc/motd", "hello\n");
  write(scenario_dir / "kernel.config", "CONFIG_NET=y\n");
  std::error_code ec;
  fs::create_symlink("/etc/passwd", scenario_dir / "files/passwd", ec);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  meros::FixtureCatalog catalog(meros::builtin_fixtures_dir());
  meros::Diagnostics diagnostics;
  auto scenario = meros::parse_scenario_text(text, scenario_dir / "scenario.yml", catalog, diagnostics);
  // A scenario comes back exactly when there was no error.
  if (scenario.has_value() != diagnostics.empty()) std::abort();
  std::size_t length = 0;
  for (const auto& d : diagnostics.sorted()) length += d.str().size();
  (void)length;
  return 0;
}
