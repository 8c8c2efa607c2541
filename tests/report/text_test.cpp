#include "report/text.h"

#include <gtest/gtest.h>

#include <limits>

namespace meros {
namespace {

TEST(XmlText, KeepsTabNewlineAndPrintableText) {
  EXPECT_EQ(xml_text("a\tb\nc <&> \xC3\xBC \xE2\x86\x92 \xF0\x9F\x90\xA7"),
            "a\tb\nc <&> \xC3\xBC \xE2\x86\x92 \xF0\x9F\x90\xA7");
}

TEST(XmlText, DropsControlCharacters) {
  EXPECT_EQ(xml_text(std::string("a\x00" "b\x01\x08\x0B\x0C\x1B[0mc\x1F", 13)), "ab[0mc");
}

TEST(XmlText, NormalizesCarriageReturns) {
  EXPECT_EQ(xml_text("one\r\ntwo\rthree\r\r\n"), "one\ntwo\nthree\n\n");
}

TEST(XmlText, ReplacesMalformedUtf8) {
  const std::string replacement = "\xEF\xBF\xBD";
  EXPECT_EQ(xml_text("a\xFF" "b"), "a" + replacement + "b");
  EXPECT_EQ(xml_text("\xC0\xAF"), replacement + replacement);          // overlong '/'
  EXPECT_EQ(xml_text("\xED\xA0\x80"), replacement + replacement + replacement);  // surrogate
  EXPECT_EQ(xml_text("end\xE2\x82"), "end" + replacement + replacement);  // truncated
}

TEST(XmlText, DropsXmlNoncharacters) {
  EXPECT_EQ(xml_text("a\xEF\xBF\xBE" "b\xEF\xBF\xBF" "c"), "abc");
}

TEST(KeepTail, LeavesShortTextAlone) { EXPECT_EQ(keep_tail("short", 5), "short"); }

TEST(KeepTail, KeepsTheEndWithAMarker) {
  EXPECT_EQ(keep_tail("0123456789", 4), "[... 6 bytes cut ...]\n6789");
}

TEST(KeepTail, NeverStartsInsideAUtf8Sequence) {
  // "\xC3\xBC" is two bytes; keeping 3 bytes would start on its second one.
  EXPECT_EQ(keep_tail("aa\xC3\xBCxy", 3), "[... 4 bytes cut ...]\nxy");
}

TEST(KeepTail, DefaultLimitIs64KiB) {
  std::string big(kOutputLimitBytes + 100, 'x');
  std::string kept = keep_tail(big);
  EXPECT_EQ(kept.rfind("[... 100 bytes cut ...]\n", 0), 0u);
  EXPECT_EQ(kept.size(), kOutputLimitBytes + std::string("[... 100 bytes cut ...]\n").size());
}

TEST(OneLine, FoldsWhitespace) {
  EXPECT_EQ(one_line("  expected drop,\n\tobserved\r\n open  "), "expected drop, observed open");
}

TEST(OneLine, CutsLongMessages) {
  EXPECT_EQ(one_line("abcdefgh", 3), "abc [...]");
  EXPECT_EQ(one_line("a\xC3\xBC", 2), "a [...]");
}

TEST(FormatSeconds, MillisecondsWithoutExponent) {
  EXPECT_EQ(format_seconds(0), "0.000");
  EXPECT_EQ(format_seconds(1.2044), "1.204");
  EXPECT_EQ(format_seconds(1.2046), "1.205");
  EXPECT_EQ(format_seconds(1e-9), "0.000");
  EXPECT_EQ(format_seconds(123456.5), "123456.500");
}

TEST(FormatSeconds, ClampsNonsenseToZero) {
  EXPECT_EQ(format_seconds(-1), "0.000");
  EXPECT_EQ(format_seconds(std::numeric_limits<double>::quiet_NaN()), "0.000");
  EXPECT_EQ(format_seconds(std::numeric_limits<double>::infinity()), "0.000");
}

}  // namespace
}  // namespace meros
