#!/usr/bin/env python3
"""Checks Amazon States Language (JSONPath) definitions for rules that AWS enforces when a
state machine is created, or that make an execution fail, and that asl-validator 4.0.0 does
not check: States.ALL alone and last, field ranges and combinations, transitions, paths and
the context object, intrinsic functions, integration parameters, DynamoDB expressions, and
paths a state reads that its input may lack.

    scripts/asl_rules.py [--verbose] DIR_OR_FILE...   every *.asl.json below each DIR
    scripts/asl_rules.py --self-test                  asl_rules/bad.asl.json must give exactly
                                                      the findings listed in asl_rules/bad.expected

Severities: CREATE (AWS rejects the definition), RUNTIME (an execution or a task fails),
SUSPECT (probably wrong, not confirmed), INFO. CREATE and RUNTIME findings are printed one a
line and make the exit status 1; SUSPECT and INFO are counted per rule (listed with
--verbose). A definition in DIR/statemachines/ next to DIR/manifest.json (jobnet2sfn output)
also gets cross-machine checks. Exit status 2: bad usage, or input the checker cannot use.

Every rule cites its source in a comment. Short forms used there:
    dg/PAGE      https://docs.aws.amazon.com/step-functions/latest/dg/PAGE
    sfn-api/X    https://docs.aws.amazon.com/step-functions/latest/apireference/API_X.html
    spec         https://states-language.net/spec.html
    owner/repo#N a GitHub issue or pull request
"""
import argparse
import collections
import functools
import json
import os
import re
import sys

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "asl_rules")
SEVERITIES = ("CREATE", "RUNTIME", "SUSPECT", "INFO")
FAILING = ("CREATE", "RUNTIME")

Finding = collections.namedtuple("Finding", "sev rule file where msg")
FINDINGS = []


def report(sev, rule, file, where, msg):
    FINDINGS.append(Finding(sev, rule, file, where, msg))


class InputError(Exception):
    """Input the checker cannot use: exit status 2."""


# --------------------------------------------------------------------------- language tables
MAX_INT = 99999999  # upper bound of Seconds, IntervalSeconds, MaxAttempts, TimeoutSeconds (pages below)
# Fields per state type: spec ("State Types" table), dg/state-pass.html, dg/state-task.html,
# dg/state-choice.html, dg/state-wait.html, dg/state-succeed.html, dg/state-fail.html,
# dg/state-parallel.html, dg/state-map.html; top level: dg/statemachine-structure.html.
TOP_FIELDS = {"Comment", "StartAt", "States", "TimeoutSeconds", "Version", "QueryLanguage"}
COMMON = {"Type", "Comment", "QueryLanguage"}
IO = {"InputPath", "OutputPath"}
FIELDS = {
    "Pass": COMMON | IO | {"Next", "End", "ResultPath", "Parameters", "Result", "Assign"},
    "Task": COMMON | IO | {"Next", "End", "ResultPath", "Parameters", "ResultSelector", "Retry", "Catch",
                           "Resource", "TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds",
                           "HeartbeatSecondsPath", "Credentials", "Assign"},
    "Choice": COMMON | IO | {"Choices", "Default", "Assign"},
    "Wait": COMMON | IO | {"Next", "End", "Seconds", "Timestamp", "SecondsPath", "TimestampPath", "Assign"},
    "Succeed": COMMON | IO,
    "Fail": COMMON | {"Error", "ErrorPath", "Cause", "CausePath"},
    "Parallel": COMMON | IO | {"Next", "End", "ResultPath", "Parameters", "ResultSelector", "Retry", "Catch",
                               "Branches", "Assign"},
    "Map": COMMON | IO | {"Next", "End", "ResultPath", "Parameters", "ItemSelector", "ResultSelector", "Retry",
                          "Catch", "Iterator", "ItemProcessor", "ItemsPath", "MaxConcurrency",
                          "MaxConcurrencyPath", "ItemReader", "ItemBatcher", "ResultWriter",
                          "ToleratedFailurePercentage", "ToleratedFailurePercentagePath",
                          "ToleratedFailureCount", "ToleratedFailureCountPath", "Label", "Assign"},
}
BRANCH_FIELDS = {"StartAt", "States", "Comment"}
JSONATA_ONLY = {"Arguments", "Output", "Condition", "Items"}  # dg/transforming-data.html
NEEDS_TRANSITION = {"Pass", "Task", "Wait", "Parallel", "Map"}
# Retrier and catcher fields, predefined error names: dg/concepts-error-handling.html
RETRIER_FIELDS = {"ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds",
                  "JitterStrategy", "Comment"}
CATCHER_FIELDS = {"ErrorEquals", "Next", "ResultPath", "Assign", "Comment"}
KNOWN_STATES_ERRORS = {
    "States.ALL", "States.DataLimitExceeded", "States.Runtime", "States.HeartbeatTimeout", "States.Timeout",
    "States.TaskFailed", "States.Permissions", "States.ResultPathMatchFailure", "States.ParameterPathFailure",
    "States.QueryEvaluationError", "States.BranchFailed", "States.NoChoiceMatched", "States.IntrinsicFailure",
    "States.ExceedToleratedFailureThreshold", "States.ItemReaderFailed", "States.ResultWriterFailed",
    "States.Http.Socket"}

# Choice rule operators: dg/state-choice.html
STRING_OPS = {"StringEquals", "StringLessThan", "StringGreaterThan", "StringLessThanEquals",
              "StringGreaterThanEquals", "StringMatches"}
NUMERIC_OPS = {"NumericEquals", "NumericLessThan", "NumericGreaterThan", "NumericLessThanEquals",
               "NumericGreaterThanEquals"}
BOOL_OPS = {"BooleanEquals"}
TS_OPS = {"TimestampEquals", "TimestampLessThan", "TimestampGreaterThan", "TimestampLessThanEquals",
          "TimestampGreaterThanEquals"}
TEST_OPS = {"IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp"}
PATH_OPS = {op + "Path" for op in STRING_OPS - {"StringMatches"} | NUMERIC_OPS | BOOL_OPS | TS_OPS}
ALL_OPS = STRING_OPS | NUMERIC_OPS | BOOL_OPS | TS_OPS | TEST_OPS | PATH_OPS

# Context object: dg/input-output-contextobject.html
CONTEXT_FIELDS = {
    "Execution": {"Id", "Input", "Name", "RoleArn", "StartTime", "RedriveCount", "RedriveTime"},
    "State": {"EnteredTime", "Name", "RetryCount"},
    "StateMachine": {"Id", "Name"},
    "Task": {"Token"},
    "Map": {"Item"},
}

# Timestamps: dg/state-wait.html ("RFC3339 profile of ISO 8601 ... uppercase T ... uppercase Z")
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
# Execution names: sfn-api/StartExecution ("name": 1..80 characters, no white space, brackets,
# wildcards, special characters or control characters; only 0-9A-Za-z-_ for CloudWatch logging).
NAME_SAFE = re.compile(r"^[A-Za-z0-9_-]*$")
NAME_FORBIDDEN = re.compile(r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]")


def load_words(name):
    with open(os.path.join(DATA, name), encoding="utf-8") as fh:
        return {w for line in fh if not line.startswith("#") for w in line.split()}


DDB_RESERVED = load_words("ddb_reserved.txt")

# --------------------------------------------------------------------------- paths
# dg/amazon-states-language-paths.html: a field name with characters outside the JsonPath ABNF
# rule member-name-shorthand (ALPHA, DIGIT, "_", non-ASCII; not first a digit) needs bracket
# notation ($.abc.['def ghi']); a Reference Path uses only . and [] and identifies one node.
NAME = r"[A-Za-z_\u0080-\ud7ff\ue000-\U0010ffff][A-Za-z0-9_\u0080-\ud7ff\ue000-\U0010ffff]*"
QUOTED = r"\.?\['(?:[^'\\]|\\.)*'\]"
REF_SEG = rf"(?:\.{NAME}|\[\d+\]|{QUOTED})"
SEG = rf"(?:{REF_SEG}|\[\*\])"
REF_PATH = re.compile(rf"^\${REF_SEG}*$")
PATH = re.compile(rf"^\${SEG}*$")
CTX_PATH = re.compile(rf"^\$\${SEG}*$")
# A Path (not a Reference Path) may use the whole JsonPath syntax (filters, slices, deep scan):
# those are left unchecked.
JSONPATH_OPERATORS = re.compile(r"\.\.|\[\?|@|\[-?\d*:|\*")


@functools.lru_cache(maxsize=None)
def path_segments(p):
    """'$.a.b[0]' -> ('a', 'b', 0); '$$.X' -> ('$$', 'X'); None if not a simple path."""
    out = []
    if p.startswith("$$"):
        out.append("$$")
        i = 2
    elif p.startswith("$"):
        i = 1
    else:
        return None
    while i < len(p):
        if p.startswith(".['", i):
            i += 1
        if p.startswith("['", i):
            j = p.find("']", i)
            if j < 0:
                return None
            out.append(p[i + 2:j])
            i = j + 2
        elif p[i] == ".":
            m = re.match(r"\.([^.\[]+)", p[i:])
            if not m:
                return None
            out.append(m.group(1))
            i += len(m.group(0))
        elif p[i] == "[":
            m = re.match(r"\[(\d+|\*)\]", p[i:])
            if not m:
                return None
            out.append(int(m.group(1)) if m.group(1) != "*" else "*")
            i += len(m.group(0))
        else:
            return None
    return tuple(out)


def check_context_path(p, file, where):
    # dg/input-output-contextobject.html: a path to a field the context object does not have
    # fails the state with States.Runtime (dg/concepts-error-handling.html).
    segs = path_segments(p)
    if not segs or len(segs) < 2:
        return
    fields = CONTEXT_FIELDS.get(segs[1])
    if fields is None or (len(segs) > 2 and segs[2] not in fields):
        report("RUNTIME", "context-path", file, where, f"the context object has no field {p!r}")


def check_path(value, file, where, kind="path"):
    """kind: 'path' (Path, may use $$), 'ref' (Reference Path, no $$), 'ref$$' (either)."""
    # spec ("Paths", "Reference Paths"), dg/amazon-states-language-paths.html
    if not isinstance(value, str):
        report("CREATE", "path-type", file, where, f"{kind} must be a string, got {value!r}")
        return
    if value.startswith("$$"):
        if kind == "ref":
            report("CREATE", "reference-path", file, where,
                   f"{value!r}: a Reference Path cannot use the context object")
        elif CTX_PATH.match(value):
            check_context_path(value, file, where)
        elif not (kind == "path" and JSONPATH_OPERATORS.search(value)):
            report("CREATE", "path-syntax", file, where, f"invalid context object path {value!r}")
        return
    if kind.startswith("ref"):
        if not REF_PATH.match(value):
            report("CREATE", "path-syntax", file, where, f"{value!r} is not a valid Reference Path")
    elif not PATH.match(value) and not JSONPATH_OPERATORS.search(value):
        report("CREATE", "path-syntax", file, where, f"{value!r} is not a valid JSONPath")


# --------------------------------------------------------------------------- intrinsic functions
# Names, arities and argument rules: dg/intrinsic-functions.html
INTRINSIC_ARITY = {
    "States.Format": (1, None), "States.StringToJson": (1, 1), "States.JsonToString": (1, 1),
    "States.Array": (0, None), "States.ArrayPartition": (2, 2), "States.ArrayContains": (2, 2),
    "States.ArrayRange": (3, 3), "States.ArrayGetItem": (2, 2), "States.ArrayLength": (1, 1),
    "States.ArrayUnique": (1, 1), "States.Base64Encode": (1, 1), "States.Base64Decode": (1, 1),
    "States.Hash": (2, 2), "States.JsonMerge": (3, 3), "States.MathRandom": (2, 3), "States.MathAdd": (2, 2),
    "States.StringSplit": (2, 2), "States.UUID": (0, 0),
}
HASH_ALGOS = {"MD5", "SHA-1", "SHA-256", "SHA-384", "SHA-512"}
NON_SCALAR_INTRINSICS = {"States.Array", "States.StringSplit", "States.ArrayPartition", "States.ArrayRange",
                         "States.JsonMerge", "States.StringToJson"}


class IntrinsicError(Exception):
    pass


class Call:
    def __init__(self, name, args):
        self.name, self.args = name, args


