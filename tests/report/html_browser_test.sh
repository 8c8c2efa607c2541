#!/bin/sh
# The HTML report in a real browser: runs the failing-on-purpose e2e
# scenario with real VMs, renders its reports/<run>/index.html in headless
# Chromium (Debian `chromium`) with the network cut off, takes a screenshot
# and checks the rendered DOM for the cells of a failing matrix row, the
# topology, the timeline and the failure evidence.
# usage: html_browser_test.sh MEROS_TEST SOURCE_DIR OUTPUT_DIR
# Exit 77 (skipped) without chromium, root or QEMU.
set -u
bin=$1 source=$2 out=$3
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "skipped: chromium is not installed (apt-get install chromium)"; exit 77; }
[ "$(id -u)" -eq 0 ] || { echo "skipped: running scenarios needs root"; exit 77; }
command -v qemu-system-x86_64 >/dev/null || { echo "skipped: qemu-system-x86_64 is missing"; exit 77; }

rm -rf "$out" && mkdir -p "$out" || exit 1
artifacts="$out/run"
"$bin" "$source/tests/e2e/failing" --artifacts "$artifacts" --junit "$out/junit.xml" >"$out/run.log" 2>&1
rc=$?
if [ "$rc" -ne 1 ]; then
  echo "the failing scenario should exit 1, got $rc"; cat "$out/run.log"; exit 1
fi
[ -s "$artifacts/index.html" ] || { echo "no $artifacts/index.html"; cat "$out/run.log"; exit 1; }

# No network: every host name resolves nowhere and every proxy is refused,
# besides the report's own Content-Security-Policy.
run_browser() {
  timeout 120 "$browser" --headless=new --no-sandbox --disable-gpu --no-first-run --disable-extensions \
    --host-resolver-rules="MAP * ~NOTFOUND" --proxy-server="127.0.0.1:9" \
    --user-data-dir="$out/profile" "$@" "file://$artifacts/index.html" 2>>"$out/chromium.log"
}
run_browser --window-size=1400,2600 --screenshot="$out/index.png" >/dev/null || { echo "chromium failed"; cat "$out/chromium.log"; exit 1; }
run_browser --dump-dom >"$out/dom.html" || { echo "chromium --dump-dom failed"; cat "$out/chromium.log"; exit 1; }

/usr/bin/python3 - "$out/dom.html" "$out/index.png" <<'PY'
import sys
from html.parser import HTMLParser

class Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.checks, self.bridges, self.texts, self.evidence, self.bars = [], [], [], [], []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = a.get("class", "")
        if tag == "span" and cls.startswith("check"):
            self.checks.append(a)
        if tag == "g" and cls == "bridge":
            self.bridges.append(a.get("data-bridge"))
        if tag == "g" and cls.startswith("bar"):
            self.bars.append(cls)
        if tag == "div" and cls.startswith("evidence"):
            self.evidence.append(a.get("data-case"))
    def handle_data(self, data):
        self.texts.append(data)

dom = open(sys.argv[1], encoding="utf-8").read()
p = Collect()
p.feed(dom)
problems = []

def cell(frm, to, target):
    for c in p.checks:
        if (c.get("data-from"), c.get("data-to"), c.get("data-target")) == (frm, to, target):
            return c
    problems.append(f"no matrix cell {frm} -> {to} {target}")
    return {}

# The failing rows, with expected and observed verdicts and their colour.
c = cell("alpha", "beta", "81/tcp")
if c and not (c.get("data-status") == "failed" and c.get("data-expected") == "drop" and c.get("data-observed", "").startswith("open")
              and "failed" in c.get("class", "")):
    problems.append(f"alpha -> beta 81/tcp should be a failed cell, expected drop, observed open: {c}")
c = cell("alpha", "host", "22/tcp")
if c and not (c.get("data-status") == "failed" and c.get("data-expected") == "allow" and c.get("data-observed", "").startswith("timeout")):
    problems.append(f"alpha -> host 22/tcp should be a failed cell, expected allow, observed timeout: {c}")
c = cell("alpha", "beta", "80/tcp")
if c and c.get("data-status") != "passed":
    problems.append(f"alpha -> beta 80/tcp should be a passed cell: {c}")
text = " ".join(p.texts)
for want in ["lan 10.0.40.0/24", "10.0.40.10", "10.0.40.11", "host-access", "alpha ready", "beta ready"]:
    if want not in text:
        problems.append(f"the page does not show {want!r}")
if p.bridges != ["lan"]:
    problems.append(f"topology bridges: {p.bridges}")
if "100.127." in text:
    problems.append("management addresses are drawn")
if not any(b.startswith("bar setup") for b in p.bars) or not any(b == "bar failed" for b in p.bars):
    problems.append(f"timeline bars: {p.bars}")
if "policy expectations: alpha -> beta 81/tcp drop" not in p.evidence:
    problems.append(f"no failure evidence for the failing row: {p.evidence}")
if "serial console of" not in text:
    problems.append("the evidence has no console tail")
png = open(sys.argv[2], "rb").read()
if not png.startswith(b"\x89PNG") or len(png) < 20000:
    problems.append(f"the screenshot is missing or blank ({len(png)} bytes)")
for problem in problems:
    print(problem)
print(f"{len(p.checks)} matrix cells, {len(p.bars)} timeline bars, {len(p.evidence)} failures with evidence; "
      f"screenshot {sys.argv[2]} ({len(png)} bytes)")
sys.exit(1 if problems else 0)
PY
