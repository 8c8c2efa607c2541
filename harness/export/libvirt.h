// The libvirt export of a scenario (scenario-format.md, "libvirt export"):
// a domain XML per VM, a network XML per bridge, the generated bridge
// policy as policy.nft and NOTES.md, the list of what does not carry over.
// Pure functions from a plan (fixtures already resolved) to file contents,
// so the mapping is unit-tested without libvirt, QEMU or root; the export
// command only writes the files.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "net/topology.h"
#include "plan/plan.h"
#include "util/result.h"

namespace meros::libvirt {

namespace fs = std::filesystem;

// The run id the export plans the network with: the MACs meros-test derives
// from a run id (net::derive_mac) are then the same on every export of a
// scenario, and a manifest's own mac: is kept as it is.
inline constexpr const char* kExportRunId = "libvirt";

// One file of the export directory.
struct ExportFile {
  std::string name;     // a plain file name inside the export directory
  std::string content;  // when source is empty
  fs::path source;      // a user file copied as it is (host.firewall, guest firewalls)
};

// Text for an XML attribute value or element content: & < > " ' as
// entities, tab, newline and carriage return as character references (so
// an attribute keeps them). An Error for what XML 1.0 cannot carry at all
// (other control characters, invalid UTF-8); what names it is in the message.
Result<std::string> xml_escape(std::string_view text, std::string_view what);

// libvirt names of the scenario's objects: libvirt's namespace is the whole
// host, so both carry the scenario's name ("<scenario>-<vm>").
std::string domain_name(const Scenario& scenario, const VirtualMachine& vm);
std::string network_name(const Scenario& scenario, const std::string& bridge);

// The machine type the domain gets: microvm has no libvirt support (its
// virtio-mmio devices cannot be described on x86_64), so it becomes q35
// with the same devices on virtio-pci; every other type is kept.
std::string libvirt_machine(const vm::MachineSpec& machine);
// virtio-net -> virtio; e1000, e1000e and rtl8139 keep their names.
std::string libvirt_nic_model(const std::string& model);

// The domain of one planned VM: its disk is vm.base_image, the fixture
// store's image itself (the user puts an overlay on it).
Result<std::string> domain_xml(const Plan& plan, const VmPlan& vm);
// The network of one planned bridge: the Linux bridge by the name
// meros-test gives it (policy.nft matches on it) and the gateway address.
Result<std::string> network_xml(const Plan& plan, const net::BridgeLink& bridge);
// NOTES.md: how to use the export and what of the scenario it leaves out.
std::string notes(const Plan& plan, const fs::path& client_key);

// Every file of the export, in the order of the notes.
Result<std::vector<ExportFile>> export_files(const Plan& plan, const fs::path& client_key);

// File names inside the export directory.
std::string domain_file(const VirtualMachine& vm);   // "domain-<vm>.xml"
std::string network_file(const std::string& bridge);  // "network-<bridge>.xml"

}  // namespace meros::libvirt
