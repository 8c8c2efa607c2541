// The packets of a capture file that match a BPF filter, read with libpcap
// (which reads pcapng). Header-only, for the tests of the bridge capture
// (tests/net) and the e2e tests that look into a run's captures. A file or
// filter libpcap cannot take is a test failure, and the count is -1.
#pragma once

#include <gtest/gtest.h>

#include <pcap/pcap.h>

#include <filesystem>
#include <string>

namespace meros::testing_support {

inline int count_matching(const std::filesystem::path& file, const std::string& filter) {
  char errbuf[PCAP_ERRBUF_SIZE] = "";
  pcap_t* handle = pcap_open_offline(file.c_str(), errbuf);
  if (!handle) {
    ADD_FAILURE() << file << ": " << errbuf;
    return -1;
  }
  bpf_program program{};
  if (pcap_compile(handle, &program, filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
    ADD_FAILURE() << "filter " << filter << ": " << pcap_geterr(handle);
    pcap_close(handle);
    return -1;
  }
  int count = 0;
  pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  while (pcap_next_ex(handle, &header, &data) == 1) count += pcap_offline_filter(&program, header, data) ? 1 : 0;
  pcap_freecode(&program);
  pcap_close(handle);
  return count;
}

}  // namespace meros::testing_support
