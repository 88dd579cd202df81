"""Runs tests/calendar_vectors.json against the business-day Lambda with a moto DynamoDB.

Usage: lambda_vectors.py CALENDAR_DIR VECTORS_JSON
CALENDAR_DIR holds the calendars/*.json data files the compiler writes
(src/back/schedule.rs calendar_items); they are loaded into the mocked table as the
operator would load them. Called by tests/calendar_lambda.rs; prints 'N passed, M failed'.
"""

import datetime
import importlib.util
import json
import os
import pathlib
import sys

os.environ.update(
    AWS_DEFAULT_REGION="ap-northeast-1",
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    TABLE="business-calendar",
)

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
DAY = datetime.timedelta(days=1)


def load_lambda():
    spec = importlib.util.spec_from_file_location(
        "business_day", ROOT / "templates" / "lambda" / "business_day.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_table(calendar_dir):
    db = boto3.resource("dynamodb")
    table = db.create_table(
        TableName=os.environ["TABLE"],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    files = sorted(pathlib.Path(calendar_dir).glob("calendars/*.json"))
    if not files:
        raise SystemExit(f"no calendars/*.json under {calendar_dir}")
    with table.batch_writer() as batch:
        for f in files:
            for item in json.loads(f.read_text("utf-8"))["items"]:
                batch.put_item(Item=item)
    return table


def check(results, name, ok, detail):
    results.append((name, ok, detail))


def run_vectors(bd, doc):
    results = []
    for v in doc["vectors"]:
        name, cal, rule, expect = v["name"], v["calendar"], v["rule"], v["expect"]
        nominal = datetime.date.fromisoformat(v["date"])
        # The direct question: what does the rule do with this nominal date?
        got = bd.handler({"calendar": cal, "rules": [rule], "nominal": v["date"]})["decisions"][0]
        if got is None:
            word = "none"
        elif got["date"] is None:
            word = "skip"
        elif got["date"] == v["date"]:
            word = "run"
        else:
            word = got["date"]
        check(results, f"decide: {name}", word == expect, f"expected {expect}, got {word} ({got})")
        # The run-time question: is this business date a run day, and for which nominal?
        landing = {"run": v["date"], "skip": None, "none": None}.get(expect, expect)
        on_nominal = bd.handler({"calendar": cal, "rules": [rule], "businessDate": v["date"]})
        from_here = [r for r in on_nominal["runs"] if r["nominal"] == v["date"]]
        if landing is None or landing != v["date"]:
            check(results, f"no run on nominal: {name}", not from_here, str(on_nominal))
        if landing is not None:
            there = bd.handler({"calendar": cal, "rules": [rule], "businessDate": landing})
            hit = [r for r in there["runs"] if r["nominal"] == v["date"]]
            check(results, f"run lands: {name}", there["run"] and len(hit) == 1, str(there))
        del nominal
    return results


def fixed_checks(bd):
    results = []
    daily = {"days": ["daily"]}
    # 2027-01-04T16:30Z is 01:30 on 1/5 in Tokyo; with a 05:00 day start (dayOffset 1)
    # the business date is Monday 1/4.
    r = bd.handler(
        {
            "scheduledTime": "2027-01-04T16:30:00Z",
            "timezone": "Asia/Tokyo",
            "dayOffset": 1,
            "calendar": "jp",
            "rules": [daily],
        }
    )
    check(results, "scheduled time to business date", r["businessDate"] == "2027-01-04" and r["run"], str(r))
    r = bd.handler(
        {
            "scheduledTime": "2027-01-10T15:00:00Z",
            "timezone": "Asia/Tokyo",
            "dayOffset": 0,
            "calendar": "jp",
            "rules": [daily],
        }
    )
    check(results, "holiday is not a run day", r["businessDate"] == "2027-01-11" and not r["run"], str(r))
    # Without tz data (ZoneInfo fails) Tokyo is still UTC+9.
    real = bd.ZoneInfo

    def missing(name):
        raise LookupError(name)

    bd.ZoneInfo = missing
    try:
        offset = bd.tz("Asia/Tokyo").utcoffset(None)
    finally:
        bd.ZoneInfo = real
    check(results, "fixed-offset fallback", offset == datetime.timedelta(hours=9), str(offset))
    # Exclusive: the month-end jobnet runs on 1/29, so the daily one does not.
    close = {"jobnet": "close", "calendar": "jp", "rules": [{"days": ["nth_last_open_day", 1]}]}
    r = bd.handler({"calendar": "jp", "rules": [daily], "businessDate": "2027-01-29", "exclusive": [close]})
    check(results, "exclusive jobnet suppresses the run", not r["run"] and r["excludedBy"] == ["close"], str(r))
    r = bd.handler({"calendar": "jp", "rules": [daily], "businessDate": "2027-01-28", "exclusive": [close]})
    check(results, "exclusive jobnet idle: run", r["run"] and r["excludedBy"] == [], str(r))
    # An event at 04:59 Tokyo time with a 05:00 day start (dayStart 300) belongs to the
    # day before; at 05:00 it opens the new business date.
    for at, date in [("2027-01-05T19:59:00Z", "2027-01-05"), ("2027-01-05T20:00:00Z", "2027-01-06")]:
        r = bd.handler(
            {
                "scheduledTime": at,
                "timezone": "Asia/Tokyo",
                "dayStart": 300,
                "dayOffset": 0,
                "calendar": None,
                "rules": [daily],
            }
        )
        check(results, f"event at {at} with a day start", r["businessDate"] == date and r["run"], str(r))
    # Several rules: both reasons are reported, one run.
    r = bd.handler(
        {
            "calendar": "jp",
            "rules": [daily, {"days": ["nth_open_day", 1]}],
            "businessDate": "2027-02-01",
        }
    )
    check(results, "two rules, one run day", r["run"] and [x["rule"] for x in r["runs"]] == [0, 1], str(r))
    check(results, "unnamed rules: no rule name", r["rule"] == "", str(r))
    # Named rules (delays per rule): the first rule that runs names the run's rule.
    month_start = {"name": "7", "days": ["nth_open_day", 1]}
    named = [{"name": "3", "days": ["weekdays", [5, 6]], "onClosed": "run"}, month_start, dict(daily, name="9")]
    for date, want in [("2027-02-01", "7"), ("2027-02-02", "9"), ("2027-02-06", "3"), ("2027-02-11", "")]:
        r = bd.handler({"calendar": "jp", "rules": named, "businessDate": date})
        check(results, f"run of {date} names rule {want!r}", r["rule"] == want and r["run"] == (want != ""), str(r))
    # A date beyond the loaded years fails loudly instead of guessing.
    try:
        bd.handler({"calendar": "jp", "rules": [daily], "businessDate": "2031-06-02"})
        check(results, "missing calendar data is an error", False, "no error raised")
    except KeyError as e:
        check(results, "missing calendar data is an error", "no day" in str(e), str(e))
    return results


def main():
    calendar_dir, vectors = sys.argv[1], sys.argv[2]
    doc = json.loads(pathlib.Path(vectors).read_text("utf-8"))
    source = (ROOT / "templates" / "lambda" / "business_day.py").read_bytes()
    results = [("lambda fits in ZipFile", len(source) <= 4096, f"{len(source)} bytes")]
    with mock_aws():
        make_table(calendar_dir)
        bd = load_lambda()
        results += run_vectors(bd, doc)
        results += fixed_checks(bd)
    failed = [r for r in results if not r[1]]
    for name, _, detail in failed:
        print(f"FAIL {name}: {detail}")
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
