"""Runs S3 events through the EventBridge rules the compiler writes for start conditions,
then hands what each rule delivers to the business-day Lambda.

Usage: start_rule_events.py CALENDAR_DIR CASES_JSON
CASES_JSON: {"rules": [{"pattern": {...}, "transformer": {...}}], "cases": [{"name",
"event", "expect": null (no rule matches) or {"businessDate", "run"}}]}. The rules' event
pattern matching and input transformation are moto's (an implementation independent of
the compiler); the calendar data files are loaded into a moto DynamoDB table as in
lambda_vectors.py. Called by tests/calendar_lambda.rs; prints 'N passed, M failed'.
"""

import json
import pathlib
import sys

from lambda_vectors import load_lambda, make_table  # noqa: E402 (sets the moto environment)
from moto import mock_aws  # noqa: E402
from moto.events.models import EventPattern  # noqa: E402
from moto.events.utils import EventTemplateParser  # noqa: E402


def deliveries(rules, event):
    """What each rule matching `event` hands its target."""
    out = []
    for rule in rules:
        if EventPattern.load(json.dumps(rule["pattern"])).matches_event(event):
            t = rule["transformer"]
            out.append(EventTemplateParser.parse(t["InputTemplate"], t["InputPathsMap"], event))
    return out


def main():
    calendar_dir, cases_file = sys.argv[1], sys.argv[2]
    doc = json.loads(pathlib.Path(cases_file).read_text("utf-8"))
    failed = 0
    passed = 0
    with mock_aws():
        make_table(calendar_dir)
        bd = load_lambda()
        for case in doc["cases"]:
            event = dict(case["event"], **{"ingestion-time": case["event"]["time"]})
            got = deliveries(doc["rules"], event)
            expect = case["expect"]
            if expect is None:
                ok = got == []
                detail = got
            else:
                answers = [bd.handler(g) for g in got]
                ok = len(got) == 1 and all(
                    a["businessDate"] == expect["businessDate"] and a["run"] == expect["run"]
                    for a in answers
                )
                detail = answers
            if ok:
                passed += 1
            else:
                failed += 1
                print(f"FAIL {case['name']}: expected {expect}, got {detail}")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
