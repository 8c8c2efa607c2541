#!/usr/bin/python3
"""The JSON Schema of `meros-test schema` against the manifests we have.

usage: schema_check.py MEROS_TEST SOURCE_DIR

- the schema is a valid draft-07 schema (Debian's python3-jsonschema);
- every bundled scenario (scenarios/, tests/e2e/) and the one `meros-test
  init` writes validates against it;
- every type error of the bad-manifest corpus (tests/testdata/bad/*/
  expected.txt: wrong types, unknown keys, bad durations and sizes, words
  outside an enum) is rejected by it too, at the field the parser names.
Exit 0 when all hold, 1 with every problem listed otherwise, 77 (skip) when
python3-jsonschema or python3-yaml is missing.
"""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

try:
    import jsonschema
    import yaml
except ImportError as missing:
    print(f"skipped: {missing.name} is missing (apt-get install python3-jsonschema python3-yaml)")
    sys.exit(77)

# Messages of the parser that say "this value has the wrong type or shape",
# which a schema can express; range checks on addresses, name rules and
# cross-field rules stay the parser's alone.
TYPE_ERROR = re.compile(
    r"expected (a string|a list|a mapping|an integer from|true or false|a duration|a size)"
    r"|got a (list|mapping)|has no unit|unknown (duration|size) unit|invalid (duration|size) "
    r"|^unknown key"
    r"|expected (host-access or isolated|x86_64 or aarch64|direct or disk|down or up|tcp, udp or icmp"
    r"|allow, reject, drop or deny|busybox, debian or tarball)"
)
LINE = re.compile(r"^scenario\.yml:\d+:\d+: (.*)$")
UNKNOWN_KEY = re.compile(r"^unknown key '([^']*)' (?:in (\S+)|at the top level)")


def field_path(field):
    """'tests[0].matrix[5] to' -> ['tests', 0, 'matrix', 5]"""
    path = []
    for part in field.split(" ")[0].split("."):
        for name, index in re.findall(r"([^\[\]]+)|\[(\d+)\]", part):
            path.append(name if name else int(index))
    return path


def all_errors(errors):
    for error in errors:
        yield error
        yield from all_errors(error.context or [])


def covered(errors, message, top_keys):
    unknown = UNKNOWN_KEY.match(message)
    if unknown:
        key, section = unknown.group(1), unknown.group(2)
        path = field_path(section) if section else []
        return any(list(e.absolute_path) == path and e.validator == "additionalProperties" and repr(key) in e.message
                   for e in errors)
    field, _, _ = message.partition(": ")
    path = field_path(field)
    if not path or path[0] not in top_keys:
        path = []  # a message about the document as a whole
    return any(list(e.absolute_path)[:len(path)] == path for e in errors)


def load(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def main():
    meros_test, source = sys.argv[1], sys.argv[2]
    problems = []
    schema = json.loads(subprocess.run([meros_test, "schema"], check=True, capture_output=True, text=True).stdout)
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)

    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run([meros_test, "init", os.path.join(scratch, "new")], check=True, capture_output=True)
        good = sorted(glob.glob(os.path.join(source, "scenarios", "**", "scenario.yml"), recursive=True))
        good += sorted(glob.glob(os.path.join(source, "tests", "e2e", "**", "scenario.yml"), recursive=True))
        good.append(os.path.join(scratch, "new", "scenario.yml"))
        for path in good:
            for error in validator.iter_errors(load(path)):
                problems.append(f"{path}: rejected by the schema at {list(error.absolute_path)}: {error.message}")
        checked_good = len(good)

    checked_bad = 0
    for expected in sorted(glob.glob(os.path.join(source, "tests", "testdata", "bad", "*", "expected.txt"))):
        case = os.path.dirname(expected)
        type_errors = []
        with open(expected, encoding="utf-8") as f:
            for line in f:
                m = LINE.match(line.rstrip("\n"))
                if m and TYPE_ERROR.search(m.group(1)):
                    type_errors.append(m.group(1))
        if not type_errors or not os.path.exists(os.path.join(case, "scenario.yml")):
            continue
        try:
            document = load(os.path.join(case, "scenario.yml"))
        except yaml.YAMLError:
            continue  # not YAML to PyYAML either: nothing for a schema to say
        errors = list(all_errors(validator.iter_errors(document)))
        for message in type_errors:
            checked_bad += 1
            if not covered(errors, message, schema["properties"]):
                problems.append(f"{case}: the schema accepts what the parser rejects: {message}")

    for problem in problems:
        print(problem)
    print(f"{checked_good} bundled scenarios validated, {checked_bad} type errors of the bad corpus checked, "
          f"{len(problems)} problem(s)")
    if checked_bad < 40:
        print("too few type errors found in the corpus: is tests/testdata/bad there?")
        return 1
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
