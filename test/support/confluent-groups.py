"""confluent-kafka (librdkafka) consumer groups against a Samsa broker.

Usage: confluent-groups.py BOOTSTRAP SCENARIO TOPIC GROUP
The topic has 6 partitions; record seq goes to partition seq % 6 with key
key-SEQ, value value-SEQ-... and headers seq, kind (test/support/groups.ts's
groupMessage). Members commit synchronously and count records as consumed
only once their commit succeeded. Prints one JSON document on stdout:
  {"members": {name: {"events": [[kind, partitions], ...], "errors": [...], "commit_errors": [...], ...}},
   "records": [[member, partition, offset, key, value, headers], ...], ...}

Scenarios:
  cooperative  a (cooperative-sticky) consumes half the records alone; b joins;
               the other half is consumed by both; reports committed offsets.
  static       a and b with group.instance.id; a is closed (a static member
               sends no LeaveGroup) and restarted as a2 within the session
               timeout; then c joins with b's instance id, which fences b;
               then c closes for good and its session expires.
"""
import json
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

bootstrap, scenario, topic, group = sys.argv[1:5]
PARTITIONS = 6
HALF = 3000
records = []
report = {"members": {}, "records": records}


def message(seq):
    return f"key-{seq}", f"value-{seq}-{'abcdefghij' * (seq % 17)}", [("seq", str(seq).encode()), ("kind", (b"even" if seq % 2 == 0 else b"odd"))]


def produce(start, end):
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "acks": "all", "enable.idempotence": False})
    for seq in range(start, end):
        key, value, headers = message(seq)
        producer.produce(topic, key=key, value=value, partition=seq % PARTITIONS, headers=headers)
        producer.poll(0)
    if producer.flush(30) != 0:
        raise RuntimeError("records left unflushed")


class Member:
    def __init__(self, name, extra):
        self.name = name
        self.assigned = set()
        self.pending = {}
        self.consumed = 0
        self.rebalance_cnt = None
        self.view = {"events": [], "errors": [], "commit_errors": []}
        report["members"][name] = self.view
        conf = {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "client.id": name,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 300,
            "statistics.interval.ms": 100,
            "stats_cb": self.on_stats,
            "error_cb": self.on_error,
        }
        conf.update(extra)
        self.consumer = Consumer(conf)
        self.consumer.subscribe([topic], on_assign=self.on_assign, on_revoke=self.on_revoke, on_lost=self.on_lost)

    def on_stats(self, stats_json):
        cgrp = json.loads(stats_json).get("cgrp")
        if cgrp is not None:
            self.rebalance_cnt = cgrp.get("rebalance_cnt")

    def on_error(self, err):
        self.view["errors"].append({"name": err.name(), "fatal": err.fatal(), "str": err.str()})

    def on_assign(self, consumer, partitions):
        ps = sorted(p.partition for p in partitions)
        self.assigned |= set(ps)
        self.view["events"].append(["assign", ps])

    def on_revoke(self, consumer, partitions):
        ps = sorted(p.partition for p in partitions)
        # What was consumed from partitions about to move is committed now, while this member still owns them.
        self.commit_pending(ps)
        for p in ps:
            self.pending.pop(p, None)
        self.assigned -= set(ps)
        self.view["events"].append(["revoke", ps])

    def on_lost(self, consumer, partitions):
        ps = sorted(p.partition for p in partitions)
        for p in ps:
            self.pending.pop(p, None)
        self.assigned -= set(ps)
        self.view["events"].append(["lost", ps])

    def poll(self, timeout=0.05):
        try:
            msgs = self.consumer.consume(num_messages=500, timeout=timeout)
        except KafkaException as e:
            self.view["errors"].append({"name": e.args[0].name(), "fatal": e.args[0].fatal(), "str": str(e)})
            return
        for m in msgs:
            if m.error():
                self.view["errors"].append({"name": m.error().name(), "fatal": m.error().fatal(), "str": m.error().str()})
                continue
            headers = {k: v.decode() for k, v in (m.headers() or [])}
            self.pending.setdefault(m.partition(), []).append([m.offset(), m.key().decode(), m.value().decode(), headers])
        self.commit_pending(list(self.pending))

    def commit_pending(self, partitions):
        ps = [p for p in partitions if self.pending.get(p)]
        if not ps:
            return
        offsets = [TopicPartition(topic, p, self.pending[p][-1][0] + 1) for p in ps]
        try:
            result = self.consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as e:
            # Kept pending: retried after the next poll, or dropped if the partition moves.
            self.view["commit_errors"].append(str(e))
            return
        for tp in result:
            if tp.error is not None:
                self.view["commit_errors"].append(str(tp.error))
                continue
            for r in self.pending.pop(tp.partition, []):
                records.append([self.name, tp.partition, *r])
                self.consumed += 1

    def close(self):
        try:
            self.consumer.close()
        except KafkaException as e:
            self.view["close_error"] = str(e)


