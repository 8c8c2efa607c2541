// The libvirt mapping of harness/export/ on planned scenarios: no libvirt,
// QEMU or root (the real binary and virt-xml-validate: validate_bundled.sh).
#include <gtest/gtest.h>

#include "export/libvirt.h"
#include "test_scenarios.h"

namespace meros {
namespace {

using libvirt::domain_xml;
using libvirt::network_xml;

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

const char* kTwoNics = R"(
name: lv
bridges:
  lan: {subnet: 10.0.10.0/24, policy_type: host-access}
  dmz: {subnet: 10.0.20.0/24, policy_type: isolated}
virtual_machines:
  web:
    cpus: 2
    memory: 512M
    cmdline: "quiet loglevel=3"
    networks:
      - {bridge: lan, ip_addr: 10.0.10.5}
      - {bridge: dmz, ip_addr: 10.0.20.5, mac: "52:54:00:aa:bb:cc"}
    gateway: 10.0.10.1
  pcbox:
    machine: q35
    networks: [{bridge: dmz, ip_addr: 10.0.20.6, model: e1000}]
)";

std::string domain_of(const Plan& plan, const std::string& vm) {
  auto xml = domain_xml(plan, *plan.find_vm(vm));
  EXPECT_TRUE(xml) << (xml ? "" : xml.error().message);
  return xml ? *xml : "";
}

TEST(LibvirtExport, DirectBootNamesTheStoreKernelAndMerosCmdline) {
  auto planned = test::plan_text(kTwoNics);
  std::string xml = domain_of(planned->plan, "web");
  EXPECT_TRUE(has(xml, "<name>lv-web</name>"));
  EXPECT_TRUE(has(xml, "<kernel>/cache/kernel/default/bzImage</kernel>"));
  EXPECT_FALSE(has(xml, "<initrd>"));
  EXPECT_TRUE(has(xml, "<cmdline>console=ttyS0 root=/dev/vda rw init=/opt/meros/init"));
  EXPECT_TRUE(has(xml, "meros.hostname=web"));
  EXPECT_TRUE(has(xml, "meros.gw=10.0.10.1 quiet loglevel=3</cmdline>"));
  EXPECT_FALSE(has(xml, "mgmt0")) << "the management link does not carry over";
  EXPECT_TRUE(has(xml, "<source file='/cache/image/busybox/rootfs.qcow2'/>")) << "the base image, not a run's overlay";
  EXPECT_TRUE(has(xml, "<memory unit='MiB'>512</memory>"));
  EXPECT_TRUE(has(xml, "<vcpu placement='static'>2</vcpu>"));
  EXPECT_TRUE(has(xml, "<topology sockets='2' dies='1' cores='1' threads='1'/>"));
}

TEST(LibvirtExport, MicrovmBecomesQ35AndOtherMachinesStay) {
  auto planned = test::plan_text(kTwoNics);
  EXPECT_TRUE(has(domain_of(planned->plan, "web"), "<type arch='x86_64' machine='q35'>hvm</type>"));
  EXPECT_TRUE(has(domain_of(planned->plan, "pcbox"), "machine='q35'"));
  EXPECT_EQ(libvirt::libvirt_machine(planned->plan.find_vm("web")->machine), "q35");
}

TEST(LibvirtExport, EveryNicKeepsItsModelMacAndBridge) {
  auto planned = test::plan_text(kTwoNics);
  const VmPlan* web = planned->plan.find_vm("web");
  std::string xml = domain_of(planned->plan, "web");
  EXPECT_TRUE(has(xml, "<source network='lv-lan'/>\n      <mac address='" + web->machine.networks[0].mac.str() + "'/>\n      <model type='virtio'/>"));
  EXPECT_TRUE(has(xml, "<source network='lv-dmz'/>\n      <mac address='52:54:00:aa:bb:cc'/>"));
  // The MAC in the settings is the NIC's, so the guest names it eth0.
  EXPECT_TRUE(has(xml, "meros.if=" + web->machine.networks[0].mac.str() + ",eth0,10.0.10.5/24"));
  EXPECT_TRUE(has(domain_of(planned->plan, "pcbox"), "<model type='e1000'/>"));
}

TEST(LibvirtExport, MacsAreTheSameOnEveryExport) {
  auto first = test::plan_text(kTwoNics);
  auto second = test::plan_text(kTwoNics);
  EXPECT_EQ(domain_of(first->plan, "web"), domain_of(second->plan, "web"));
}

TEST(LibvirtExport, InitrdWhenTheKernelHasOne) {
  auto planned = test::plan_text(kTwoNics);
  VmPlan web = *planned->plan.find_vm("web");
  web.machine.initrd = "/cache/kernel/pkg/initrd.img";
  auto xml = domain_xml(planned->plan, web);
  ASSERT_TRUE(xml);
  EXPECT_TRUE(has(*xml, "<initrd>/cache/kernel/pkg/initrd.img</initrd>"));
}

TEST(LibvirtExport, DiskBootGoesThroughFirmwareWithSettingsInFwCfg) {
  Scenario scenario = test::parse_text(R"(
name: lvdisk
images:
  deb: {distribution: debian, bootable: true}
bridges:
  lan: {subnet: 10.0.40.0/24, policy_type: isolated}
virtual_machines:
  disk:
    machine: q35
    boot: disk
    image: deb
    networks: [{bridge: lan, ip_addr: 10.0.40.10}]
)");
  ScenarioFixtures fixtures = test::fake_fixtures(scenario);
  SelectedScenario selected{scenario, {}};
  auto topology = net::plan_topology(selected.scenario, libvirt::kExportRunId);
  ASSERT_TRUE(topology);
  auto plan = plan_scenario(selected, fixtures, *topology, test::test_settings());
  ASSERT_TRUE(plan) << plan.error().message;
  std::string xml = domain_of(*plan, "disk");
  EXPECT_FALSE(has(xml, "<kernel>"));
  EXPECT_TRUE(has(xml, "<boot dev='hd'/>"));
  EXPECT_TRUE(has(xml, "<sysinfo type='fwcfg'>\n    <entry name='opt/meros/cmdline'>meros.hostname=disk meros.if="));
  EXPECT_FALSE(has(xml, "mgmt0"));
}

// The plan's shares are set directly: the parser's rule (a directory inside
// the scenario) is tested with the parser.
TEST(LibvirtExport, SharedFoldersAreFilesystemDevicesUnderTheirMountTags) {
  auto planned = test::plan_text(kTwoNics);
  ASSERT_TRUE(planned);
  for (auto& vm : planned->plan.vms)
    if (vm.name() == "web") vm.machine.shares = {{"/srv/scenario/data", "/mnt/data", false}, {"/srv/scenario/out", "/srv/out", true}};
  std::string xml = domain_of(planned->plan, "web");
  EXPECT_TRUE(has(xml, "<filesystem type='mount' accessmode='mapped'>\n      <driver type='path'/>\n"
                       "      <source dir='/srv/scenario/data'/>\n      <target dir='meros-share0'/>\n      <readonly/>\n"))
      << xml;
  EXPECT_TRUE(has(xml, "<source dir='/srv/scenario/out'/>\n      <target dir='meros-share1'/>\n    </filesystem>")) << xml;
  // The settings the guest init mounts them from ride on the command line.
  EXPECT_TRUE(has(xml, "meros.share=meros-share0,ro,/mnt/data meros.share=meros-share1,rw,/srv/out")) << xml;
}

TEST(LibvirtExport, Aarch64RunsUnderTcgOnVirt) {
  auto planned = test::plan_text(R"(
name: lvarm
bridges:
  lan: {subnet: 10.0.40.0/24, policy_type: host-access}
virtual_machines:
  arm:
    arch: aarch64
    cpus: 2
    networks: [{bridge: lan, ip_addr: 10.0.40.20}]
)");
  std::string xml = domain_of(planned->plan, "arm");
  EXPECT_TRUE(has(xml, "<domain type='qemu'>"));
  EXPECT_TRUE(has(xml, "<type arch='aarch64' machine='virt'>hvm</type>"));
  EXPECT_TRUE(has(xml, "<cmdline>console=ttyAMA0 "));
  EXPECT_FALSE(has(xml, "<acpi/>")) << "virt's ACPI needs UEFI";
  EXPECT_FALSE(has(xml, "<topology")) << "one socket a CPU is for SeaBIOS on x86_64";
}

TEST(LibvirtExport, NetworksUseMerosBridgeNamesAndGateways) {
  auto planned = test::plan_text(kTwoNics);
  auto lan = network_xml(planned->plan, *planned->plan.topology.find_bridge("lan"));
  auto dmz = network_xml(planned->plan, *planned->plan.topology.find_bridge("dmz"));
  ASSERT_TRUE(lan && dmz);
  EXPECT_EQ(*lan,
            "<network>\n  <name>lv-lan</name>\n  <forward mode='route'/>\n  <bridge name='br-lan' stp='off' delay='0'/>\n"
            "  <ip address='10.0.10.1' prefix='24'/>\n</network>\n");
  EXPECT_FALSE(has(*dmz, "<forward")) << "isolated: libvirt's isolated network";
}

TEST(LibvirtExport, EscapesEveryValue) {
  auto escaped = libvirt::xml_escape("a&b<c>d\"e'f\tg\nh", "value");
  ASSERT_TRUE(escaped);
  EXPECT_EQ(*escaped, "a&amp;b&lt;c&gt;d&quot;e&apos;f&#9;g&#10;h");
  EXPECT_EQ(*libvirt::xml_escape("caf\xc3\xa9", "value"), "caf\xc3\xa9");
}

TEST(LibvirtExport, RejectsWhatXmlCannotCarry) {
  auto control = libvirt::xml_escape("a\x01" "b", "cmdline");
  ASSERT_FALSE(control);
  EXPECT_TRUE(has(control.error().message, "cmdline")) << control.error().message;
  EXPECT_FALSE(libvirt::xml_escape("\xff", "x"));
  EXPECT_FALSE(libvirt::xml_escape("\xc0\xaf", "x")) << "overlong";
  auto planned = test::plan_text(kTwoNics);
  VmPlan web = *planned->plan.find_vm("web");
  web.machine.cmdline = "x=</cmdline><evil/>";
  auto xml = domain_xml(planned->plan, web);
  ASSERT_TRUE(xml);
  EXPECT_TRUE(has(*xml, "x=&lt;/cmdline&gt;&lt;evil/&gt;</cmdline>"));
  web.machine.cmdline = "bell\x07";
  EXPECT_FALSE(domain_xml(planned->plan, web));
}

TEST(LibvirtExport, FilesHoldPolicyNotesAndFirewalls) {
  auto planned = test::plan_text(kTwoNics);
  auto files = libvirt::export_files(planned->plan, "/cache/keys/id_ed25519");
  ASSERT_TRUE(files) << files.error().message;
  std::vector<std::string> names;
  for (const auto& f : *files) names.push_back(f.name);
  EXPECT_EQ(names, (std::vector<std::string>{"network-lan.xml", "network-dmz.xml", "domain-web.xml", "domain-pcbox.xml",
                                             "policy.nft", "NOTES.md"}));
  const auto& policy = (*files)[4].content;
  EXPECT_TRUE(has(policy, "table inet meros")) << policy;
  const auto& notes = (*files)[5].content;
  EXPECT_TRUE(has(notes, "microvm became q35"));
  EXPECT_TRUE(has(notes, "management link"));
  EXPECT_TRUE(has(notes, "overlay"));
  EXPECT_TRUE(has(notes, "/cache/keys/id_ed25519"));
}

}  // namespace
}  // namespace meros
