"""Reads what the generated machines publish to the alert topic, for the emulator tests.

    python sns_inbox.py ENDPOINT subscribe TOPIC_ARN   -> prints the URL of a new queue
                                                          subscribed to the topic
    python sns_inbox.py ENDPOINT read QUEUE_URL        -> prints the alerts received so far
                                                          as JSON: [{subject, message,
                                                          attributes}], oldest first

An SQS queue is how an operator inside a closed network would receive alerts too (an SNS
subscription reached through VPC endpoints), so the tests read them the same way.
"""

import json
import sys
import uuid

import boto3


def client(endpoint, service):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def subscribe(endpoint, topic_arn):
    sqs = client(endpoint, "sqs")
    url = sqs.create_queue(QueueName=f"alerts-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    client(endpoint, "sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)
    print(url)


def read(endpoint, url):
    sqs = client(endpoint, "sqs")
    alerts = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        messages = got.get("Messages", [])
        if not messages:
            break
        for m in messages:
            envelope = json.loads(m["Body"])
            alerts.append(
                {
                    "subject": envelope.get("Subject"),
                    "message": envelope.get("Message"),
                    "attributes": {k: v.get("Value") for k, v in envelope.get("MessageAttributes", {}).items()},
                }
            )
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    print(json.dumps(alerts))


if __name__ == "__main__":
    endpoint, command, arg = sys.argv[1:4]
    {"subscribe": subscribe, "read": read}[command](endpoint, arg)
