"""confluent-kafka's AdminClient (librdkafka) describing and altering configs on a Samsa broker.

Usage: confluent-configs.py BOOTSTRAP TOPIC BROKER_ID
Prints one JSON document on stdout:
  {"before": {name: [value, source, read_only]}, "after": {...}, "invalid": "error text", "broker": {...}}
"""
import json
import sys

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource

bootstrap, topic, broker_id = sys.argv[1], sys.argv[2], sys.argv[3]
admin = AdminClient({"bootstrap.servers": bootstrap})


def describe(restype, name):
    futures = admin.describe_configs([ConfigResource(restype, name)], request_timeout=20)
    entries = list(futures.values())[0].result(timeout=30)
    return {n: [e.value, str(e.source), e.is_read_only] for n, e in entries.items()}


def alter(restype, name, configs):
    futures = admin.alter_configs([ConfigResource(restype, name, set_config=configs)], request_timeout=20)
    try:
        list(futures.values())[0].result(timeout=30)
        return None
    except KafkaException as e:
        return str(e)


report = {"before": describe("topic", topic)}
report["altered"] = alter("topic", topic, {"retention.ms": "123456", "cleanup.policy": "compact"})
report["after"] = describe("topic", topic)
report["invalid"] = alter("topic", topic, {"retention.ms": "soon"})
report["broker"] = describe("broker", broker_id)
print(json.dumps(report))