class Lit:
    def __init__(self, kind, value):
        # kind: str|num|bool|null; a str literal's value is a list of ("chr"|"esc", character)
        self.kind, self.value = kind, value


class PathArg:
    def __init__(self, text):
        self.text = text


@functools.lru_cache(maxsize=None)
def parse_intrinsic(s):
    """Parse 'States.X(arg, ...)'; return (Call, nesting depth) or raise IntrinsicError."""
    pos = 0
    n = len(s)

    def skip_ws():
        nonlocal pos
        while pos < n and s[pos] in " \t\r\n":
            pos += 1

    def parse_expr(depth):
        nonlocal pos
        skip_ws()
        if s.startswith("States.", pos):
            m = re.match(r"States\.[A-Za-z0-9]+", s[pos:])
            if not m:
                raise IntrinsicError(f"bad function name at offset {pos}")
            name = m.group(0)
            pos += len(name)
            if pos >= n or s[pos] != "(":
                raise IntrinsicError(f"expected '(' after {name}")
            pos += 1
            args = []
            skip_ws()
            if pos < n and s[pos] == ")":
                pos += 1
                return Call(name, args), depth + 1
            maxd = depth + 1
            while True:
                a, d = parse_expr(depth + 1)
                maxd = max(maxd, d)
                args.append(a)
                skip_ws()
                if pos < n and s[pos] == ",":
                    pos += 1
                    continue
                if pos < n and s[pos] == ")":
                    pos += 1
                    return Call(name, args), maxd
                raise IntrinsicError(f"expected ',' or ')' at offset {pos}")
        if pos < n and s[pos] == "'":
            # dg/intrinsic-functions.html ("Reserved characters"): ' { } \ are escaped with \;
            # any other escape is refused when the machine is created: aws/aws-cdk#27304
            # ('Hello\n{}' with a literal backslash-n: SCHEMA_VALIDATION_FAILED).
            pos += 1
            buf = []
            while True:
                if pos >= n:
                    raise IntrinsicError("unterminated string literal")
                c = s[pos]
                if c == "\\":
                    e = s[pos + 1] if pos + 1 < n else ""
                    if e not in ("'", "{", "}", "\\"):
                        raise IntrinsicError(f"invalid escape '\\{e}' in a string literal "
                                             "(only \\' \\{ \\} \\\\ are defined)")
                    buf.append(("esc", e))
                    pos += 2
                    continue
                if c == "'":
                    pos += 1
                    return Lit("str", buf), depth
                buf.append(("chr", c))
                pos += 1
        if pos < n and s[pos] == "$":
            start = pos
            brackets = 0
            quoted = False
            while pos < n:
                c = s[pos]
                if quoted:
                    if c == "\\":
                        pos += 2
                        continue
                    if c == "'":
                        quoted = False
                elif c == "'":
                    quoted = True
                elif c == "[":
                    brackets += 1
                elif c == "]":
                    brackets -= 1
                elif brackets == 0 and c in ",) \t":
                    break
                pos += 1
            return PathArg(s[start:pos]), depth
        m = re.match(r"-?\d+(\.\d+)?([eE][+-]?\d+)?", s[pos:])
        if m:
            pos += len(m.group(0))
            return Lit("num", float(m.group(0))), depth
        for word, kind, val in (("true", "bool", True), ("false", "bool", False), ("null", "null", None)):
            if s.startswith(word, pos):
                pos += len(word)
                return Lit(kind, val), depth
        raise IntrinsicError(f"unexpected text at offset {pos}: {s[pos:pos + 20]!r}")

    expr, depth = parse_expr(0)
    skip_ws()
    if pos != n:
        raise IntrinsicError(f"trailing text after the call: {s[pos:]!r}")
    if not isinstance(expr, Call):
        raise IntrinsicError("not an intrinsic function call")
    return expr, depth


def lit_text(lit):
    return "".join(c for _, c in lit.value)


def check_intrinsic(value, file, where):
    """Check one intrinsic invocation (dg/intrinsic-functions.html unless noted)."""
    try:
        call, depth = parse_intrinsic(value)
    except IntrinsicError as e:
        report("CREATE", "intrinsic-syntax", file, where, f"{e}: {value[:160]!r}")
        return
    if depth > 10:  # "You can nest up to 10 intrinsic functions within a field"
        report("CREATE", "intrinsic-nesting", file, where, f"intrinsic functions nested {depth} deep (10 at most)")

    def walk(node):
        if isinstance(node, PathArg):
            # dg/amazon-states-language-paths.html (member-name-shorthand, as for every path)
            if not (PATH.match(node.text) or CTX_PATH.match(node.text)):
                report("CREATE", "intrinsic-path", file, where,
                       f"path argument {node.text!r}: a name with characters other than letters, "
                       "digits and _ needs bracket notation")
            elif node.text.startswith("$$"):
                check_context_path(node.text, file, where)
            return
        if isinstance(node, Lit):
            # A raw line break in a literal is accepted by AWS (aws/aws-toolkit-vscode#3068,
            # aws/amazon-states-language-service#96) but not documented.
            if node.kind == "str" and ("\n" in lit_text(node) or "\r" in lit_text(node)):
                report("INFO", "intrinsic-newline", file, where, "string literal contains a raw line break")
            return
        name, a = node.name, node.args
        if name not in INTRINSIC_ARITY:
            report("CREATE", "intrinsic-unknown", file, where, f"unknown intrinsic function {name}")
        else:
            lo, hi = INTRINSIC_ARITY[name]
            if len(a) < lo or (hi is not None and len(a) > hi):
                report("CREATE", "intrinsic-arity", file, where,
                       f"{name} takes {lo}..{hi if hi is not None else 'n'} arguments, got {len(a)}")
        if name == "States.Format" and a:
            # "There must be as many remaining arguments ... as there are occurrences of {}";
            # a { or } that is not part of {} must be escaped ("Reserved characters").
            if isinstance(a[0], Lit) and a[0].kind == "str":
                chars, holes, i = a[0].value, 0, 0
                while i < len(chars):
                    if chars[i] == ("chr", "{") and i + 1 < len(chars) and chars[i + 1] == ("chr", "}"):
                        holes += 1
                        i += 2
                        continue
                    if chars[i] in (("chr", "{"), ("chr", "}")):
                        report("CREATE", "intrinsic-escape", file, where,
                               f"unescaped '{chars[i][1]}' in a States.Format template")
                    i += 1
                if holes != len(a) - 1:
                    report("CREATE", "intrinsic-format-args", file, where,
                           f"States.Format template has {holes} '{{}}' but {len(a) - 1} arguments")
            elif isinstance(a[0], Lit):
                report("CREATE", "intrinsic-type", file, where, "States.Format's first argument must be a string")
            for x in a[1:]:
                # "The Value of each argument must be a string, number, boolean or null": not
                # confirmed whether AWS refuses an array here at create time or at run time.
                if isinstance(x, Call) and x.name in NON_SCALAR_INTRINSICS:
                    report("SUSPECT", "intrinsic-type", file, where,
                           f"States.Format argument {x.name}(...) is not a string, number, boolean or null")
        else:
            for x in a:
                if isinstance(x, Lit) and x.kind == "str":
                    brace = next((c for k, c in x.value if k == "chr" and c in "{}"), None)
                    if brace:  # "Reserved characters"
                        report("CREATE", "intrinsic-escape", file, where,
                               f"unescaped '{brace}' in a string literal of {name}")
        if name == "States.JsonToString" and a and not isinstance(a[0], PathArg):
            report("CREATE", "intrinsic-type", file, where, "States.JsonToString's argument must be a path")
        if name == "States.StringToJson" and a and isinstance(a[0], Lit) and a[0].kind != "str":
            report("CREATE", "intrinsic-type", file, where, "States.StringToJson's argument must be a string")
        if name == "States.ArrayGetItem" and len(a) == 2:
            if isinstance(a[1], Lit) and (a[1].kind != "num" or a[1].value != int(a[1].value) or a[1].value < 0):
                report("CREATE", "intrinsic-type", file, where,
                       "States.ArrayGetItem's index must be a non-negative integer")
            if isinstance(a[0], Lit):
                report("CREATE", "intrinsic-type", file, where, "States.ArrayGetItem's first argument must be an array")
        if name == "States.StringSplit" and len(a) == 2 and isinstance(a[1], Lit):
            if a[1].kind != "str":
                report("CREATE", "intrinsic-type", file, where, "States.StringSplit's delimiter must be a string")
            elif not lit_text(a[1]):  # not documented either way
                report("SUSPECT", "intrinsic-type", file, where, "States.StringSplit with an empty delimiter")
        if name == "States.Hash" and len(a) == 2 and isinstance(a[1], Lit):
            if a[1].kind != "str" or lit_text(a[1]) not in HASH_ALGOS:
                report("CREATE", "intrinsic-type", file, where,
                       f"States.Hash's algorithm must be one of {sorted(HASH_ALGOS)}")
        if name == "States.JsonMerge" and len(a) == 3 and not (isinstance(a[2], Lit) and a[2].value is False):
            report("CREATE", "intrinsic-type", file, where, "States.JsonMerge's third argument must be false")
        if name in ("States.MathAdd", "States.MathRandom", "States.ArrayRange"):
            for x in a:
                if isinstance(x, Lit) and x.kind != "num":
                    report("CREATE", "intrinsic-type", file, where, f"{name}'s arguments must be integers")
                elif isinstance(x, Lit) and not (-2147483648 <= x.value <= 2147483647):
                    report("CREATE", "intrinsic-type", file, where, f"{name} argument outside the 32-bit range")
        if name == "States.ArrayRange" and len(a) == 3 and isinstance(a[2], Lit) and a[2].value == 0:
            report("CREATE", "intrinsic-type", file, where, "States.ArrayRange's step must not be 0")
        if name == "States.ArrayPartition" and len(a) == 2 and isinstance(a[1], Lit) \
                and (a[1].kind != "num" or a[1].value <= 0):
            report("CREATE", "intrinsic-type", file, where, "States.ArrayPartition's chunk size must be positive")
        if name in ("States.Base64Encode", "States.Base64Decode", "States.Hash") and a \
                and isinstance(a[0], Lit) and a[0].kind == "str" and len(lit_text(a[0])) > 10000:
            report("RUNTIME", "intrinsic-type", file, where, f"{name}'s input is over 10,000 characters")
        for x in a:
            walk(x)

    walk(call)


# --------------------------------------------------------------------------- payload templates
def check_payload(tmpl, file, where):
    """Parameters / ResultSelector / ItemSelector / Credentials (spec, "Payload Template")."""
    if isinstance(tmpl, dict):
        for k, v in tmpl.items():
            w = f"{where}.{k}"
            if not k.endswith(".$"):
                check_payload(v, file, w)
                continue
            # Both "x" and "x.$" would make the same field: no AWS source found for the
            # create-time refusal (kept from the original audit).
            if k[:-2] in tmpl:
                report("CREATE", "payload-duplicate", file, w, f"both {k[:-2]!r} and {k!r} are present")
            # "The value for the field 'x.$' must be a valid JSONPath or a valid intrinsic
            # function call" (SCHEMA_VALIDATION_FAILED, quoted in aws/aws-cdk#27304).
            if not isinstance(v, str):
                report("CREATE", "payload-dollar", file, w,
                       f"the value of {k!r} must be a path or an intrinsic function, got {type(v).__name__}")
            elif v.startswith("States."):
                check_intrinsic(v, file, w)
            elif v.startswith("$"):
                check_path(v, file, w, "path")
            else:
                report("CREATE", "payload-dollar", file, w,
                       f"the value of {k!r} is neither a path nor an intrinsic function: {v[:80]!r}")
    elif isinstance(tmpl, list):
        for i, v in enumerate(tmpl):
            check_payload(v, file, f"{where}[{i}]")


def static_value(tmpl, key):
    """('static', value), ('dynamic', expression) or (None, None) for key in a payload template."""
    if not isinstance(tmpl, dict):
        return None, None
    if key in tmpl:
        return "static", tmpl[key]
    if key + ".$" in tmpl:
        return "dynamic", tmpl[key + ".$"]
    return None, None


# --------------------------------------------------------------------------- structure
Scope = collections.namedtuple("Scope", "states start where")


