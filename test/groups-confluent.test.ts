// Consumer groups with confluent-kafka for Python (Debian's
// python3-confluent-kafka, librdkafka underneath), driven by
// test/support/confluent-groups.py; skipped when /usr/bin/python3 cannot
// import confluent_kafka (.ci/run installs it).
//  - cooperative-sticky: a second member joins and only the partitions that
//    move are revoked from the first (incremental rebalance); members commit
//    synchronously, every record is consumed once, commits end at the log end.
//  - static membership (group.instance.id): a member closed and restarted
//    within the session timeout gets its partitions back without a rebalance
//    (the other member sees none); a second process with an instance id in
//    use takes over its assignment and the older one is fenced
//    (FENCED_INSTANCE_ID, fatal in librdkafka); a static member that closes
//    for good leaves the group only when its session times out.
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hasPythonModule, PYTHON, runPython } from './support/confluent.js';
import { GroupLedger, startGroupBroker, type Cleanups } from './support/groups.js';

const SCRIPT = path.join(import.meta.dirname, 'support', 'confluent-groups.py');
const PARTITIONS = 6;

const cleanups: Cleanups = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

type Event = ['assign' | 'revoke' | 'lost', number[]];
interface MemberView {
  events: Event[];
  errors: Array<{ name: string; fatal: boolean; str: string }>;
  commit_errors: string[];
}
interface Report {
  members: Record<string, MemberView>;
  records: Array<[string, number, number, string, string, Record<string, string>]>;
  [key: string]: unknown;
}

async function runScenario(scenario: string): Promise<Report> {
  const broker = await startGroupBroker(cleanups);
  const topic = `confluent-${scenario}`;
  const created = await broker.metadata.createTopic(topic, PARTITIONS, 1, {});
  if (!created.ok) throw new Error(created.message);
  broker.materializeTopic(created.value);
  const { stdout } = await runPython(PYTHON, [SCRIPT, broker.bootstrap, scenario, topic, `${scenario}-group`], { timeout: 90_000, maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout) as Report;
}

function ledgerOf(report: Report): GroupLedger {
  const ledger = new GroupLedger();
  for (const [member, partition, offset, key, value, headers] of report.records) ledger.add(member, partition, [{ offset, key, value, headers }]);
  return ledger;
}

/** Assign and revoke events that name partitions (cooperative rebalances also report empty ones). */
const moves = (events: Event[]) => events.filter(([, ps]) => ps.length > 0);

describe.skipIf(!hasPythonModule('confluent_kafka'))('consumer groups with confluent-kafka (librdkafka)', () => {
  it('cooperative-sticky: a joining member takes only the partitions that move; every record once, commits at the log end', { timeout: 120_000 }, async () => {
    const report = await runScenario('cooperative');
    const { a, b } = report.members;
    expect(a.errors).toEqual([]);
    expect(b.errors).toEqual([]);
    const events = report.events_before_close as Record<string, Event[]>;
    // a keeps 3 of its 6 partitions through the rebalance: only the 3 that move are revoked, and nothing is lost.
    const aMoves = moves(events.a);
    expect(aMoves.map(([kind]) => kind)).toEqual(['assign', 'revoke']);
    expect(aMoves[0][1]).toEqual([0, 1, 2, 3, 4, 5]);
    const revoked = aMoves[1][1];
    expect(revoked).toHaveLength(3);
    expect(moves(events.b)).toEqual([['assign', revoked]]);

    const ledger = ledgerOf(report);
    expect(ledger.problems(PARTITIONS, 6000)).toEqual([]);
    expect(ledger.countOf('b')).toBeGreaterThan(0);
    expect(report.committed_after_a).toEqual([500, 500, 500, 500, 500, 500]);
    expect(report.committed).toEqual([1000, 1000, 1000, 1000, 1000, 1000]);
  });

  it('static membership: a restarted member gets its partitions back without a rebalance; a duplicate instance id is fenced; a gone member expires', { timeout: 120_000 }, async () => {
    const report = await runScenario('static');
    const { b, c } = report.members;
    expect(report.a_before).toHaveLength(3);
    expect([...(report.a_before as number[]), ...(report.b_before as number[])].sort()).toEqual([0, 1, 2, 3, 4, 5]);
    // The restarted member (same group.instance.id, new member id) has the same partitions ...
    expect(report.a2).toEqual(report.a_before);
    // ... and the other member went through no rebalance: no callbacks, no rebalance counted, partitions unchanged.
    expect(report.b_events_after_restart).toEqual([]);
    expect(report.b_rebalances_before).toBeTypeOf('number');
    expect(report.b_rebalances_after_restart).toBe(report.b_rebalances_before);
    expect(report.b_after_restart).toEqual(report.b_before);

    // c joined with b's instance id: it takes b's assignment, and b is fenced.
    expect(report.c).toEqual(report.b_before);
    // librdkafka raises FENCED_INSTANCE_ID as a fatal error (_FATAL, with the broker's reason).
    const fatal = b.errors.filter((e) => e.fatal || e.name === '_FATAL');
    expect(fatal.length).toBeGreaterThan(0);
    expect(fatal[0].str).toMatch(/Static consumer fenced by other consumer with same group.instance.id/);
    expect(c.errors.filter((e) => e.fatal || e.name === '_FATAL')).toEqual([]);
    expect(report.a2_final).toEqual(report.a_before);
    // A static member that closes for good is removed when its session (6 s) expires, not before.
    expect(report.c_expired_after_s).toBeGreaterThan(4);
  });
});
