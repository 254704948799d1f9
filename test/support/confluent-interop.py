"""confluent-kafka (librdkafka) against a Samsa broker, without a consumer group.

Usage: confluent-interop.py BOOTSTRAP TOPIC PARTITIONS PER_CODEC
Produces PER_CODEC keyed records with headers to every partition once per
compression codec, then reads every partition back by assignment (the client
insists on a group.id, but nothing subscribes, joins or commits) and prints one JSON document on stdout:
  {"delivered": n, "errors": [...], "codecs": [...], "partitions": {"0": [[offset, key, value, headers], ...], ...}}
"""
import json
import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition

bootstrap, topic, partitions, per_codec = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
codecs = ["none", "gzip", "snappy", "lz4", "zstd"]
delivered = 0
errors = []


def on_delivery(err, msg):
    global delivered
    if err is not None:
        errors.append(str(err))
    else:
        delivered += 1


used_codecs = []
for codec in codecs:
    try:
        producer = Producer({"bootstrap.servers": bootstrap, "compression.type": codec, "linger.ms": 5, "enable.idempotence": False, "acks": "all"})
    except KafkaException as e:
        # A librdkafka built without this codec refuses the configuration.
        print(f"codec {codec} unavailable: {e}", file=sys.stderr)
        continue
    used_codecs.append(codec)
    for p in range(partitions):
        for i in range(per_codec):
            producer.produce(topic, key=f"{codec}-k{i}", value=f"{codec}/{p}/{i}", partition=p,
                             headers=[("codec", codec.encode()), ("index", str(i).encode())], on_delivery=on_delivery)
    if producer.flush(30) != 0:
        errors.append(f"{codec}: messages left unflushed")

consumer = Consumer({"bootstrap.servers": bootstrap, "enable.auto.commit": False, "group.id": "unused-no-subscribe",
                     "enable.partition.eof": True, "auto.offset.reset": "earliest"})
consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
want = len(used_codecs) * per_codec
seen = {str(p): [] for p in range(partitions)}
deadline = time.time() + 60
while time.time() < deadline and any(len(v) < want for v in seen.values()):
    msg = consumer.poll(1.0)
    if msg is None:
        continue
    if msg.error():
        if msg.error().code() != -191:  # _PARTITION_EOF
            errors.append(str(msg.error()))
        continue
    headers = {k: v.decode() for k, v in (msg.headers() or [])}
    seen[str(msg.partition())].append([msg.offset(), msg.key().decode(), msg.value().decode(), headers])
consumer.close()
print(json.dumps({"delivered": delivered, "errors": errors, "codecs": used_codecs, "partitions": seen}))
