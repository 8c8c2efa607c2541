#!/usr/bin/python3
"""The consumer CI templates (ci/github-actions.yml, ci/gitlab-ci.yml) cannot rot.

usage: ci_templates_test.py MEROS_TEST SOURCE_DIR WORK_DIR

Parses both templates, checks what a consumer relies on (fail-fast off, a
shard matrix, timeouts, the fixture cache keyed by `meros-test build
--cache-key`, JUnit published, reports kept on failure, no runner tag), then
runs their shell steps, in order and with the environment the CI would give
them, in a scratch consumer repository with two scenarios made by
`meros-test init`: every shard runs its scenario on real VMs and must leave
a JUnit file whose testcases carry the manifest's file and line.

What cannot happen on this machine is replaced by logging stand-ins on
PATH: `sudo` runs its command but only logs package installs, udev changes
and chown (the host must not change), `curl` and `apt-get` only log. The
installed `meros-test` is the one under test. `uses:` steps are checked
(their inputs point at what the shell steps produced) rather than run.
Exit 77 (skipped) without root, QEMU or python3-yaml.
"""
import glob
import os
import re
import shutil
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET

try:
    import yaml
except ImportError:
    print("skipped: python3-yaml is missing")
    sys.exit(77)

MEROS_TEST, SOURCE, WORK = (os.path.abspath(a) for a in sys.argv[1:4])
problems = []


def check(condition, message):
    if not condition:
        problems.append(message)
    return condition


STAND_INS = {
    "sudo": r'''#!/bin/sh
# Runs the command as the (root) caller, except what would change the host.
while [ $# -gt 0 ]; do case "$1" in --preserve-env*|-E|-H) shift ;; *) break ;; esac; done
case "$1" in
  apt-get|udevadm|chown|tee|*/install-deps.sh) echo "sudo $*" >>"$STAND_IN_LOG"; [ "$1" = tee ] && cat >/dev/null; exit 0 ;;
esac
exec "$@"
''',
    "curl": r'''#!/bin/sh
echo "curl $*" >>"$STAND_IN_LOG"
while [ $# -gt 0 ]; do [ "$1" = -o ] && { echo "stand-in package" >"$2"; }; shift; done
''',
    "apt-get": r'''#!/bin/sh
echo "apt-get $*" >>"$STAND_IN_LOG"
''',
}


def make_stand_ins(bin_dir):
    os.makedirs(bin_dir, exist_ok=True)
    for name, text in STAND_INS.items():
        path = os.path.join(bin_dir, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o755)
    os.symlink(os.path.abspath(MEROS_TEST), os.path.join(bin_dir, "meros-test"))


def make_consumer_repository(repo):
    os.makedirs(repo)
    for name in ("alpha", "beta"):
        subprocess.run([MEROS_TEST, "init", f"scenarios/{name}"], cwd=repo, check=True, capture_output=True)


def run_shell(script, cwd, env, what):
    """One CI shell step; GitHub's default shell is bash -eo pipefail."""
    result = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=cwd, env=env,
                            capture_output=True, text=True)
    log = os.path.join(WORK, "steps.log")
    with open(log, "a") as f:
        f.write(f"=== {what} (exit {result.returncode})\n{script}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}\n")
    return result


# --- GitHub Actions ------------------------------------------------------

class GithubContext:
    def __init__(self, workflow, job, shard=None):
        self.values = {"matrix.shard": str(shard) if shard is not None else "", "vars.MEROS_TEST_SOURCE": "",
                       "vars.MEROS_TEST_REF": "", "vars.MEROS_TEST_DEB_URL": "https://releases.invalid/meros-test_amd64.deb"}
        self.env = {k: str(v) for k, v in (workflow.get("env") or {}).items()}
        self.env.update({k: self.expand(str(v)) for k, v in (job.get("env") or {}).items()})
        self.failed = False

    def lookup(self, expression):
        expression = expression.strip()
        if expression.startswith("env."):
            return self.env[expression[4:]]
        if expression in self.values:
            return self.values[expression]
        raise KeyError(f"the test does not know the expression ${{{{ {expression} }}}}")

    def expand(self, text):
        return re.sub(r"\$\{\{(.*?)\}\}", lambda m: self.lookup(m.group(1)), text)

    def condition(self, text):
        if text is None:
            return not self.failed
        text = re.sub(r"^\$\{\{(.*)\}\}$", r"\1", str(text).strip()).strip()
        known = {"always()": True, "!cancelled()": True, "failure()": self.failed,
                 "vars.MEROS_TEST_SOURCE == ''": True, "vars.MEROS_TEST_SOURCE != ''": False}
        if text not in known:
            raise KeyError(f"the test does not know the condition {text!r}")
        return known[text]


