// The small value types of the scenario format (manifest/values.h) and the
// YAML safety checks of manifest/yaml_loader.h.
#include <gtest/gtest.h>

#include <string>

#include "manifest/values.h"
#include "manifest/yaml_loader.h"

using namespace meros;

namespace {

template <class T>
std::string error_of(const Result<T>& result) {
  return result ? std::string("(no error)") : result.error().message;
}

}  // namespace

TEST(Values, ParsesDuration) { EXPECT_EQ(parse_duration("1m30s")->count(), 90000); }

TEST(Values, ParsesEveryDurationUnit) {
  EXPECT_EQ(parse_duration("500ms")->count(), 500);
  EXPECT_EQ(parse_duration("30s")->count(), 30'000);
  EXPECT_EQ(parse_duration("10m")->count(), 600'000);
  EXPECT_EQ(parse_duration("1h")->count(), 3'600'000);
  EXPECT_EQ(parse_duration("1h2m3s4ms")->count(), 3'723'004);
  EXPECT_EQ(parse_duration("0s")->count(), 0);
}

TEST(Values, RejectsDurationWithoutUnit) {
  EXPECT_EQ(error_of(parse_duration("10")), "duration '10' has no unit: expected a duration such as 500ms, 30s, 10m or 1h");
}

TEST(Values, RejectsUnknownDurationUnit) {
  EXPECT_EQ(error_of(parse_duration("1d")), "unknown duration unit 'd' in '1d': use ms, s, m or h");
  EXPECT_FALSE(parse_duration("5 s"));
  EXPECT_FALSE(parse_duration("1.5s"));
  EXPECT_FALSE(parse_duration(""));
  EXPECT_FALSE(parse_duration("-1s"));
  EXPECT_FALSE(parse_duration("s"));
}

TEST(Values, RejectsHugeDuration) {
  EXPECT_EQ(error_of(parse_duration("99999999999h")), "duration '99999999999h' is too long");
  EXPECT_FALSE(parse_duration("99999999999999999999999s"));
}

TEST(Values, FormatsDuration) {
  EXPECT_EQ(format_duration(Duration(3'600'000)), "1h");
  EXPECT_EQ(format_duration(Duration(600'000)), "10m");
  EXPECT_EQ(format_duration(Duration(30'000)), "30s");
  EXPECT_EQ(format_duration(Duration(1500)), "1500ms");
  EXPECT_EQ(format_duration(Duration(0)), "0ms");
}

TEST(Values, ParsesSizes) {
  EXPECT_EQ(*parse_size("64K"), 64ull << 10);
  EXPECT_EQ(*parse_size("512M"), 512ull << 20);
  EXPECT_EQ(*parse_size("2G"), 2ull << 30);
  EXPECT_EQ(*parse_size("1T"), 1ull << 40);
  // MB, MiB and lower case mean the same binary unit.
  EXPECT_EQ(*parse_size("512MB"), 512ull << 20);
  EXPECT_EQ(*parse_size("512MiB"), 512ull << 20);
  EXPECT_EQ(*parse_size("2g"), 2ull << 30);
}

TEST(Values, RejectsSizeWithoutUnit) {
  EXPECT_EQ(error_of(parse_size("1024")), "size '1024' has no unit: expected a size such as 512M, 2G or 64K");
}

TEST(Values, RejectsUnknownSizeUnit) {
  EXPECT_EQ(error_of(parse_size("1Q")), "unknown size unit 'Q' in '1Q': use K, M, G or T");
  EXPECT_EQ(error_of(parse_size("1.5G")), "invalid size '1.5G': expected a size such as 512M, 2G or 64K");
  EXPECT_FALSE(parse_size("2 G"));
  EXPECT_FALSE(parse_size("G"));
  EXPECT_FALSE(parse_size("1G2M"));
  EXPECT_FALSE(parse_size("99999999T"));
}

TEST(Values, ParsesMemoryWithMebibyteDefault) {
  EXPECT_EQ(*parse_memory_mib("256"), 256u);
  EXPECT_EQ(*parse_memory_mib("512M"), 512u);
  EXPECT_EQ(*parse_memory_mib("2G"), 2048u);
  EXPECT_EQ(error_of(parse_memory_mib("512K")), "memory '512K' is not a whole number of MiB");
  EXPECT_FALSE(parse_memory_mib("lots"));
}

TEST(Values, ParsesIpv4) {
  EXPECT_EQ(parse_ipv4("10.0.10.21")->value, 0x0a000a15u);
  EXPECT_EQ(parse_ipv4("0.0.0.0")->value, 0u);
  EXPECT_EQ(parse_ipv4("255.255.255.255")->value, 0xffffffffu);
  EXPECT_EQ(parse_ipv4("192.168.1.1")->str(), "192.168.1.1");
}

TEST(Values, RejectsBadIpv4) {
  const char* bad[] = {"10.0.10.256", "10.0.10", "10.0.10.1.1", "010.0.0.1", "10.0.0.-1", "a.b.c.d", "", "10..0.1",
                       "10.0.0.1 ", "1234.0.0.1"};
  for (const char* text : bad) EXPECT_FALSE(parse_ipv4(text)) << text;
  EXPECT_EQ(error_of(parse_ipv4("10.0.10.256")),
            "invalid IPv4 address '10.0.10.256': expected four numbers 0-255 such as 10.0.10.21");
}

TEST(Values, ParsesCidr) {
  auto cidr = parse_cidr("10.0.10.0/24");
  ASSERT_TRUE(cidr);
  EXPECT_EQ(cidr->prefix, 24);
  EXPECT_EQ(cidr->str(), "10.0.10.0/24");
  EXPECT_EQ(cidr->first_host().str(), "10.0.10.1");
  EXPECT_EQ(cidr->broadcast().str(), "10.0.10.255");
  EXPECT_TRUE(cidr->contains(*parse_ipv4("10.0.10.200")));
  EXPECT_FALSE(cidr->contains(*parse_ipv4("10.0.11.1")));
  EXPECT_EQ(parse_cidr("0.0.0.0/0")->mask(), 0u);
  EXPECT_EQ(parse_cidr("10.0.0.1/32")->mask(), 0xffffffffu);
}

TEST(Values, RejectsCidrWithHostBits) {
  EXPECT_EQ(error_of(parse_cidr("10.0.10.5/24")), "subnet '10.0.10.5/24' has host bits set: did you mean 10.0.10.0/24?");
}

TEST(Values, RejectsCidrPrefixOutOfRange) {
  EXPECT_EQ(error_of(parse_cidr("10.0.0.0/33")), "invalid prefix length in '10.0.0.0/33': expected 0 to 32");
  EXPECT_FALSE(parse_cidr("10.0.0.0/-1"));
  EXPECT_FALSE(parse_cidr("10.0.0.0/"));
  EXPECT_FALSE(parse_cidr("10.0.0.0/24/8"));
  EXPECT_EQ(error_of(parse_cidr("10.0.0.0")), "invalid subnet '10.0.0.0': expected address/prefix such as 10.0.10.0/24");
}

TEST(Values, CidrOverlaps) {
  auto a = *parse_cidr("10.0.0.0/16"), b = *parse_cidr("10.0.20.0/24"), c = *parse_cidr("10.1.0.0/16");
  EXPECT_TRUE(a.overlaps(b));
  EXPECT_TRUE(b.overlaps(a));
  EXPECT_FALSE(a.overlaps(c));
  EXPECT_TRUE(parse_cidr("0.0.0.0/0")->overlaps(c));
}

TEST(Values, ParsesCidrOrAddress) {
  EXPECT_EQ(parse_cidr_or_address("10.0.10.5")->prefix, 32);
  EXPECT_EQ(parse_cidr_or_address("10.0.10.0/28")->prefix, 28);
  EXPECT_FALSE(parse_cidr_or_address("10.0.10.5/24"));
}

TEST(Values, ParsesMac) {
  EXPECT_EQ(parse_mac("52:54:00:12:34:56")->str(), "52:54:00:12:34:56");
  EXPECT_EQ(parse_mac("52-54-00-AB-cd-EF")->str(), "52:54:00:ab:cd:ef");
}

TEST(Values, RejectsMulticastMac) {
  EXPECT_EQ(error_of(parse_mac("01:00:5e:00:00:01")),
            "MAC address '01:00:5e:00:00:01' is a multicast address: the first byte must be even, e.g. 52:54:00:...");
  EXPECT_FALSE(parse_mac("ff:ff:ff:ff:ff:ff"));
}

TEST(Values, RejectsMalformedMac) {
  const char* bad[] = {"52:54:00:12:34", "52:54:00:12:34:56:78", "52:54:00:zz:34:56", "525400123456", "52.54.00.12.34.56", ""};
  for (const char* text : bad) EXPECT_FALSE(parse_mac(text)) << text;
}

TEST(Values, ParsesPortProtoBothWays) {
  EXPECT_EQ(*parse_port_proto("80/tcp"), (PortProto{80, Proto::tcp}));
  EXPECT_EQ(*parse_port_proto("tcp/80"), (PortProto{80, Proto::tcp}));
  EXPECT_EQ(*parse_port_proto("53/udp"), (PortProto{53, Proto::udp}));
  EXPECT_EQ(*parse_port_proto("udp/53"), (PortProto{53, Proto::udp}));
  EXPECT_EQ(*parse_port_proto("icmp"), (PortProto{0, Proto::icmp}));
  EXPECT_EQ(parse_port_proto("tcp/443")->str(), "443/tcp");
  EXPECT_EQ(parse_port_proto("icmp")->str(), "icmp");
}

TEST(Values, RejectsBadPortProto) {
  EXPECT_EQ(error_of(parse_port_proto("80/icmp")), "icmp takes no port in '80/icmp': write icmp");
  EXPECT_EQ(error_of(parse_port_proto("icmp/80")), "icmp takes no port in 'icmp/80': write icmp");
  EXPECT_EQ(error_of(parse_port_proto("80")), "'80' has no protocol: write 80/tcp or 80/udp");
  EXPECT_EQ(error_of(parse_port_proto("tcp")), "'tcp' has no port: write e.g. 80/tcp");
  EXPECT_EQ(error_of(parse_port_proto("80/sctp")), "unknown protocol 'sctp' in '80/sctp': expected tcp, udp or icmp");
  EXPECT_EQ(error_of(parse_port_proto("70000/tcp")), "invalid port '70000' in '70000/tcp': expected a number from 1 to 65535");
  EXPECT_EQ(error_of(parse_port_proto("0/udp")), "invalid port '0' in '0/udp': expected a number from 1 to 65535");
  EXPECT_FALSE(parse_port_proto(""));
  EXPECT_FALSE(parse_port_proto("/"));
  EXPECT_FALSE(parse_port_proto("tcp/udp"));
  EXPECT_FALSE(parse_port_proto("80/tcp/1"));
}

TEST(Values, ParsesPort) {
  EXPECT_EQ(*parse_port("1"), 1);
  EXPECT_EQ(*parse_port("65535"), 65535);
  EXPECT_FALSE(parse_port("0"));
  EXPECT_FALSE(parse_port("65536"));
  EXPECT_FALSE(parse_port("http"));
  EXPECT_FALSE(parse_port("-1"));
}

TEST(Values, ParsesProto) {
  EXPECT_EQ(parse_proto("tcp"), Proto::tcp);
  EXPECT_EQ(parse_proto("udp"), Proto::udp);
  EXPECT_EQ(parse_proto("icmp"), Proto::icmp);
  EXPECT_EQ(parse_proto("TCP"), std::nullopt);
  EXPECT_EQ(to_string(Proto::udp), "udp");
}

TEST(Values, EditDistance) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("abc", ""), 3u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("memroy", "memory"), 1u);  // a swap of neighbours is one edit
  EXPECT_EQ(edit_distance("wbe", "web"), 1u);
  EXPECT_EQ(edit_distance("subnet", "subnet"), 0u);
  EXPECT_EQ(edit_distance("tarbal", "tarball"), 1u);
  EXPECT_EQ(edit_distance("ab", "ba"), 1u);
}

TEST(YamlDepth, AcceptsShallowDocuments) {
  EXPECT_EQ(find_excessive_nesting("a:\n  b:\n    - [1, {c: d}]\n", 64), std::nullopt);
  EXPECT_EQ(find_excessive_nesting("", 64), std::nullopt);
}

TEST(YamlDepth, FindsDeepFlowNesting) {
  std::string text = "tags: " + std::string(100, '[') + std::string(100, ']') + "\n";
  auto deep = find_excessive_nesting(text, 64);
  ASSERT_TRUE(deep);
  EXPECT_EQ(deep->first, 1);
}

TEST(YamlDepth, FindsDeepBlockSequences) {
  std::string text = "tests:\n  ";
  for (int i = 0; i < 100; ++i) text += "- ";
  text += "x\n";
  auto deep = find_excessive_nesting(text, 64);
  ASSERT_TRUE(deep);
  EXPECT_EQ(deep->first, 2);
}

TEST(YamlDepth, FindsDeepIndentation) {
  std::string text;
  for (int i = 0; i < 100; ++i) text += std::string(i, ' ') + "k:\n";
  auto deep = find_excessive_nesting(text, 64);
  ASSERT_TRUE(deep);
  EXPECT_EQ(deep->first, 65);  // line 65 is the 65th level
}

TEST(YamlDepth, IgnoresBracketsInStringsCommentsAndBlockScalars) {
  std::string brackets(100, '[');
  EXPECT_EQ(find_excessive_nesting("a: \"" + brackets + "\"\n", 64), std::nullopt);
  EXPECT_EQ(find_excessive_nesting("a: '" + brackets + "'\n", 64), std::nullopt);
  EXPECT_EQ(find_excessive_nesting("a: 1 # " + brackets + "\n", 64), std::nullopt);
  EXPECT_EQ(find_excessive_nesting("run: |\n  " + brackets + "\nb: 2\n", 64), std::nullopt);
  EXPECT_EQ(find_excessive_nesting("run: echo " + brackets + "\n", 64), std::nullopt);
  EXPECT_EQ(find_excessive_nesting("- >-\n  " + brackets + "\n", 64), std::nullopt);
  EXPECT_EQ(find_excessive_nesting("a: 'it''s " + brackets + "'\n", 64), std::nullopt);
  EXPECT_EQ(find_excessive_nesting("a: \"\\\" " + brackets + "\"\n", 64), std::nullopt);
}

TEST(YamlDepth, BlockScalarsEndWithTheirIndentation) {
  std::string text = "a: |\n  text\nb: " + std::string(100, '[') + std::string(100, ']') + "\n";
  EXPECT_TRUE(find_excessive_nesting(text, 64));
}

TEST(YamlDepth, QuotedKeysDoNotHideBrackets) {
  EXPECT_TRUE(find_excessive_nesting("\"key\": " + std::string(100, '[') + "\n", 64));
}

TEST(YamlDepth, QuotesInsidePlainScalarsDoNotHideBrackets) {
  // "don't" has no closing quote; the brackets after it still nest.
  std::string text = "a: [x'" + std::string(100, '[') + "\n";
  EXPECT_TRUE(find_excessive_nesting(text, 64));
}