def iter_scopes(defn, where="/"):
    """The machine and every Parallel branch and Map processor, with their state paths."""
    states = defn.get("States")
    states = states if isinstance(states, dict) else {}
    yield Scope(states, defn.get("StartAt"), where)
    for name, st in states.items():
        if not isinstance(st, dict):
            continue
        branches = st.get("Branches")
        for i, br in enumerate(branches if isinstance(branches, list) else []):
            if isinstance(br, dict):
                yield from iter_scopes(br, f"{where}States/{name}/Branches[{i}]/")
        for key in ("Iterator", "ItemProcessor"):
            if isinstance(st.get(key), dict):
                yield from iter_scopes(st[key], f"{where}States/{name}/{key}/")


def transitions(st):
    out = []
    if "Next" in st:
        out.append(("Next", st["Next"]))
    if st.get("Type") == "Choice":
        for i, r in enumerate(st.get("Choices") or []):
            if isinstance(r, dict) and "Next" in r:
                out.append((f"Choices[{i}].Next", r["Next"]))
        if "Default" in st:
            out.append(("Default", st["Default"]))
    for i, c in enumerate(st.get("Catch") or []):
        if isinstance(c, dict) and "Next" in c:
            out.append((f"Catch[{i}].Next", c["Next"]))
    return out


def check_int(v, lo, hi, file, where, what):
    if isinstance(v, bool) or not isinstance(v, int):
        report("CREATE", "int-field", file, where, f"{what} must be an integer, got {v!r}")
        return False
    if v < lo or (hi is not None and v > hi):
        report("CREATE", "int-range", file, where, f"{what}={v} outside {lo}..{hi if hi is not None else ''}")
        return False
    return True


def check_retry_catch(st, file, where):
    # dg/concepts-error-handling.html: retrier and catcher fields and ranges. "States.ALL must
    # appear alone in its ErrorEquals array and in the last retrier/catcher": AWS refuses the
    # definition (asl-validator 4.0.0 does not check it; aws/aws-cdk#10538 sorts for it).
    for kind in ("Retry", "Catch"):
        if kind not in st:
            continue
        entries = st[kind]
        if not isinstance(entries, list):
            report("CREATE", kind.lower(), file, where, f"{kind} must be an array")
            continue
        for i, r in enumerate(entries):
            w = f"{where}/{kind}[{i}]"
            if not isinstance(r, dict):
                report("CREATE", kind.lower(), file, w, "must be an object")
                continue
            for k in r:
                if k not in (RETRIER_FIELDS if kind == "Retry" else CATCHER_FIELDS):
                    report("CREATE", f"{kind.lower()}-field", file, w, f"field {k!r} is not supported in {kind}")
            errors = r.get("ErrorEquals")
            if not isinstance(errors, list) or not errors:
                report("CREATE", f"{kind.lower()}-errorequals", file, w, "ErrorEquals must be a non-empty array")
                errors = []
            for e in errors:
                if not isinstance(e, str):
                    report("CREATE", f"{kind.lower()}-errorequals", file, w, f"error name {e!r} is not a string")
                elif e.startswith("States.") and e not in KNOWN_STATES_ERRORS:
                    report("SUSPECT", f"{kind.lower()}-errorequals", file, w, f"unknown predefined error {e!r}")
            if "States.ALL" in errors and len(errors) > 1:
                report("CREATE", "states-all", file, w, "States.ALL must be alone in ErrorEquals")
            if "States.ALL" in errors and i != len(entries) - 1:
                report("CREATE", "states-all", file, w,
                       f"States.ALL must be in the last {kind} entry ({len(entries) - i - 1} follow it)")
            if kind == "Retry":
                if "IntervalSeconds" in r:
                    check_int(r["IntervalSeconds"], 1, MAX_INT, file, w, "IntervalSeconds")
                if "MaxAttempts" in r:
                    check_int(r["MaxAttempts"], 0, MAX_INT, file, w, "MaxAttempts")
                b = r.get("BackoffRate", 1.0)
                if isinstance(b, bool) or not isinstance(b, (int, float)) or b < 1.0:
                    report("CREATE", "retry-backoff", file, w, f"BackoffRate must be a number >= 1.0, got {b!r}")
                if "MaxDelaySeconds" in r:
                    check_int(r["MaxDelaySeconds"], 1, 31622400, file, w, "MaxDelaySeconds")
                if r.get("JitterStrategy", "NONE") not in ("FULL", "NONE"):
                    report("CREATE", "retry-jitter", file, w,
                           f"JitterStrategy must be FULL or NONE, got {r['JitterStrategy']!r}")
            else:
                if "Next" not in r:
                    report("CREATE", "catch-next", file, w, "a catcher needs Next")
                if r.get("ResultPath") is not None:
                    check_path(r["ResultPath"], file, w + "/ResultPath", "ref")


def check_choice_rule(rule, file, where, top):
    # dg/state-choice.html: Next only on top-level rules; a boolean rule is exactly one of
    # And/Or (non-empty arrays) or Not (one rule); a comparison is Variable plus one operator
    # whose value has the operator's type (timestamps as in RFC3339 above).
    if not isinstance(rule, dict):
        report("CREATE", "choice-rule", file, where, "a choice rule must be an object")
        return
    if top and "Next" not in rule:
        report("CREATE", "choice-next", file, where, "a top-level choice rule needs Next")
    if not top and "Next" in rule:
        report("CREATE", "choice-next", file, where, "a nested choice rule must not have Next")
    bools = [k for k in ("And", "Or", "Not") if k in rule]
    ops = [k for k in rule if k in ALL_OPS]
    for k in rule:
        if k not in ALL_OPS | {"And", "Or", "Not", "Variable", "Next", "Comment", "Assign"}:
            report("CREATE", "choice-field", file, where, f"field {k!r} is not allowed in a choice rule")
    if bools:
        if len(bools) > 1 or ops or "Variable" in rule:
            report("CREATE", "choice-shape", file, where,
                   "a boolean rule has exactly one of And/Or/Not and no Variable or comparison")
        b = bools[0]
        if b in ("And", "Or"):
            if not isinstance(rule[b], list) or not rule[b]:
                report("CREATE", "choice-shape", file, where, f"{b} must be a non-empty array")
            else:
                for i, r in enumerate(rule[b]):
                    check_choice_rule(r, file, f"{where}.{b}[{i}]", False)
        elif not isinstance(rule["Not"], dict):
            report("CREATE", "choice-shape", file, where, "Not must be one choice rule object")
        else:
            check_choice_rule(rule["Not"], file, f"{where}.Not", False)
        return
    if "Variable" not in rule:
        report("CREATE", "choice-shape", file, where, "a comparison needs Variable")
    else:
        check_path(rule["Variable"], file, where + ".Variable", "path")
    if len(ops) != 1:
        report("CREATE", "choice-shape", file, where, f"a comparison needs exactly one operator, found {ops}")
        return
    op, v = ops[0], rule[ops[0]]
    if op in STRING_OPS and not isinstance(v, str):
        report("CREATE", "choice-type", file, where, f"{op} needs a string, got {v!r}")
    elif op in NUMERIC_OPS and (isinstance(v, bool) or not isinstance(v, (int, float))):
        report("CREATE", "choice-type", file, where, f"{op} needs a number, got {v!r}")
    elif op in BOOL_OPS | TEST_OPS and not isinstance(v, bool):
        report("CREATE", "choice-type", file, where, f"{op} needs a boolean, got {v!r}")
    elif op in TS_OPS and not (isinstance(v, str) and RFC3339.match(v)):
        report("CREATE", "choice-type", file, where, f"{op} needs an RFC3339 timestamp, got {v!r}")
    elif op in PATH_OPS:
        check_path(v, file, where + "." + op, "path")


def check_state(name, st, file, where, scope_names, all_names, query_lang):
    # State name length: cfn-lint's Step Functions schema (top-level States keys ^.{1,80}$);
    # control characters: no AWS source found (kept from the original audit).
    if not 1 <= len(name) <= 80:
        report("CREATE", "state-name-length", file, where, f"state name is {len(name)} characters (1..80)")
    if re.search(r"[\x00-\x1f\x7f-\x9f]", name):
        report("CREATE", "state-name-chars", file, where, "state name contains control characters")
    if not isinstance(st, dict):
        report("CREATE", "state", file, where, "a state must be an object")
        return
    t = st.get("Type")
    if t not in FIELDS:
        report("CREATE", "state-type", file, where, f"unknown Type {t!r}")
        return
    # Unknown fields: SCHEMA_VALIDATION_FAILED (spec and the dg/state-*.html pages list the fields).
    for k in st:
        if k in JSONATA_ONLY and query_lang != "JSONata":
            report("CREATE", "jsonata-field", file, where, f"field {k!r} needs QueryLanguage JSONata")
        elif k not in FIELDS[t]:
            report("CREATE", "state-field", file, where, f"field {k!r} is not supported on a {t} state")
    # spec ("Transitions"): a non-terminal state has exactly one of Next and End, End is true.
    if t in NEEDS_TRANSITION:
        if ("Next" in st) == ("End" in st):
            report("CREATE", "next-end", file, where, "exactly one of Next and End is required")
        if "End" in st and st["End"] is not True:
            report("CREATE", "next-end", file, where, f"End must be true, got {st['End']!r}")
    # AWS: "MISSING_TRANSITION_TARGET: Missing 'Next' target" (quoted in localstack/localstack#12487).
    for label, target in transitions(st):
        if not isinstance(target, str) or target not in scope_names:
            msg = f"{label} -> {target!r} is not a state of this scope"
            if isinstance(target, str) and target in all_names:
                msg += " (it is in another scope: a branch cannot jump out)"
            report("CREATE", "transition-target", file, where, msg)
    # spec ("Input and Output Processing"): InputPath/OutputPath are Paths, ResultPath a Reference Path.
    for k in ("InputPath", "OutputPath"):
        if st.get(k) is not None:
            check_path(st[k], file, f"{where}/{k}", "path")
    if st.get("ResultPath") is not None:
        check_path(st["ResultPath"], file, f"{where}/ResultPath", "ref")
    # spec ("Payload Template"): Parameters and ResultSelector are JSON objects.
    for k in ("Parameters", "ResultSelector"):
        if k in st:
            if not isinstance(st[k], dict):
                report("CREATE", k.lower(), file, where, f"{k} must be a JSON object")
            check_payload(st[k], file, f"{where}/{k}")
    if t == "Pass":
        # dg/state-pass.html: Result is not evaluated, so a ".$" key in it is only text.
        if "Result" in st and "Parameters" in st:
            report("SUSPECT", "pass-result", file, where, "Pass has both Result and Parameters")
        if "Result" in st and re.search(r'\.\$":', json.dumps(st["Result"])):
            report("SUSPECT", "pass-result", file, where, "a Result key ends in .$ but Result is never evaluated")
    if t in ("Task", "Parallel", "Map"):
        check_retry_catch(st, file, where)
    if t == "Task":
        # dg/state-task.html: Resource required; TimeoutSeconds and HeartbeatSeconds positive
        # integers (at most 99999999), one of each field or its Path, HeartbeatSeconds lower
        # than TimeoutSeconds.
        if not isinstance(st.get("Resource"), str):
            report("CREATE", "task-resource", file, where, "a Task needs a string Resource")
        for a in ("TimeoutSeconds", "HeartbeatSeconds"):
            if a in st and a + "Path" in st:
                report("CREATE", "task-timeout", file, where, f"only one of {a} and {a}Path")
            if a + "Path" in st:
                check_path(st[a + "Path"], file, f"{where}/{a}Path", "ref$$")
        ok_t = "TimeoutSeconds" in st and check_int(st["TimeoutSeconds"], 1, MAX_INT, file, where, "TimeoutSeconds")
        ok_h = "HeartbeatSeconds" in st and check_int(st["HeartbeatSeconds"], 1, MAX_INT, file, where,
                                                      "HeartbeatSeconds")
        if ok_h and ok_t and st["HeartbeatSeconds"] >= st["TimeoutSeconds"]:
            report("CREATE", "task-heartbeat", file, where,
                   f"HeartbeatSeconds {st['HeartbeatSeconds']} must be lower than "
                   f"TimeoutSeconds {st['TimeoutSeconds']}")
        if "Credentials" in st:
            check_payload(st["Credentials"], file, f"{where}/Credentials")
    if t == "Wait":
        # dg/state-wait.html: exactly one of the four fields; Seconds 0..99999999; Timestamp RFC3339.
        present = [k for k in ("Seconds", "Timestamp", "SecondsPath", "TimestampPath") if k in st]
        if len(present) != 1:
            report("CREATE", "wait-fields", file, where,
                   f"exactly one of Seconds, Timestamp, SecondsPath and TimestampPath, found {present}")
        if "Seconds" in st:
            check_int(st["Seconds"], 0, MAX_INT, file, where, "Seconds")
        if "Timestamp" in st and not (isinstance(st["Timestamp"], str) and RFC3339.match(st["Timestamp"])):
            report("CREATE", "wait-timestamp", file, where, f"Timestamp {st['Timestamp']!r} is not RFC3339 (T, Z)")
        for k in ("SecondsPath", "TimestampPath"):
            if k in st:
                check_path(st[k], file, f"{where}/{k}", "ref$$")
    if t == "Choice":
        ch = st.get("Choices")
        if not isinstance(ch, list) or not ch:
            report("CREATE", "choice-choices", file, where, "Choices must be a non-empty array")
        else:
            for i, r in enumerate(ch):
                check_choice_rule(r, file, f"{where}/Choices[{i}]", True)
        # dg/state-choice.html: without Default an unmatched input fails (States.NoChoiceMatched).
        if "Default" not in st:
            report("SUSPECT", "choice-default", file, where, "no Default: an unmatched input fails the execution")
    if t == "Fail":
        # dg/state-fail.html: Error or ErrorPath, Cause or CausePath; the paths may be intrinsics.
        for a, b in (("Error", "ErrorPath"), ("Cause", "CausePath")):
            if a in st and b in st:
                report("CREATE", "fail-fields", file, where, f"only one of {a} and {b}")
            if a in st and not isinstance(st[a], str):
                report("CREATE", "fail-fields", file, where, f"{a} must be a string")
            if b in st:
                if isinstance(st[b], str) and st[b].startswith("States."):
                    check_intrinsic(st[b], file, f"{where}/{b}")
                else:
                    check_path(st[b], file, f"{where}/{b}", "path")
        # sfn-api/StopExecution and DescribeExecution: error 0..256, cause 0..32768 characters.
        for a, lim in (("Error", 256), ("Cause", 32768)):
            if isinstance(st.get(a), str) and len(st[a]) > lim:
                report("SUSPECT", "fail-fields", file, where, f"{a} is {len(st[a])} characters (the API keeps {lim})")
    if t == "Parallel":
        # dg/state-parallel.html: Branches is a non-empty array of {StartAt, States}.
        br = st.get("Branches")
        if not isinstance(br, list) or not br:
            report("CREATE", "parallel-branches", file, where, "Branches must be a non-empty array")
        else:
            for i, b in enumerate(br):
                if not isinstance(b, dict) or "StartAt" not in b or "States" not in b:
                    report("CREATE", "parallel-branches", file, f"{where}/Branches[{i}]",
                           "a branch needs StartAt and States")
                elif set(b) - BRANCH_FIELDS:
                    report("CREATE", "parallel-branches", file, f"{where}/Branches[{i}]",
                           f"unsupported branch fields {sorted(set(b) - BRANCH_FIELDS)}")
    if t == "Map":
        # dg/state-map.html: one of ItemProcessor/Iterator, one of Parameters/ItemSelector,
        # ProcessorConfig.Mode INLINE or DISTRIBUTED (which needs ExecutionType), ItemsPath a
        # Reference Path, MaxConcurrency >= 0.
        proc = st.get("ItemProcessor", st.get("Iterator"))
        if not isinstance(proc, dict):
            report("CREATE", "map-processor", file, where, "a Map needs ItemProcessor (or Iterator)")
        if "ItemProcessor" in st and "Iterator" in st:
            report("CREATE", "map-processor", file, where, "only one of ItemProcessor and Iterator")
        if "Parameters" in st and "ItemSelector" in st:
            report("CREATE", "map-processor", file, where, "only one of Parameters and ItemSelector")
        if "ItemSelector" in st:
            check_payload(st["ItemSelector"], file, f"{where}/ItemSelector")
        if isinstance(proc, dict):
            pc = proc.get("ProcessorConfig") or {}
            if pc.get("Mode", "INLINE") not in ("INLINE", "DISTRIBUTED"):
                report("CREATE", "map-processor", file, where, f"ProcessorConfig.Mode {pc.get('Mode')!r}")
            if pc.get("Mode") == "DISTRIBUTED" and pc.get("ExecutionType") not in ("STANDARD", "EXPRESS"):
                report("CREATE", "map-processor", file, where, "DISTRIBUTED needs ExecutionType STANDARD or EXPRESS")
        if "ItemsPath" in st:
            check_path(st["ItemsPath"], file, f"{where}/ItemsPath", "ref$$")
        if "MaxConcurrency" in st:
            check_int(st["MaxConcurrency"], 0, None, file, where, "MaxConcurrency")


