"""What an EventBridge rule of a generated template hands its target for an event.

Usage: rule_delivery.py TEMPLATE_YAML RULE_ID EVENT_JSON
Prints the target's input as JSON, or `null` when the rule's pattern does not match the
event. The pattern matching and the input transformer are moto's (an implementation
independent of the compiler). Called by tests/emulator.rs.
"""

import json
import sys

import yaml
from moto.events.models import EventPattern
from moto.events.utils import EventTemplateParser


def main():
    template_file, rule_id, event_text = sys.argv[1], sys.argv[2], sys.argv[3]
    with open(template_file, encoding="utf-8") as f:
        template = yaml.safe_load(f)
    rule = template["Resources"][rule_id]["Properties"]
    event = json.loads(event_text)
    # EventBridge adds it on delivery; moto's transformer reads it.
    event.setdefault("ingestion-time", event["time"])
    if not EventPattern.load(json.dumps(rule["EventPattern"])).matches_event(event):
        print("null")
        return
    t = rule["Targets"][0]["InputTransformer"]
    delivered = EventTemplateParser.parse(t["InputTemplate"], t["InputPathsMap"], event)
    print(json.dumps(json.loads(delivered) if isinstance(delivered, str) else delivered))


if __name__ == "__main__":
    sys.exit(main())
