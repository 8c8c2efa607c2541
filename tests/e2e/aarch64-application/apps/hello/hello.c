/* A static application of the two-bridges scenario: built on the host by
 * meros-test (images.tools.applications.hello) and installed into the
 * busybox image at /usr/local/bin/hello. */
#include <stdio.h>
#include <sys/utsname.h>

int main(void) {
  struct utsname host;
  if (uname(&host) == 0) printf("hello from a static application on %s (%s)\n", host.nodename, host.machine);
  else printf("hello from a static application\n");
  return 0;
}