def reachable(scope):
    seen, todo = set(), [scope.start]
    while todo:
        n = todo.pop()
        if not isinstance(n, str) or n in seen or n not in scope.states:
            continue
        seen.add(n)
        if isinstance(scope.states[n], dict):
            todo.extend(t for _, t in transitions(scope.states[n]))
    return seen


def check_structure(defn, file):
    if not isinstance(defn, dict):
        report("CREATE", "top", file, "/", "a definition must be a JSON object")
        return []
    # dg/statemachine-structure.html: top-level fields; QueryLanguage JSONPath or JSONata;
    # Version "1.0"; TimeoutSeconds a positive integer (spec).
    for k in defn:
        if k not in TOP_FIELDS:
            report("CREATE", "top-field", file, "/", f"top-level field {k!r} is not supported")
    ql = defn.get("QueryLanguage", "JSONPath")
    if ql not in ("JSONPath", "JSONata"):
        report("CREATE", "top-field", file, "/", f"QueryLanguage {ql!r}")
    if "TimeoutSeconds" in defn:
        check_int(defn["TimeoutSeconds"], 1, None, file, "/TimeoutSeconds", "TimeoutSeconds")
    if "Version" in defn and defn["Version"] != "1.0":
        report("CREATE", "top-field", file, "/", f"Version {defn['Version']!r}")
    scopes = list(iter_scopes(defn))
    # spec ("States"): state names are unique in the whole machine, branches included.
    all_names = collections.Counter(n for sc in scopes for n in sc.states)
    for n, c in all_names.items():
        if c > 1:
            report("CREATE", "state-name-unique", file, "/", f"state name {n!r} is used {c} times")
    for sc in scopes:
        names = set(sc.states)
        # spec: StartAt names a state of its scope (AWS: MISSING_TRANSITION_TARGET at /StartAt,
        # quoted in aws-cloudformation/cfn-lint#4074).
        if not isinstance(sc.start, str) or sc.start not in names:
            report("CREATE", "startat", file, sc.where, f"StartAt {sc.start!r} is not a state of this scope")
        for n, st in sc.states.items():
            check_state(n, st, file, f"{sc.where}States/{n}", names, all_names, ql)
        # AWS: 'MISSING_TRANSITION_TARGET: State "X" is not reachable.' (quoted in
        # aws-cloudformation/cfn-lint#4073).
        for n in sorted(names - reachable(sc)):
            report("CREATE", "unreachable", file, f"{sc.where}States/{n}", "state is not reachable from StartAt")
        # AWS: "MISSING_END_STATE: Workflow has no terminal state" (quoted in floci-io/floci#2786).
        if not any(isinstance(st, dict) and (st.get("End") is True or st.get("Type") in ("Succeed", "Fail"))
                   for st in sc.states.values()):
            report("CREATE", "no-terminal", file, sc.where, "the scope has no terminal state")
    return scopes