def github_structure(workflow):
    jobs = workflow["jobs"]
    scenarios = jobs.get("scenarios", {})
    strategy = scenarios.get("strategy", {})
    check(strategy.get("fail-fast") is False, "github: scenarios.strategy.fail-fast must be false")
    shards = strategy.get("matrix", {}).get("shard", [])
    check(len(shards) >= 2 and shards == list(range(1, len(shards) + 1)), f"github: a shard matrix 1..N, got {shards}")
    check(str(workflow.get("env", {}).get("SHARDS")) == str(len(shards)), "github: env.SHARDS must equal the matrix size")
    for name, job in jobs.items():
        check(isinstance(job.get("timeout-minutes"), int), f"github: job {name} needs timeout-minutes")
    steps = scenarios.get("steps", [])
    uses = [s.get("uses", "") for s in steps]
    runs = "\n".join(s.get("run", "") for s in steps)
    check(any(u.startswith(("mikepenz/action-junit-report@", "dorny/test-reporter@", "EnricoMi/publish-unit-test-result-action@"))
              for u in uses), "github: the JUnit must be published with a report action")
    cache = [s for s in steps if s.get("uses", "").startswith("actions/cache@")]
    check(cache and "steps.fixtures.outputs.key" in cache[0]["with"]["key"], "github: the cache key must come from the fixtures step")
    check("meros-test build --cache-key scenarios/" in runs, "github: the cache key is meros-test build --cache-key scenarios/")
    check("/dev/kvm" in runs and "TCG" in runs, "github: KVM where /dev/kvm exists, else TCG")
    check("apt-get install -y -qq ./meros-test.deb" in runs, "github: meros-test is installed from the .deb")
    upload = [s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@")]
    check(upload and "failure()" in str(upload[0].get("if")), "github: the reports are uploaded on failure")
    package_runs = "\n".join(s.get("run", "") for s in jobs["package"]["steps"])
    check("MEROS_TEST_DEB_URL" in package_runs and "cpack -G DEB" in package_runs,
          "github: the package job documents both the release asset and the source build")


def run_github_job(workflow, name, job, repo, base_env, shard=None):
    context = GithubContext(workflow, job, shard)
    tag = f"github {name}" + (f" shard {shard}" if shard else "")
    outputs = {}
    github_output = os.path.join(WORK, f"github-output-{name}-{shard}")
    summary = os.path.join(WORK, f"github-summary-{name}-{shard}.md")
    for path in (github_output, summary):
        open(path, "w").close()
    for step in job["steps"]:
        if not context.condition(step.get("if")):
            continue
        label = step.get("name") or step.get("uses")
        context.values.update({f"steps.{k}.outputs.{o}": v for k, vs in outputs.items() for o, v in vs.items()})
        if "uses" in step:
            check_github_action(step, context, repo, tag)
            continue
        env = dict(base_env)
        env.update(context.env)
        env.update({k: context.expand(str(v)) for k, v in (step.get("env") or {}).items()})
        env.update({"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": github_output, "GITHUB_STEP_SUMMARY": summary,
                    "GITHUB_ENV": os.path.join(WORK, "github-env"), "GITHUB_WORKSPACE": repo})
        result = run_shell(context.expand(step["run"]), repo, env, f"{tag}: {label}")
        if not check(result.returncode == 0, f"{tag}: step {label!r} failed with {result.returncode} (see {WORK}/steps.log)"):
            context.failed = True
        if step.get("id"):
            with open(github_output) as f:
                outputs[step["id"]] = dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)
    return context, summary