def poll_until(members, done, timeout_s, what):
    deadline = time.time() + timeout_s
    while not done():
        if time.time() > deadline:
            raise RuntimeError(f"timed out waiting for {what}: {json.dumps(report['members'])[:2000]}")
        for m in members:
            m.poll()


def committed_offsets(member):
    tps = member.consumer.committed([TopicPartition(topic, p) for p in range(PARTITIONS)], timeout=10)
    return [tp.offset for tp in sorted(tps, key=lambda tp: tp.partition)]


def cooperative():
    sticky = {"partition.assignment.strategy": "cooperative-sticky"}
    produce(0, HALF)
    a = Member("a", sticky)
    poll_until([a], lambda: len(records) >= HALF, 30, "a consuming the first half")
    report["committed_after_a"] = committed_offsets(a)
    b = Member("b", sticky)
    poll_until([a, b], lambda: len(a.assigned) == 3 and len(b.assigned) == 3, 30, "a and b with 3 partitions each")
    produce(HALF, 2 * HALF)
    poll_until([a, b], lambda: len(records) >= 2 * HALF, 30, "the second half")
    # A last round of polls: a duplicate delivery would show up here.
    for _ in range(10):
        a.poll()
        b.poll()
    report["committed"] = committed_offsets(b)
    # Closing revokes what each member holds: the events up to here are the rebalances.
    report["events_before_close"] = {m.name: list(m.view["events"]) for m in (a, b)}
    a.close()
    b.close()


def static():
    produce(0, 600)
    a = Member("a", {"group.instance.id": "static-a"})
    b = Member("b", {"group.instance.id": "static-b"})
    poll_until([a, b], lambda: len(a.assigned) == 3 and len(b.assigned) == 3 and len(records) >= 600, 30, "a and b with 3 partitions each")
    # Let statistics catch up with the last rebalance.
    for _ in range(10):
        a.poll()
        b.poll()
    report["a_before"] = sorted(a.assigned)
    report["b_before"] = sorted(b.assigned)
    report["b_events_before"] = len(b.view["events"])
    report["b_rebalances_before"] = b.rebalance_cnt
    a.close()
    a2 = Member("a2", {"group.instance.id": "static-a"})
    poll_until([a2, b], lambda: len(a2.assigned) > 0, 5, "a2 assigned within the session timeout")
    # Long enough for a rebalance, had the coordinator started one, to reach b (several heartbeat intervals).
    deadline = time.time() + 2
    while time.time() < deadline:
        a2.poll()
        b.poll()
    report["a2"] = sorted(a2.assigned)
    report["b_after_restart"] = sorted(b.assigned)
    report["b_events_after_restart"] = b.view["events"][report["b_events_before"]:]
    report["b_rebalances_after_restart"] = b.rebalance_cnt

    c = Member("c", {"group.instance.id": "static-b"})
    # librdkafka reports a fatal error to error_cb as _FATAL, naming the underlying error.
    poll_until([a2, b, c], lambda: any(e["fatal"] or e["name"] == "_FATAL" for e in b.view["errors"]), 15, "b fenced")
    deadline = time.time() + 1
    while time.time() < deadline:
        a2.poll()
        c.poll()
    report["c"] = sorted(c.assigned)
    report["a2_final"] = sorted(a2.assigned)

    # c closes without a LeaveGroup (static) and does not come back: once its session times out
    # the coordinator removes it and a2 gets every partition.
    c.close()
    closed_at = time.time()
    poll_until([a2], lambda: len(a2.assigned) == PARTITIONS, 30, "a2 on every partition after c's session expired")
    report["c_expired_after_s"] = time.time() - closed_at
    for m in (a2, b):
        m.close()


{"cooperative": cooperative, "static": static}[scenario]()
print(json.dumps(report))