# --------------------------------------------------------------------------- service integrations
# Optimized integrations, their patterns and parameters: dg/connect-lambda.html, connect-ecs.html,
# connect-batch.html, connect-glue.html, connect-stepfunctions.html, connect-ddb.html,
# connect-sns.html, connect-sqs.html, connect-eventbridge.html; patterns: dg/connect-to-resource.html.
# An unsupported or missing parameter of an optimized integration is refused at create time
# (SCHEMA_VALIDATION_FAILED); for an AWS SDK integration the API call fails at run time.
SERVICE_PATTERNS = {
    "lambda:invoke": {"", ".waitForTaskToken"},
    "ecs:runTask": {"", ".sync", ".waitForTaskToken"},
    "batch:submitJob": {"", ".sync"},
    "glue:startJobRun": {"", ".sync"},
    "states:startExecution": {"", ".sync", ".sync:2", ".waitForTaskToken"},
    "dynamodb:getItem": {""}, "dynamodb:putItem": {""}, "dynamodb:updateItem": {""}, "dynamodb:deleteItem": {""},
    "sns:publish": {"", ".waitForTaskToken"},
    "sqs:sendMessage": {"", ".waitForTaskToken"},
    "events:putEvents": {"", ".waitForTaskToken"},
}
REQUIRED = {
    "lambda:invoke": ["FunctionName"],
    "ecs:runTask": ["TaskDefinition"],
    "batch:submitJob": ["JobName", "JobQueue", "JobDefinition"],
    "glue:startJobRun": ["JobName"],
    "states:startExecution": ["StateMachineArn"],
    "dynamodb:getItem": ["TableName", "Key"], "dynamodb:updateItem": ["TableName", "Key"],
    "dynamodb:deleteItem": ["TableName", "Key"], "dynamodb:putItem": ["TableName", "Item"],
    "sns:publish": ["Message"],
    "aws-sdk:sfn:describeExecution": ["ExecutionArn"], "aws-sdk:sfn:stopExecution": ["ExecutionArn"],
    "aws-sdk:s3:headObject": ["Bucket", "Key"],
}
ALLOWED = {
    "lambda:invoke": {"FunctionName", "Payload", "InvocationType", "Qualifier", "ClientContext", "LogType"},
    "ecs:runTask": {"Cluster", "TaskDefinition", "LaunchType", "NetworkConfiguration", "Overrides", "PlatformVersion",
                    "PropagateTags", "Tags", "CapacityProviderStrategy", "Count", "EnableECSManagedTags",
                    "EnableExecuteCommand", "Group", "PlacementConstraints", "PlacementStrategy", "ReferenceId",
                    "StartedBy", "VolumeConfigurations"},
    "batch:submitJob": {"ArrayProperties", "ContainerOverrides", "DependsOn", "JobDefinition", "JobName", "JobQueue",
                        "Parameters", "RetryStrategy", "Timeout", "Tags", "NodeOverrides", "PropagateTags",
                        "SchedulingPriorityOverride", "ShareIdentifier", "EksPropertiesOverride",
                        "EcsPropertiesOverride", "ConsumableResourcePropertiesOverride"},
    "glue:startJobRun": {"JobName", "JobRunId", "Arguments", "AllocatedCapacity", "Timeout", "MaxCapacity",
                         "SecurityConfiguration", "NotificationProperty", "WorkerType", "NumberOfWorkers",
                         "ExecutionClass", "JobRunQueuingEnabled"},
    "states:startExecution": {"StateMachineArn", "Input", "Name", "TraceHeader"},
    "sns:publish": {"TopicArn", "TargetArn", "PhoneNumber", "Message", "Subject", "MessageStructure",
                    "MessageAttributes", "MessageDeduplicationId", "MessageGroupId"},
    "dynamodb:getItem": {"TableName", "Key", "ConsistentRead", "ExpressionAttributeNames", "ProjectionExpression",
                         "ReturnConsumedCapacity", "AttributesToGet"},
    "dynamodb:updateItem": {"TableName", "Key", "UpdateExpression", "ConditionExpression", "ExpressionAttributeNames",
                            "ExpressionAttributeValues", "ReturnValues", "ReturnConsumedCapacity",
                            "ReturnItemCollectionMetrics", "ReturnValuesOnConditionCheckFailure",
                            "AttributeUpdates", "Expected", "ConditionalOperator"},
    "dynamodb:putItem": {"TableName", "Item", "ConditionExpression", "ExpressionAttributeNames",
                         "ExpressionAttributeValues", "ReturnValues", "ReturnConsumedCapacity",
                         "ReturnItemCollectionMetrics", "ReturnValuesOnConditionCheckFailure", "Expected",
                         "ConditionalOperator"},
    "dynamodb:deleteItem": {"TableName", "Key", "ConditionExpression", "ExpressionAttributeNames",
                            "ExpressionAttributeValues", "ReturnValues", "ReturnConsumedCapacity",
                            "ReturnItemCollectionMetrics", "ReturnValuesOnConditionCheckFailure", "Expected",
                            "ConditionalOperator"},
    "aws-sdk:sfn:describeExecution": {"ExecutionArn", "IncludedData"},
    "aws-sdk:sfn:stopExecution": {"ExecutionArn", "Cause", "Error"},
    "aws-sdk:s3:headObject": {"Bucket", "Key", "IfMatch", "IfModifiedSince", "IfNoneMatch", "IfUnmodifiedSince",
                              "Range", "VersionId", "SSECustomerAlgorithm", "SSECustomerKey", "SSECustomerKeyMD5",
                              "RequestPayer", "PartNumber", "ExpectedBucketOwner", "ChecksumMode"},
}
RESOURCE_RX = re.compile(r"^arn:(aws[a-z-]*):states:::(aws-sdk:[a-z0-9]+:[a-zA-Z0-9]+|[a-z0-9]+:[a-zA-Z]+)"
                         r"(\.sync(?::2)?|\.waitForTaskToken)?$")
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
S3_BUCKET = re.compile(r"^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# https://docs.aws.amazon.com/batch/latest/APIReference/API_SubmitJob.html (jobName)
BATCH_JOBNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
# https://docs.aws.amazon.com/sns/latest/dg/sns-message-attributes.html (names)
SNS_ATTR_NAME = re.compile(r"^(?!AWS\.|Amazon\.)(?!\.)(?!.*\.\.)[A-Za-z0-9_.-]{1,256}(?<!\.)$")
# https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_AttributeValue.html
DDB_TYPES = {"S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"}


def format_literal(expr):
    """For "States.Format('lit{}', a)" return (template text, Call); None otherwise."""
    if not isinstance(expr, str) or not expr.startswith("States.Format("):
        return None
    try:
        call, _ = parse_intrinsic(expr)
    except IntrinsicError:
        return None
    if not call.args or not isinstance(call.args[0], Lit) or call.args[0].kind != "str":
        return None
    return lit_text(call.args[0]), call


def ddb_attr_value(v, file, where):
    # API_AttributeValue (link above): exactly one type key; N is a numeric string.
    if not isinstance(v, dict) or len(v) != 1:
        report("RUNTIME", "ddb-attrvalue", file, where, f"an AttributeValue has exactly one type key, got {v!r}"[:200])
        return
    (k, val), = v.items()
    base = k[:-2] if k.endswith(".$") else k
    if base not in DDB_TYPES:
        report("RUNTIME", "ddb-attrvalue", file, where, f"unknown AttributeValue type {k!r}")
        return
    if k.endswith(".$"):
        return
    if base == "N" and not (isinstance(val, str) and re.match(r"^-?\d+(\.\d+)?([eE][+-]?\d+)?$", val)):
        report("RUNTIME", "ddb-attrvalue", file, where, f"N must be a numeric string, got {val!r}")
    if base == "S" and not isinstance(val, str):
        report("RUNTIME", "ddb-attrvalue", file, where, f"S must be a string, got {val!r}")
    if base == "BOOL" and not isinstance(val, bool):
        report("RUNTIME", "ddb-attrvalue", file, where, f"BOOL must be a boolean, got {val!r}")
    if base == "M" and isinstance(val, dict):
        for kk, vv in val.items():
            ddb_attr_value(vv, file, f"{where}.M.{kk}")
    if base == "L" and isinstance(val, list):
        for i, vv in enumerate(val):
            ddb_attr_value(vv, file, f"{where}.L[{i}]")


# https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.OperatorsAndFunctions.html
DDB_FUNCS = {"attribute_exists", "attribute_not_exists", "attribute_type", "begins_with", "contains", "size",
             "if_not_exists", "list_append"}
DDB_KEYWORDS = {"SET", "REMOVE", "ADD", "DELETE", "AND", "OR", "NOT", "BETWEEN", "IN"}  # case-insensitive


def ddb_expression_tokens(expr):
    """(#names, :values, bare attribute names) of one expression."""
    names = re.findall(r"#[A-Za-z0-9_]+", expr)
    values = re.findall(r":[A-Za-z0-9_]+", expr)
    bare = []
    for m in re.finditer(r"(?<![#:\w.])([A-Za-z_][A-Za-z0-9_]*)", expr):
        w = m.group(1)
        if w in DDB_FUNCS and expr[m.end():].lstrip().startswith("("):
            continue
        if w.upper() in DDB_KEYWORDS:
            continue
        bare.append(w)
    return names, values, bare


def update_paths(expr):
    """(action, top-level attribute) for every clause of an UpdateExpression."""
    out = []
    for m in re.finditer(r"\b(SET|REMOVE|ADD|DELETE)\b(.*?)(?=\b(?:SET|REMOVE|ADD|DELETE)\b|$)", expr, re.I):
        depth, parts, cur = 0, [], ""
        for c in m.group(2):
            depth += (c == "(") - (c == ")")
            if c == "," and depth == 0:
                parts.append(cur)
                cur = ""
            else:
                cur += c
        parts.append(cur)
        for p in parts:
            if p.strip():
                target = re.split(r"[\s=]", p.strip(), maxsplit=1)[0]
                out.append((m.group(1).upper(), target.split(".")[0].split("[")[0]))
    return out


def check_dynamodb(params, file, where):
    eav = params.get("ExpressionAttributeValues") or {}
    ean = params.get("ExpressionAttributeNames") or {}
    exprs = {k: params[k] for k in ("UpdateExpression", "ConditionExpression", "ProjectionExpression",
                                    "KeyConditionExpression", "FilterExpression") if isinstance(params.get(k), str)}
    used_n, used_v = set(), set()
    for k, e in exprs.items():
        names, values, bare = ddb_expression_tokens(e)
        used_n |= set(names)
        used_v |= set(values)
        # https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ReservedWords.html
        # (a reserved word as an attribute name needs an #alias: ValidationException)
        for w in bare:
            if w.upper() in DDB_RESERVED:
                report("RUNTIME", "ddb-reserved", file, where,
                       f"{k}: attribute name {w!r} is a DynamoDB reserved word (use an #alias)")
        # Not confirmed either way: a condition that names no attribute.
        if k == "ConditionExpression" and not bare and not names \
                and not re.search(r"attribute_|size\(|begins_with|contains", e):
            report("SUSPECT", "ddb-constant-condition", file, where,
                   f"ConditionExpression {e!r} compares only expression values")
    # Undefined or unused #names and :values: ValidationException ("Value provided in
    # ExpressionAttributeValues unused in expressions", measured in floci-io/floci#2893;
    # https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ExpressionAttributeNames.html).
    eav_keys = {k[:-2] if k.endswith(".$") else k for k in eav}
    for n in sorted(used_n - set(ean)):
        report("RUNTIME", "ddb-undefined", file, where,
               f"the expressions use {n}, which ExpressionAttributeNames lacks")
    for v in sorted(used_v - eav_keys):
        report("RUNTIME", "ddb-undefined", file, where,
               f"the expressions use {v}, which ExpressionAttributeValues lacks")
    for n in sorted(set(ean) - used_n):
        report("RUNTIME", "ddb-unused", file, where, f"ExpressionAttributeNames {n} is unused in the expressions")
    for v in sorted(eav_keys - used_v):
        report("RUNTIME", "ddb-unused", file, where, f"ExpressionAttributeValues {v} is unused in the expressions")
    if isinstance(eav, dict):
        for k, v in eav.items():
            if not k.startswith(":"):
                report("RUNTIME", "ddb-attrvalue", file, where,
                       f"ExpressionAttributeValues key {k!r} must start with ':'")
            ddb_attr_value(v, file, f"{where}/ExpressionAttributeValues.{k}")
    for kk in ("Key", "Item"):
        if isinstance(params.get(kk), dict):
            for k, v in params[kk].items():
                ddb_attr_value(v, file, f"{where}/{kk}.{k}")
    # One attribute in two clauses: ValidationException "Two document paths overlap with each
    # other" (DynamoDB's message; no documentation page found).
    if "UpdateExpression" in exprs:
        seen = {}
        for act, tgt in update_paths(exprs["UpdateExpression"]):
            real = ean.get(tgt, tgt)
            if real in seen:
                report("RUNTIME", "ddb-overlap", file, where,
                       f"UpdateExpression changes {real!r} in both {seen[real]} and {act}")
            seen[real] = act
    # https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateItem.html
    rv = params.get("ReturnValues")
    if rv is not None and rv not in ("NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"):
        report("RUNTIME", "ddb-returnvalues", file, where, f"ReturnValues {rv!r}")


def check_integration(st, file, where, ctx):
    res = st.get("Resource")
    if not isinstance(res, str) or res.startswith("${"):
        return
    if ":states:::" not in res:
        if not re.match(r"^arn:aws[a-z-]*:(lambda|states):", res):
            report("SUSPECT", "resource", file, where, f"unrecognised Resource {res!r}")
        return
    m = RESOURCE_RX.match(res)
    if not m:
        report("CREATE", "resource", file, where, f"malformed integration ARN {res!r}")
        return
    partition, key, pattern = m.group(1), m.group(2), m.group(3) or ""
    ctx["partitions"].add(partition)
    if key.startswith("aws-sdk:"):
        # dg/supported-services-awssdk.html: AWS SDK integrations do not support .sync.
        if pattern.startswith(".sync"):
            report("CREATE", "resource", file, where, "AWS SDK integrations do not support .sync")
    elif key not in SERVICE_PATTERNS:
        report("SUSPECT", "resource", file, where, f"optimized integration {key!r} is not in this checker's table")
        return
    elif pattern not in SERVICE_PATTERNS[key]:
        report("CREATE", "resource", file, where, f"{key} does not support the {pattern or 'request-response'} pattern")
    params = st.get("Parameters", {})
    if not isinstance(params, dict):
        return
    base_keys = {k[:-2] if k.endswith(".$") else k for k in params}
    for r in REQUIRED.get(key, []):
        if r not in base_keys:
            report("RUNTIME" if key.startswith("aws-sdk:") else "CREATE", "integration-required", file, where,
                   f"{key} requires parameter {r}")
    for k in sorted(base_keys - ALLOWED.get(key, base_keys)):
        report("CREATE", "integration-field", file, where, f"{key}: parameter {k!r} is not supported")
    # dg/connect-to-resource.html ("pass a task token"): without $$.Task.Token nobody can
    # answer the task. No AWS source found for a refusal at create time.
    if "waitForTaskToken" in pattern and "$$.Task.Token" not in json.dumps(params):
        report("SUSPECT", "task-token", file, where, ".waitForTaskToken without $$.Task.Token in Parameters")
    if key.startswith("dynamodb:"):
        check_dynamodb(params, file, where)
    if key == "ecs:runTask":
        check_ecs(params, file, where)
    if key == "batch:submitJob":
        check_batch(params, file, where)
    if key == "glue:startJobRun":
        # https://docs.aws.amazon.com/glue/latest/webapi/API_StartJobRun.html: Arguments is a
        # map of strings; job parameters are named --name (Glue developer guide, not enforced).
        args = params.get("Arguments", {})
        for k, v in (args.items() if isinstance(args, dict) else []):
            if not k.endswith(".$") and not isinstance(v, str):
                report("RUNTIME", "glue-args", file, where, f"Arguments[{k!r}] must be a string")
            if not k.startswith("--"):
                report("SUSPECT", "glue-args", file, where, f"Glue job argument {k!r} does not start with '--'")
    if key == "sns:publish":
        check_sns(params, file, where, base_keys)
    if key == "states:startExecution":
        check_start_execution(params, file, where, pattern, ctx)
    if key == "aws-sdk:s3:headObject":
        # S3 bucket naming rules (link above); an object key has 1 character at least:
        # https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html
        kind, b = static_value(params, "Bucket")
        if kind == "static" and not (isinstance(b, str) and (b.startswith("${") or S3_BUCKET.match(b))):
            report("RUNTIME", "s3-bucket", file, where, f"Bucket {b!r} is not a valid S3 bucket name")
        kind, k = static_value(params, "Key")
        if kind == "static" and (not isinstance(k, str) or not k):
            report("RUNTIME", "s3-key", file, where, f"Key {k!r}: an S3 object key has at least one character")
    if key == "aws-sdk:sfn:stopExecution":
        # sfn-api/StopExecution: error 0..256, cause 0..32768 characters.
        for f_, lim in (("Error", 256), ("Cause", 32768)):
            kind, v = static_value(params, f_)
            if kind == "static" and isinstance(v, str) and len(v) > lim:
                report("RUNTIME", "sfn-stop", file, where, f"{f_} is longer than {lim} characters")
        kind, arn = static_value(params, "ExecutionArn")
        fl = format_literal(arn) if kind == "dynamic" else None
        if fl:
            ctx["stop_arns"].append((where, fl[0]))


def check_ecs(params, file, where):
    # https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html: "A total of
    # 8192 characters are allowed for overrides", launchType FARGATE|EC2|EXTERNAL, platformVersion
    # only for Fargate; API_ContainerOverride: name "is required if any override is specified",
    # command a list of strings. Environment entries with Name and Value: no AWS source found.
    ov = params.get("Overrides", {})
    if isinstance(ov, dict):
        size = len(json.dumps(ov, separators=(",", ":"), ensure_ascii=False))
        if size > 8192:
            report("RUNTIME", "ecs-overrides-size", file, where, f"ECS overrides are {size} characters (8192 at most)")
        elif size > 6000:
            report("INFO", "ecs-overrides-size", file, where,
                   f"ECS overrides are {size} characters before dynamic values (8192 at most)")
        for i, co in enumerate(ov.get("ContainerOverrides") or []):
            if not isinstance(co, dict):
                continue
            if "Name" not in co and "Name.$" not in co:
                report("RUNTIME", "ecs-override", file, where, f"ContainerOverrides[{i}] needs Name")
            for j, env in enumerate(co.get("Environment") or []):
                if not isinstance(env, dict) or "Name" not in env or ("Value" not in env and "Value.$" not in env):
                    report("RUNTIME", "ecs-override", file, where,
                           f"ContainerOverrides[{i}].Environment[{j}] needs Name and Value")
            cmd = co.get("Command")
            if cmd is not None and not (isinstance(cmd, list) and all(isinstance(c, str) for c in cmd)):
                report("RUNTIME", "ecs-override", file, where, "Command must be an array of strings")
    lt = params.get("LaunchType")
    if lt is not None and lt not in ("FARGATE", "EC2", "EXTERNAL"):
        report("RUNTIME", "ecs-launchtype", file, where, f"LaunchType {lt!r}")
    if lt in ("EC2", "EXTERNAL") and "PlatformVersion" in params:
        report("RUNTIME", "ecs-platform", file, where, "PlatformVersion is only for FARGATE")


def check_batch(params, file, where):
    # https://docs.aws.amazon.com/batch/latest/APIReference/API_SubmitJob.html (jobName: up to
    # 128 letters, digits, - and _, first alphanumeric); API_ContainerOverrides ("Environment
    # variables cannot start with AWS_BATCH"; ResourceRequirement value is a string);
    # API_JobTimeout ("The minimum value for the timeout is 60 seconds").
    kind, jn = static_value(params, "JobName")
    if kind == "static" and not (isinstance(jn, str) and BATCH_JOBNAME.match(jn)):
        report("RUNTIME", "batch-jobname", file, where, f"JobName {jn!r} (letters, digits, - and _, 128 at most)")
    co = params.get("ContainerOverrides", {})
    if isinstance(co, dict):
        for env in co.get("Environment") or []:
            if isinstance(env, dict) and isinstance(env.get("Name"), str) and env["Name"].startswith("AWS_BATCH"):
                report("RUNTIME", "batch-env", file, where,
                       f"environment variable {env['Name']} is reserved by AWS Batch")
        for rr in co.get("ResourceRequirements") or []:
            if isinstance(rr, dict) and not isinstance(rr.get("Value", ""), str):
                report("RUNTIME", "batch-resreq", file, where, "a ResourceRequirements Value must be a string")
    to = params.get("Timeout")
    if isinstance(to, dict) and isinstance(to.get("AttemptDurationSeconds"), int) and to["AttemptDurationSeconds"] < 60:
        report("RUNTIME", "batch-timeout", file, where, "Timeout.AttemptDurationSeconds must be at least 60")


def check_sns(params, file, where, base_keys):
    # https://docs.aws.amazon.com/sns/latest/api/API_Publish.html: TopicArn, TargetArn or
    # PhoneNumber; Subject "UTF-8 text with no line breaks or control characters, and less than
    # 100 characters long"; Message at most 256 KB. sns-message-attributes.html (link above): up
    # to 10 attributes; names not starting with AWS. or Amazon., no leading, trailing or
    # double period; DataType String, String.Array, Number or Binary; name, type and value
    # must not be empty.
    if not {"TopicArn", "TargetArn", "PhoneNumber"} & base_keys:
        report("RUNTIME", "sns-target", file, where, "sns:publish needs TopicArn, TargetArn or PhoneNumber")
    kind, subj = static_value(params, "Subject")
    if kind == "static" and (not isinstance(subj, str) or not subj or len(subj) >= 100
                             or re.search(r"[\x00-\x1f\x7f]", subj)):
        report("RUNTIME", "sns-subject", file, where, f"Subject {subj!r}: 1..99 characters, no line breaks")
    kind, msg = static_value(params, "Message")
    if kind == "static" and isinstance(msg, str) and len(msg.encode()) > 262144:
        report("RUNTIME", "sns-message", file, where, "Message over 256 KiB")
    ma = params.get("MessageAttributes", {})
    if not isinstance(ma, dict):
        return
    if len(ma) > 10:
        report("RUNTIME", "sns-attrs", file, where, f"{len(ma)} message attributes (10 at most)")
    for an, av in ma.items():
        if not SNS_ATTR_NAME.match(an):
            report("RUNTIME", "sns-attrs", file, where, f"message attribute name {an!r} is invalid")
        if not isinstance(av, dict) or av.get("DataType") not in ("String", "String.Array", "Number", "Binary"):
            report("RUNTIME", "sns-attrs", file, where,
                   f"message attribute {an!r} needs DataType String, String.Array, Number or Binary")
            continue
        if av.get("StringValue") == "":
            report("RUNTIME", "sns-attrs", file, where, f"message attribute {an!r} has an empty StringValue")
        if not {"StringValue", "StringValue.$", "BinaryValue", "BinaryValue.$"} & set(av):
            report("RUNTIME", "sns-attrs", file, where, f"message attribute {an!r} has no value")


def check_start_execution(params, file, where, pattern, ctx):
    # sfn-api/StartExecution: name rules (NAME_FORBIDDEN, NAME_SAFE above); input is a JSON
    # text (dg/connect-stepfunctions.html also accepts an object).
    kind, name = static_value(params, "Name")
    if kind == "static" and (not isinstance(name, str) or not 1 <= len(name) <= 80 or NAME_FORBIDDEN.search(name)):
        report("RUNTIME", "exec-name", file, where,
               f"execution Name {name!r} is invalid (1..80, no forbidden characters)")
    fl = format_literal(name) if kind == "dynamic" else None
    if fl:
        lit, call = fl
        fixed = lit.replace("{}", "")
        if NAME_FORBIDDEN.search(fixed):
            report("RUNTIME", "exec-name", file, where, f"execution Name template {lit!r} has forbidden characters")
        elif not NAME_SAFE.match(fixed):
            report("SUSPECT", "exec-name", file, where,
                   f"execution Name template {lit!r}: only [A-Za-z0-9_-] when logging is on")
        ctx["exec_names"].append((where, lit, [a.text if isinstance(a, PathArg) else "?" for a in call.args[1:]]))
    inp = params.get("Input")
    if "Input" in params and not isinstance(inp, (dict, str)):
        report("RUNTIME", "exec-input", file, where, "Input must be an object or a JSON string")
    kind, arn = static_value(params, "StateMachineArn")
    ctx["starts"].append((where, kind, arn, inp if isinstance(inp, dict) else None))


# --------------------------------------------------------------------------- data flow
# A Parameters path, Choice comparison or Wait path that the state's input lacks fails the
# state with States.Runtime, which no catcher handles, not even States.ALL
# (dg/concepts-error-handling.html, "States.Runtime"). The shapes below track which keys each
# state's input is sure to have: ANY (unknown), LEAF (a scalar), a tuple (a Parallel's array
# of branch outputs), a dict (these keys at least) or a CDict (exactly these keys).
ANY = "ANY"
LEAF = "LEAF"
MAX_FLOW_STEPS = 200000


class CDict(dict):
    """An object whose keys are exactly known (built from a template or a literal)."""

    def __eq__(self, other):
        return type(self) is type(other) and dict.__eq__(self, other)

    def __ne__(self, other):
        return not self.__eq__(other)


def join(a, b):
    if a is None:
        return b
    if b is None:
        return a
    if a == ANY or b == ANY:
        return ANY
    if isinstance(a, dict) and isinstance(b, dict):
        out = {k: join(a[k], b[k]) for k in a if k in b}
        if isinstance(a, CDict) and isinstance(b, CDict) and set(a) == set(b):
            return CDict(out)
        return out
    if isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b):
        return tuple(join(x, y) for x, y in zip(a, b))
    if a == LEAF and b == LEAF:
        return LEAF
    return ANY