def check_github_action(step, context, repo, tag):
    uses, inputs = step["uses"], step.get("with") or {}
    if uses.startswith("actions/cache@"):
        key = context.expand(inputs["key"])
        check(re.fullmatch(r"meros-test-fixtures-[0-9a-f]{64}", key), f"{tag}: cache key {key!r}")
        context.values["cache.key"] = key
    elif uses.startswith("actions/upload-artifact@"):
        path = context.expand(inputs["path"])
        check(glob.glob(os.path.join(repo, path)), f"{tag}: upload-artifact path {path} does not exist")
    elif uses.startswith("actions/download-artifact@"):
        shutil.copy(os.path.join(WORK, "package", "meros-test.deb"), repo)
    elif uses.startswith("mikepenz/action-junit-report@"):
        files = glob.glob(os.path.join(repo, context.expand(inputs["report_paths"])))
        if check(files, f"{tag}: no JUnit file matches {inputs['report_paths']}"):
            for path in files:
                check_junit(path, tag)


def check_junit(path, tag):
    cases = ET.parse(path).getroot().iter("testcase")
    cases = list(cases)
    check(cases, f"{tag}: {path} has no testcase")
    for case in cases:
        file, line = case.get("file", ""), case.get("line", "")
        check(re.fullmatch(r"scenarios/(alpha|beta)/scenario\.yml", file), f"{tag}: testcase {case.get('name')} file={file!r}")
        check(line.isdigit() and int(line) > 1, f"{tag}: testcase {case.get('name')} line={line!r}")
        check(case.find("failure") is None and case.find("error") is None, f"{tag}: testcase {case.get('name')} did not pass")


def github(base_env):
    with open(os.path.join(SOURCE, "ci", "github-actions.yml")) as f:
        workflow = yaml.safe_load(f)
    github_structure(workflow)
    package_dir = os.path.join(WORK, "package")
    os.makedirs(package_dir)
    run_github_job(workflow, "package", workflow["jobs"]["package"], package_dir, base_env)
    check(os.path.exists(os.path.join(package_dir, "meros-test.deb")), "github: the package job made no meros-test.deb")
    repo = os.path.join(WORK, "github-consumer")
    make_consumer_repository(repo)
    ran = []
    job = workflow["jobs"]["scenarios"]
    for shard in job["strategy"]["matrix"]["shard"]:
        context, summary = run_github_job(workflow, "scenarios", job, repo, base_env, shard)
        text = open(summary).read()
        check("| ✅ passed |" in text, f"github shard {shard}: no scenario table in the job summary")
        junit = os.path.join(repo, f"reports/junit-{shard}.xml")
        if os.path.exists(junit):
            ran += [c.get("classname") for c in ET.parse(junit).getroot().iter("testcase")]
        check(os.path.exists(os.path.join(repo, f"reports/shard-{shard}/index.html")), f"github shard {shard}: no index.html")
    check(sorted(set(ran)) == ["alpha", "beta"], f"github: the shards together ran {sorted(set(ran))}, not alpha and beta")


# --- GitLab CI -----------------------------------------------------------

def flatten(lines):
    for line in lines:
        if isinstance(line, list):
            yield from flatten(line)
        else:
            yield line