def lookup(shape, segs):
    """'ok', 'unknown' or ('missing', index of the first missing segment)."""
    cur = shape
    for i, s in enumerate(segs):
        if cur == ANY:
            return "unknown"
        if isinstance(cur, dict):
            if s not in cur:
                return ("missing", i)
            cur = cur[s]
        elif isinstance(cur, tuple):
            if s == "*":
                return "unknown"
            if not isinstance(s, int) or s >= len(cur):
                return ("missing", i)
            cur = cur[s]
        else:
            return ("missing", i)
    return "ok"


def get_shape(shape, segs):
    cur = shape
    for s in segs:
        if isinstance(cur, dict) and s in cur:
            cur = cur[s]
        elif isinstance(cur, tuple) and isinstance(s, int) and s < len(cur):
            cur = cur[s]
        else:
            return ANY
    return cur


def put_shape(shape, segs, value):
    if not segs:
        return value
    if shape == ANY:
        return ANY  # writing into an unknown object keeps it unknown
    if isinstance(segs[0], int):
        return shape
    base = shape if isinstance(shape, dict) else {}
    new = CDict(base) if isinstance(base, CDict) else dict(base)
    new[segs[0]] = put_shape(base.get(segs[0], {}), segs[1:], value)
    return new


def literal_shape(v):
    if isinstance(v, dict):
        return CDict({k: literal_shape(x) for k, x in v.items()})
    return ANY if isinstance(v, list) else LEAF


def template_shape(tmpl, inp):
    if isinstance(tmpl, dict):
        out = CDict()
        for k, v in tmpl.items():
            if not k.endswith(".$"):
                out[k] = template_shape(v, inp)
            elif isinstance(v, str) and v.startswith("$") and not v.startswith("$$"):
                segs = path_segments(v)
                out[k[:-2]] = get_shape(inp, segs) if segs is not None else ANY
            elif isinstance(v, str) and v.startswith(("States.Format", "States.JsonToString", "States.UUID",
                                                     "States.Base64", "States.Hash")):
                out[k[:-2]] = LEAF
            else:
                out[k[:-2]] = ANY
        return out
    return ANY if isinstance(tmpl, list) else LEAF


def apply_path(shape, path):
    if path is None:
        return {}
    if path == "$":
        return shape
    segs = path_segments(path)
    if segs is None or (segs and segs[0] == "$$"):
        return ANY
    return get_shape(shape, segs)


def apply_result_path(raw_input, rp, result):
    if rp == "$":
        return result
    if rp is None:
        return raw_input
    segs = path_segments(rp)
    return ANY if segs is None else put_shape(raw_input, segs, result)


def rule_facts(rule):
    """Paths known present when the rule matched (IsPresent true, or a comparison that read them)."""
    facts = []
    if not isinstance(rule, dict):
        return facts
    if rule.get("IsPresent") is True and isinstance(rule.get("Variable"), str):
        facts.append(rule["Variable"])
    for r in rule.get("And") or []:
        facts += rule_facts(r)
    if isinstance(rule.get("Variable"), str) and any(op in rule for op in ALL_OPS - TEST_OPS - PATH_OPS):
        facts.append(rule["Variable"])
    return facts


def negated_facts(rule):
    """Paths known present when the rule did not match (Not IsPresent, IsPresent false)."""
    if isinstance(rule, dict) and isinstance(rule.get("Not"), dict):
        r = rule["Not"]
        if r.get("IsPresent") is True and isinstance(r.get("Variable"), str):
            return [r["Variable"]]
    if isinstance(rule, dict) and rule.get("IsPresent") is False and isinstance(rule.get("Variable"), str):
        return [rule["Variable"]]
    return []


def definitely(shape, path):
    """'present', 'absent' or None (unknown) for a $-path in shape."""
    segs = path_segments(path) if isinstance(path, str) else None
    if not segs or segs[0] == "$$":
        return None
    r = lookup(shape, segs)
    if r == "ok":
        return "present"
    if isinstance(r, tuple):
        container = get_shape(shape, segs[:r[1]]) if r[1] else shape
        if isinstance(container, CDict) or container == LEAF:
            return "absent"
    return None


def presence_verdict(rule, shape):
    """'always', 'never' or None for rules that only test presence."""
    if not isinstance(rule, dict):
        return None
    if set(rule) <= {"Variable", "IsPresent", "Next"} and isinstance(rule.get("IsPresent"), bool):
        d = definitely(shape, rule.get("Variable"))
        if d is None:
            return None
        return "always" if (d == "present") == rule["IsPresent"] else "never"
    if set(rule) <= {"Not", "Next"} and isinstance(rule.get("Not"), dict):
        return {"always": "never", "never": "always"}.get(presence_verdict(rule["Not"], shape))
    if set(rule) <= {"And", "Next"} and isinstance(rule.get("And"), list):
        if "never" in [presence_verdict(r, shape) for r in rule["And"]]:
            return "never"
    return None


def add_fact(shape, path):
    segs = path_segments(path)
    if not segs or segs[0] == "$$" or lookup(shape, segs) in ("ok", "unknown"):
        return shape
    if any(isinstance(s, int) for s in segs):
        return shape
    return put_shape(shape, segs, ANY)


def choice_reads(rule, known, out):
    """Variables read by comparisons that no IsPresent guards (And short-circuits)."""
    if not isinstance(rule, dict):
        return
    if "And" in rule:
        k = set(known)
        for r in rule["And"] or []:
            choice_reads(r, k, out)
            k.update(rule_facts(r))
        return
    if "Or" in rule:
        for r in rule["Or"] or []:
            choice_reads(r, known, out)
        return
    if "Not" in rule:
        choice_reads(rule["Not"], known, out)
        return
    v = rule.get("Variable")
    if not isinstance(v, str):
        return
    if any(op in rule for op in TEST_OPS):
        if "IsPresent" not in rule and v not in known:
            out.append((v, "test"))
        return
    if v not in known:
        out.append((v, "cmp"))
    for op in sorted(PATH_OPS):
        if isinstance(rule.get(op), str):
            out.append((rule[op], "cmp"))


def payload_paths(tmpl, cache=None):
    """(path, expression) for every path a payload template reads, in intrinsics too."""
    if cache is not None:
        if id(tmpl) not in cache:
            cache[id(tmpl)] = (tmpl, payload_paths(tmpl))  # the template is kept so its id stays its own
        return cache[id(tmpl)][1]
    out = []

    def walk(o):
        if isinstance(o, dict):
            for k, v in o.items():
                if not (k.endswith(".$") and isinstance(v, str)):
                    walk(v)
                elif v.startswith("States."):
                    try:
                        call, _ = parse_intrinsic(v)
                    except IntrinsicError:
                        continue
                    stack = [call]
                    while stack:
                        n = stack.pop()
                        if isinstance(n, Call):
                            stack += n.args
                        elif isinstance(n, PathArg):
                            out.append((n.text, v))
                elif v.startswith("$"):
                    out.append((v, v))
        elif isinstance(o, list):
            for v in o:
                walk(v)

    walk(tmpl)
    return out


class Flow:
    """Forward analysis of the keys each state's input is sure to have."""

    def __init__(self, file, defn, init_shape, ctx_input_keys, paths_cache):
        self.file, self.defn, self.init = file, defn, init_shape
        self.paths_cache = paths_cache  # payload_paths per template, shared by the runs of one file
        self.ctx_keys = ctx_input_keys  # None: unknown (a root machine); a set: the keys callers pass
        self.inputs = {}  # state path -> (input shape, state); "path#result" -> (branch outputs, state)

    def scope_outputs(self, states, start, inp, prefix):
        """Run one scope to a fixpoint; return the join of its terminal outputs."""
        ins = {n: None for n in states}
        if not isinstance(start, str) or start not in ins:
            return None
        ins[start] = inp
        work, term, steps = [start], None, 0
        while work:
            steps += 1
            if steps > MAX_FLOW_STEPS:
                report("SUSPECT", "flow-incomplete", self.file, prefix, "data-flow analysis stopped before a fixpoint")
                break
            n = work.pop()
            if not isinstance(states.get(n), dict):
                continue
            outs, terminal = self.transfer(n, states[n], ins[n], prefix)
            if terminal is not None:
                term = join(term, terminal)
            for tgt, shape in outs:
                if isinstance(tgt, str) and tgt in ins:
                    new = join(ins[tgt], shape)
                    if new != ins[tgt]:
                        ins[tgt] = new
                        work.append(tgt)
        for n, s in ins.items():
            self.inputs[prefix + n] = (s, states[n])
        return term

    def transfer(self, n, st, raw, prefix):
        """([(next state, its input shape)], terminal output or None) of one state."""
        if raw is None:
            return [], None
        t = st.get("Type")
        eff = apply_path(raw, st["InputPath"]) if "InputPath" in st else raw
        outs = []

        def finish(result):
            o = apply_result_path(raw, st.get("ResultPath", "$"), result)
            return apply_path(o, st["OutputPath"]) if "OutputPath" in st else o

        def caught():
            for c in st.get("Catch") or []:
                if isinstance(c, dict):
                    error = {"Error": LEAF, "Cause": LEAF}
                    outs.append((c.get("Next"), apply_result_path(raw, c.get("ResultPath", "$"), error)))

        if t == "Pass":
            if "Parameters" in st:
                out = finish(template_shape(st["Parameters"], eff))
            elif "Result" in st:
                out = finish(literal_shape(st["Result"]))
            else:
                out = finish(eff)
        elif t == "Task":
            out = finish(template_shape(st["ResultSelector"], ANY) if "ResultSelector" in st else ANY)
            caught()
        elif t == "Parallel":
            branch_outs = []
            for i, b in enumerate(st.get("Branches") or []):
                bo = None
                if isinstance(b, dict) and isinstance(b.get("States"), dict):
                    bo = self.scope_outputs(b["States"], b.get("StartAt"), eff, f"{prefix}{n}/Branches[{i}]/States/")
                branch_outs.append(bo if bo is not None else ANY)
            arr = tuple(branch_outs)
            self.inputs[prefix + n + "#result"] = (arr, st)
            out = finish(template_shape(st["ResultSelector"], arr) if "ResultSelector" in st else arr)
            caught()
        elif t == "Map":
            out = finish(ANY)
            caught()
        elif t == "Choice":
            rest = eff
            for r in st.get("Choices") or []:
                verdict = presence_verdict(r, rest)
                if verdict != "never":
                    shape = rest
                    for f in rule_facts(r):
                        shape = add_fact(shape, f)
                    outs.append((r.get("Next") if isinstance(r, dict) else None, shape))
                if verdict == "always":
                    return outs, None
                for f in negated_facts(r):
                    rest = add_fact(rest, f)
            if "Default" in st:
                outs.append((st["Default"], rest))
            return outs, None
        elif t == "Wait":
            out = apply_path(eff, st["OutputPath"]) if "OutputPath" in st else eff
        else:  # Succeed, Fail
            return [], (apply_path(eff, st["OutputPath"]) if "OutputPath" in st else eff)
        if st.get("End") is True:
            return outs, out
        outs.append((st.get("Next"), out))
        return outs, None

    def run(self):
        states = self.defn.get("States")
        if isinstance(states, dict):
            self.scope_outputs(states, self.defn.get("StartAt"), self.init, "/States/")

    def check(self):
        for key, (inp, st) in self.inputs.items():
            if key.endswith("#result"):
                for p, expr in payload_paths(st.get("ResultSelector", {}), self.paths_cache):
                    self.check_ref(p, inp, key[:-len("#result")], "ResultSelector", expr)
                continue
            if inp is None:
                continue
            eff = apply_path(inp, st["InputPath"]) if "InputPath" in st else inp
            for p, expr in payload_paths(st.get("Parameters", {}), self.paths_cache):
                self.check_ref(p, eff, key, "Parameters", expr)
            if st.get("Type") == "Choice":
                reads = []
                for r in st.get("Choices") or []:
                    choice_reads(r, set(), reads)
                # dg/state-choice.html: a comparison on a missing Variable is States.Runtime;
                # an Is* test (other than IsPresent) on one is not documented.
                for p, kind in reads:
                    self.check_ref(p, eff, key, "Choice" if kind == "cmp" else "Choice (Is* test)", p,
                                   "RUNTIME" if kind == "cmp" else "SUSPECT")
            if st.get("Type") == "Wait":
                for k in ("SecondsPath", "TimestampPath"):
                    if isinstance(st.get(k), str):
                        self.check_ref(st[k], eff, key, k, st[k])
            if isinstance(st.get("InputPath"), str) and st["InputPath"] != "$":
                self.check_ref(st["InputPath"], inp, key, "InputPath", st["InputPath"])

    def check_ref(self, p, shape, key, field, expr, sev="RUNTIME"):
        segs = path_segments(p)
        if segs is None:
            return
        if segs[:1] == ("$$",):
            if len(segs) >= 4 and segs[1:3] == ("Execution", "Input") and self.ctx_keys is not None \
                    and segs[3] not in self.ctx_keys:
                report("RUNTIME", "ctx-input-missing", self.file, key,
                       f"{field} reads {p} but no caller puts {segs[3]!r} in this machine's execution input")
            return
        if isinstance(lookup(shape, segs), tuple):
            keys = sorted(shape)[:12] if isinstance(shape, dict) else shape
            report(sev, "path-missing", self.file, key,
                   f"{field} reads {p} ({expr[:120]!r}) but the input may lack it (input keys: {keys!r})")


def check_root_input_contract(f, d):
    """$$.Execution.Input keys read in Parameters but never tested with IsPresent."""
    guarded, reads = set(), collections.defaultdict(list)

    def rules(r):
        if isinstance(r, dict):
            yield r
            for k in ("And", "Or"):
                for x in r.get(k) or []:
                    yield from rules(x)
            yield from rules(r.get("Not"))

    for sc in iter_scopes(d):
        for n, st in sc.states.items():
            if not isinstance(st, dict):
                continue
            for p, _ in payload_paths(st.get("Parameters", {})):
                segs = path_segments(p)
                if segs and segs[:3] == ("$$", "Execution", "Input") and len(segs) > 3:
                    reads[segs[3]].append(f"{sc.where}States/{n}")
            for r in st.get("Choices") or []:
                for x in rules(r):
                    v = x.get("Variable")
                    segs = path_segments(v) if isinstance(v, str) else None
                    if segs and segs[:3] == ("$$", "Execution", "Input") and len(segs) > 3 and "IsPresent" in x:
                        guarded.add(segs[3])
            # The error output of a catcher has Cause only "usually" (dg/concepts-error-handling.html);
            # parsing it in a Pass state (which cannot catch) then fails with States.Runtime.
            # A Pass reached only through Choice rules that test the Cause for a JSON object
            # (`StringMatches` "{*") is guarded.
            if (st.get("Type") == "Pass" and "StringToJson($.error.Cause)" in json.dumps(st.get("Parameters", {}))
                    and not cause_guarded(sc.states, n)):
                report("SUSPECT", "stringtojson-cause", f, f"{sc.where}States/{n}",
                       "a Pass state parses $.error.Cause: an absent or non-JSON Cause fails with States.Runtime")
    # A start without the key fails with States.Runtime, which no catcher handles.
    for k, where in sorted(reads.items()):
        if k not in guarded:
            report("SUSPECT", "root-input-contract", f, where[0],
                   f"$$.Execution.Input.{k} is read in {len(where)} state(s) and never tested with IsPresent")