def gitlab(base_env):
    with open(os.path.join(SOURCE, "ci", "gitlab-ci.yml")) as f:
        pipeline = yaml.safe_load(f)
    job = pipeline["meros-test"]
    keyjob = pipeline["meros-test-cache-key"]
    for name, j in (("meros-test", job), ("meros-test-cache-key", keyjob)):
        check("tags" not in j, f"gitlab: {name} must not ask for a runner tag")
        check("timeout" in j, f"gitlab: {name} needs a timeout")
    check(isinstance(job.get("parallel"), int) and job["parallel"] >= 2, "gitlab: parallel: N")
    check(job.get("artifacts", {}).get("reports", {}).get("junit"), "gitlab: artifacts:reports:junit")
    check(job.get("artifacts", {}).get("when") == "always", "gitlab: artifacts when: always")
    check("$MEROS_FIXTURES_KEY" in job.get("cache", {}).get("key", ""), "gitlab: the cache key is the fixtures key")
    script = "\n".join(flatten(job["script"]))
    check("$CI_NODE_INDEX/$CI_NODE_TOTAL" in script, "gitlab: --shard from CI_NODE_INDEX/CI_NODE_TOTAL")
    check("meros-test build --cache-key scenarios/" in "\n".join(flatten(keyjob["script"])), "gitlab: build --cache-key")

    repo = os.path.join(WORK, "gitlab-consumer")
    make_consumer_repository(repo)
    env = dict(base_env)
    env.update({"CI_PROJECT_DIR": repo, "MEROS_TEST_DEB_URL": "https://releases.invalid/meros-test_amd64.deb"})
    for k, v in (pipeline.get("variables") or {}).items():
        env[k] = os.path.expandvars(str(v).replace("$CI_PROJECT_DIR", repo))
    # The shared store of this machine, not a fresh one: the template's own
    # value would build every fixture from nothing.
    if base_env.get("MEROS_TEST_CACHE"):
        env["MEROS_TEST_CACHE"] = base_env["MEROS_TEST_CACHE"]
    result = run_shell("\n".join(flatten(keyjob["script"])), repo, env, "gitlab: meros-test-cache-key")
    check(result.returncode == 0, f"gitlab: the cache key job failed ({WORK}/steps.log)")
    dotenv = os.path.join(repo, keyjob["artifacts"]["reports"]["dotenv"])
    key = open(dotenv).read().strip() if os.path.exists(dotenv) else ""
    check(re.fullmatch(r"MEROS_FIXTURES_KEY=[0-9a-f]{64}", key), f"gitlab: dotenv {key!r}")
    env[key.partition("=")[0] or "MEROS_FIXTURES_KEY"] = key.partition("=")[2]
    ran = []
    for index in range(1, job["parallel"] + 1):
        shard_env = dict(env, CI_NODE_INDEX=str(index), CI_NODE_TOTAL=str(job["parallel"]))
        result = run_shell(script, repo, shard_env, f"gitlab: meros-test {index}/{job['parallel']}")
        check(result.returncode == 0, f"gitlab: shard {index} failed with {result.returncode} ({WORK}/steps.log)")
        for path in glob.glob(os.path.join(repo, job["artifacts"]["reports"]["junit"])):
            ran += [c.get("classname") for c in ET.parse(path).getroot().iter("testcase")]
            check_junit(path, f"gitlab shard {index}")
    check(sorted(set(ran)) == ["alpha", "beta"], f"gitlab: the shards together ran {sorted(set(ran))}")
    check(glob.glob(os.path.join(repo, "reports", "shard-*", "index.html")), "gitlab: no HTML report in the artifacts")


def main():
    if os.geteuid() != 0:
        print("skipped: running scenarios needs root")
        return 77
    if not shutil.which("qemu-system-x86_64"):
        print("skipped: qemu-system-x86_64 is missing")
        return 77
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    bin_dir = os.path.join(WORK, "bin")
    make_stand_ins(bin_dir)
    log = os.path.join(WORK, "stand-ins.log")
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "CI_"))}
    base_env.update({"PATH": bin_dir + ":" + os.environ["PATH"], "STAND_IN_LOG": log})
    github(base_env)
    gitlab(base_env)
    logged = open(log).read() if os.path.exists(log) else ""
    check("apt-get install -y -qq ./meros-test.deb" in logged, "the templates never installed the .deb")
    check("curl -fsSL --retry 3 -o meros-test.deb https://releases.invalid/meros-test_amd64.deb" in logged,
          "the templates never downloaded the release package")
    for problem in problems:
        print(problem)
    print(f"{len(problems)} problem(s); step log: {WORK}/steps.log")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