def choice_rules(r):
    """A Choice rule and every rule nested in it (And, Or, Not)."""
    if isinstance(r, dict):
        yield r
        for k in ("And", "Or"):
            for x in r.get(k) or []:
                yield from choice_rules(x)
        yield from choice_rules(r.get("Not"))


def cause_guarded(states, target):
    """Whether every way into `target` is a Choice rule that tests `$.error.Cause` with a
    `StringMatches` pattern starting with `{` (so the Cause is there and looks like JSON)."""
    ways = 0
    for st in states.values():
        if not isinstance(st, dict):
            continue
        if st.get("Next") == target or st.get("Default") == target:
            return False
        if any(isinstance(c, dict) and c.get("Next") == target for c in st.get("Catch") or []):
            return False
        for c in st.get("Choices") or []:
            if not isinstance(c, dict) or c.get("Next") != target:
                continue
            ways += 1
            tests = [x for x in choice_rules(c) if x.get("Variable") == "$.error.Cause"
                     and str(x.get("StringMatches", "")).startswith("{")]
            # Only conjunctions: a test under Or or Not does not guard.
            if not tests or "Or" in c or "Not" in c:
                return False
    return ways > 0


# --------------------------------------------------------------------------- one output directory
def read_manifest(root_dir):
    """jobnet2sfn's manifest.json: [(name, file path, role, substitutions)], or None when absent."""
    path = os.path.join(root_dir, "manifest.json")
    if not os.path.exists(path):
        return None
    try:
        with open(path, encoding="utf-8") as fh:
            machines = json.load(fh)["state_machines"]
        return [(m["name"], os.path.join(root_dir, m["file"]), m.get("role"), m.get("substitutions") or {})
                for m in machines]
    except (ValueError, KeyError, TypeError) as e:
        raise InputError(f"{path}: not a jobnet2sfn manifest ({e!r}): the cross-machine checks need it")


def check_group(root_dir, files):
    """Every check of one output directory (or of loose files when root_dir is None)."""
    manifest = read_manifest(root_dir) if root_dir else None
    by_name, roles, subs, machine_refs = {}, {}, {}, {}
    for name, path, role, s in manifest or []:
        by_name[name], roles[path], subs[path] = path, role, set(s)
        machine_refs[path] = {k: v["state_machine"] for k, v in s.items()
                              if isinstance(v, dict) and "state_machine" in v}
    if manifest is not None:
        unlisted = [f for f in files if f not in subs]
        if unlisted:
            raise InputError(f"{root_dir}/manifest.json does not list {unlisted[0]}: the cross-machine checks "
                             "would miss it")
    defs, ctxs = {}, {}
    for f in files:
        try:
            with open(f, encoding="utf-8") as fh:
                defs[f] = json.load(fh)
        except ValueError as e:
            report("CREATE", "json", f, "/", f"not valid JSON: {e}")
            continue
        ctxs[f] = {"partitions": set(), "exec_names": [], "starts": [], "stop_arns": []}
        # dg/service-quotas.html: a definition is at most 1 MB.
        if len(json.dumps(defs[f])) > 1048576:
            report("CREATE", "definition-size", f, "/", "the definition is larger than 1,048,576 characters")
        for sc in check_structure(defs[f], f):
            for n, st in sc.states.items():
                if isinstance(st, dict) and st.get("Type") == "Task":
                    check_integration(st, f, f"{sc.where}States/{n}", ctxs[f])
    if manifest is not None:
        # AWS::StepFunctions::StateMachine DefinitionSubstitutions: a ${Name} without an entry
        # stays in the definition as text.
        for f, d in defs.items():
            used = set(re.findall(r"\$\{([A-Za-z0-9_:]+)\}", json.dumps(d)))
            for u in sorted(used - subs[f]):
                report("RUNTIME", "substitution-missing", f, "/", f"${{{u}}} has no DefinitionSubstitutions entry")
            for u in sorted(subs[f] - used):
                report("INFO", "substitution-unused", f, "/", f"DefinitionSubstitutions key {u} is not used")
    # Which machine each startExecution starts, and with what input.
    callers = collections.defaultdict(list)
    for f, ctx in ctxs.items():
        for where, kind, arn, inp in ctx["starts"]:
            target = None
            m = re.match(r"^\$\{(\w+)\}$", arn) if kind == "static" and isinstance(arn, str) else None
            if m and m.group(1) in machine_refs.get(f, {}):
                target = by_name.get(machine_refs[f][m.group(1)])
            elif kind == "dynamic" and arn == "$$.StateMachine.Id":
                target = f
            if target and target != f:
                callers[target].append(inp)
    for f, d in defs.items():
        if not isinstance(d, dict):
            continue
        runs = [(ANY, None)]
        if callers.get(f) and roles.get(f) != "root":
            runs, seen = [], set()
            for inp in callers[f]:
                key = json.dumps(inp, sort_keys=True)
                if key not in seen:
                    seen.add(key)
                    keys = {x[:-2] if x.endswith(".$") else x for x in inp or {}}
                    runs.append((template_shape(inp or {}, ANY), keys))
        else:
            check_root_input_contract(f, d)
        paths_cache = {}
        for init, ctx_keys in runs:
            flow = Flow(f, d, init, ctx_keys, paths_cache)
            flow.run()
            flow.check()
    # jobnet2sfn's delay monitors stop executions by ARN, built from a machine name and an
    # execution-name template: the machine must exist here and some start must use that name,
    # or StopExecution fails (sfn-api/StopExecution, ExecutionDoesNotExist).
    name_templates = {lit for c in ctxs.values() for _, lit, _ in c["exec_names"]}
    for f, ctx in ctxs.items():
        for where, lit in ctx["stop_arns"]:
            m = re.match(r"^arn:\{\}:states:\{\}:\{\}:execution:([^:]+):(.+)$", lit)
            if not m:
                report("SUSPECT", "stop-arn", f, where, f"stopExecution ARN template {lit!r} has an unexpected shape")
                continue
            machine, execution = m.groups()
            if by_name and machine not in by_name:
                report("RUNTIME", "stop-arn", f, where, f"stopExecution targets machine {machine!r}, not defined here")
            if execution not in name_templates:
                report("RUNTIME", "stop-arn", f, where,
                       f"stopExecution's execution name {execution!r} matches no startExecution Name template")
    return ctxs


def check_files(files, use_manifests=True):
    """Check definitions (absolute paths), grouped by output directory."""
    groups = collections.defaultdict(list)
    for f in files:
        parent = os.path.dirname(f)
        root = os.path.dirname(parent) if use_manifests and os.path.basename(parent) == "statemachines" else None
        groups[root].append(f)
    ctxs = {}
    for root in sorted(groups, key=lambda r: r or ""):
        ctxs.update(check_group(root, groups[root]))
    # Execution names are 1..80 characters (sfn-api/StartExecution): the longest fixed text a
    # Name template adds to its arguments bounds the names a run may have.
    suffixes = sorted(((len(lit.replace("{}", "")), lit, args, f, where)
                       for f, ctx in ctxs.items() for where, lit, args in ctx["exec_names"]), reverse=True)
    if suffixes:
        fixed, lit, args, f, where = suffixes[0]
        report("INFO", "exec-name-budget", f, where,
               f"execution-name template {lit!r} adds {fixed} characters to {args}: "
               f"a run id over {80 - fixed} characters makes StartExecution fail")
    partitions = set().union(*(c["partitions"] for c in ctxs.values())) if ctxs else set()
    if partitions == {"aws"}:
        report("INFO", "partition", "*", "/", "every integration Resource names partition 'aws'")


# --------------------------------------------------------------------------- command line
def findings():
    """FINDINGS without duplicates, in a stable order."""
    order = {s: i for i, s in enumerate(SEVERITIES)}
    return sorted(set(FINDINGS), key=lambda x: (order[x.sev], x.file, x.where, x.rule, x.msg))


def shown(path):
    """A path as the user would write it: relative below the working directory."""
    if not os.path.isabs(path):
        return path
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def line(x):
    return f"{x.sev} {shown(x.file)}: {x.where}: {x.rule}: {x.msg}"


def self_test():
    """bad.asl.json must give exactly the findings bad.expected lists."""
    bad = os.path.join(DATA, "bad.asl.json")
    expected = []
    with open(os.path.join(DATA, "bad.expected"), encoding="utf-8") as fh:
        for n, text in enumerate(fh, 1):
            if text.strip() and not text.startswith("#"):
                head, _, needle = text.rstrip("\n").partition(" | ")
                sev, rule, where = head.split(" ", 2)
                expected.append((n, sev, rule, where, needle))
    check_files([bad], use_manifests=False)
    got = [x for x in findings() if x.file == bad]
    unmatched = list(got)
    missing = []
    for n, sev, rule, where, needle in expected:
        hit = next((x for x in unmatched if (x.sev, x.rule, x.where) == (sev, rule, where) and needle in x.msg), None)
        if hit:
            unmatched.remove(hit)
        else:
            missing.append(f"bad.expected:{n}: not reported: {sev} {rule} {where} | {needle}")
    for m in missing:
        print(f"asl_rules self-test: {m}")
    for x in unmatched:
        print(f"asl_rules self-test: not in bad.expected: {line(x)}")
    if missing or unmatched:
        print(f"asl_rules self-test: FAILED ({len(missing)} missing, {len(unmatched)} unexpected)")
        return 1
    # The guard of a Pass that parses an error's Cause (rule stringtojson-cause).
    parse = {"Type": "Pass", "Parameters": {"c.$": "States.StringToJson($.error.Cause)"}, "End": True}
    json_cause = {"Variable": "$.error.Cause", "StringMatches": "{*"}
    cases = [
        ({"X": {"Type": "Choice", "Choices": [{"And": [json_cause], "Next": "P"}], "Default": "E"}}, True),
        ({"X": {"Type": "Choice", "Choices": [dict(json_cause, Next="P")], "Default": "E"}}, True),
        ({"X": {"Type": "Choice", "Choices": [{"Or": [json_cause], "Next": "P"}], "Default": "E"}}, False),
        ({"X": {"Type": "Choice", "Choices": [dict(json_cause, Next="E")], "Default": "P"}}, False),
        ({"X": {"Type": "Task", "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "P"}], "End": True}}, False),
        ({}, False),
    ]
    for states, want in cases:
        if cause_guarded(dict(states, P=parse), "P") != want:
            print(f"asl_rules self-test: FAILED: cause guard of {states} should be {want}")
            return 1
    print(f"asl_rules self-test: all {len(expected)} deliberate violations in bad.asl.json reported")
    return 0


def main(argv):
    ap = argparse.ArgumentParser(prog="asl_rules.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--verbose", action="store_true", help="also list SUSPECT and INFO findings")
    ap.add_argument("--self-test", action="store_true", help="check asl_rules/bad.asl.json against bad.expected")
    ap.add_argument("paths", nargs="*", metavar="DIR_OR_FILE")
    args = ap.parse_args(argv)
    try:
        if args.self_test:
            if args.paths:
                ap.error("--self-test takes no paths")
            return self_test()
        if not args.paths:
            ap.error("no DIR_OR_FILE given")
        files = []
        for p in args.paths:
            if os.path.isdir(p):
                for d, dirs, names in os.walk(p):
                    dirs.sort()
                    files += [os.path.join(d, n) for n in sorted(names) if n.endswith(".asl.json")]
            elif os.path.isfile(p):
                files.append(p)
            else:
                raise InputError(f"{p}: no such file or directory")
        if not files:
            raise InputError(f"no *.asl.json under: {' '.join(args.paths)}")
        files = sorted({os.path.abspath(f) for f in files})
        check_files(files)
    except InputError as e:
        print(f"asl_rules: {e}", file=sys.stderr)
        return 2
    all_findings = findings()
    failing = [x for x in all_findings if x.sev in FAILING]
    print(f"asl_rules: {len(files)} definition(s)")
    for x in failing:
        print(line(x))
    for sev in ("SUSPECT", "INFO"):
        xs = [x for x in all_findings if x.sev == sev]
        if args.verbose:
            for x in xs:
                print(line(x))
        elif xs:
            counts = collections.Counter(x.rule for x in xs)
            print(f"{sev} (not failing; --verbose lists them): "
                  + ", ".join(f"{r} {c}" for r, c in sorted(counts.items())))
    if failing:
        print(f"asl_rules: {len(failing)} CREATE/RUNTIME finding(s)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
