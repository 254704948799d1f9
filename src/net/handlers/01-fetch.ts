// Fetch (key 1), versions 4-16 (Kafka 4.0's minimum is 4), for consumers.
// v4: isolation level, last stable offset, aborted transactions. v5: log start
// offset. v7: fetch sessions (KIP-227). v9: current leader epoch. v11: rack id,
// preferred read replica. v12: flexible, diverging epoch. v13: topic ids
// instead of names. v15: replica state. v16: node endpoints (tagged).
//
// Sessions (v7+, src/broker/fetch-sessions.ts), as Kafka's FetchManager decides:
//   epoch -1        full request, no session (closes the named one, if any);
//   epoch 0         full request, closes the named session and opens a new one
//                   when a slot is free (else session id 0: sessionless);
//   epoch > 0       incremental: FETCH_SESSION_ID_NOT_FOUND for an unknown id,
//                   INVALID_FETCH_SESSION_EPOCH for the wrong epoch,
//                   FETCH_SESSION_TOPIC_ID_ERROR when the request uses topic ids
//                   (v13+) and the session does not, or the reverse. The named
//                   partitions are added or updated, forgotten ones dropped;
//                   the answer lists only partitions with records, a changed
//                   high watermark / last stable offset / log start offset, or
//                   an error. Partitions that returned records go last next time.
// Record slices of 4 KiB or more go out as file ranges through the zero-copy
// sender; smaller ones are read into the response.
import { ErrorCode } from '../../protocol/error-codes.js';
import fs from 'node:fs';
import { canonicalUuidToKafka, type TopicMetadata } from '../../cluster/local-metadata.js';
import { ZERO_UUID } from '../../protocol/codec.js';
import { ApiKey, type FetchRequest, type FetchResponse } from '../../protocol/generated/index.js';
import { OffsetOutOfRangeError, StorageError, StorageErrorCode } from '../../storage/errors.js';
import type { Log } from '../../storage/log.js';
import type { BrokerServices } from '../../broker/broker.js';
import { FINAL_EPOCH, INITIAL_EPOCH, INVALID_SESSION_ID, nextEpoch, type CachedPartition, type FetchSession, type FetchSessionCache } from '../../broker/fetch-sessions.js';
import { REF_BYTES_MIN, ZeroCopyResponse, fileRangePlaceholder, type ApiHandler } from '../dispatcher.js';
import type { FileRange } from '../sender.js';

/** fetch.max.bytes broker default: the most one response carries. */
const FETCH_RESPONSE_BYTES_MAX = 55 * 1024 * 1024;
const READ_COMMITTED = 1;
const FIRST_SESSION_VERSION = 7;
const FIRST_TOPIC_ID_VERSION = 13;

/** A partition as a request names it (or a session remembers it). */
export interface SessionPartition {
  /** Canonical uuid in v13+ sessions, ZERO_UUID before. */
  topicId: string;
  /** null while a topic id names no known topic. */
  topicName: string | null;
  request: FetchRequest.FetchPartition;
}

/** The fetch session cache as the handler uses it. */
export type FetchSessions = FetchSessionCache<SessionPartition>;

interface Target {
  key: string;
  partition: SessionPartition;
  log: Log | null;
  errorCode: number;
}

interface Read {
  errorCode: number;
  slice: FileRange | null;
  highWatermark: number;
  logStartOffset: number;
}

type Context =
  | { kind: 'sessionless' }
  | { kind: 'full' }
  | { kind: 'incremental'; session: FetchSession<SessionPartition>; requestEpoch: number };

export function fetchHandler(broker: BrokerServices): ApiHandler<FetchRequest, FetchResponse> {
  return {
    apiKey: ApiKey.Fetch,
    minVersion: 4,
    maxVersion: 16,
    async handle(request, context) {
      const v = context.apiVersion;
      const usesTopicIds = v >= FIRST_TOPIC_ID_VERSION;
      const resolve = topicResolver(broker, usesTopicIds);
      const named = namedPartitions(request, usesTopicIds, resolve);
      const opened = openContext(broker.fetchSessions, request, v, named);
      if (typeof opened === 'number') return sessionError(opened, INVALID_SESSION_ID);
      const ctx = opened;
      const partitions = ctx.kind === 'incremental' ? sessionPartitions(ctx.session, resolve) : named;
      const targets = [...partitions].map(([key, partition]) => target(broker, key, partition, resolve, usesTopicIds));
      const maxBytes = Math.min(request.maxBytes ?? FETCH_RESPONSE_BYTES_MAX, FETCH_RESPONSE_BYTES_MAX);
      const reads = await readWithLongPoll(broker, request, targets, maxBytes, usesTopicIds);

      let sessionId = INVALID_SESSION_ID;
      let answered = targets.map((t, i) => ({ t, read: reads[i] }));
      if (ctx.kind === 'full') {
        const size = targets.length;
        const session = broker.fetchSessions.create(usesTopicIds, answered.map(({ t, read }) => [t.key, cachedFrom(t, read)] as [string, CachedPartition<SessionPartition>]), size);
        sessionId = session?.id ?? INVALID_SESSION_ID;
      } else if (ctx.kind === 'incremental') {
        const { session, requestEpoch } = ctx;
        // Another request of this session was accepted while this one waited.
        if (session.epoch !== nextEpoch(requestEpoch)) return sessionError(ErrorCode.INVALID_FETCH_SESSION_EPOCH, session.id);
        answered = answered.filter(({ t, read }) => mustRespond(session, t.key, read));
        sessionId = session.id;
      }

      const responses: FetchResponse.FetchableTopicResponse[] = [];
      const fileRanges = new Map<Buffer, FileRange>();
      let topic: FetchResponse.FetchableTopicResponse | null = null;
      let topicKey = '';
      for (const { t, read } of answered) {
        // Consecutive partitions of one topic share a topic entry, as in Kafka's FetchResponse.of.
        const key = usesTopicIds ? t.partition.topicId : (t.partition.topicName ?? '');
        if (topic === null || key !== topicKey) {
          topic = { topic: t.partition.topicName ?? '', topicId: t.partition.topicId, partitions: [] };
          topicKey = key;
          responses.push(topic);
        }
        topic.partitions.push({
          partitionIndex: t.partition.request.partition,
          errorCode: read.errorCode,
          highWatermark: BigInt(read.highWatermark),
          lastStableOffset: BigInt(read.highWatermark),
          logStartOffset: BigInt(read.logStartOffset),
          abortedTransactions: request.isolationLevel === READ_COMMITTED ? [] : null,
          preferredReadReplica: -1,
          records: t.log !== null && read.slice ? recordsPart(read.slice, fileRanges) : Buffer.alloc(0),
        });
      }
      const body: FetchResponse = { throttleTimeMs: 0, errorCode: 0, sessionId, responses };
      return fileRanges.size > 0 ? new ZeroCopyResponse(body, fileRanges) : body;
    },
  };
}

function sessionError(errorCode: number, sessionId: number): FetchResponse {
  return { throttleTimeMs: 0, errorCode, sessionId, responses: [] };
}

/** Topic lookups for one request (a session re-resolves its topic ids on every fetch). */
function topicResolver(broker: BrokerServices, usesTopicIds: boolean): (topicOrId: string) => TopicMetadata | undefined {
  const seen = new Map<string, TopicMetadata | undefined>();
  return (topicOrId) => {
    if (seen.has(topicOrId)) return seen.get(topicOrId);
    const meta = usesTopicIds ? broker.metadata.topicById(canonicalUuidToKafka(topicOrId)) : broker.metadata.topic(topicOrId);
    seen.set(topicOrId, meta);
    return meta;
  };
}

function partitionKey(topicIdOrName: string, partition: number): string {
  return `${topicIdOrName}:${partition}`;
}

/** The request's partitions in request order; a partition named twice keeps its first place and last parameters. */
function namedPartitions(request: FetchRequest, usesTopicIds: boolean, resolve: (t: string) => TopicMetadata | undefined): Map<string, SessionPartition> {
  const named = new Map<string, SessionPartition>();
  for (const topic of request.topics) {
    const topicId = usesTopicIds ? (topic.topicId ?? ZERO_UUID) : ZERO_UUID;
    const topicName = usesTopicIds ? (resolve(topicId)?.name ?? null) : (topic.topic ?? '');
    for (const p of topic.partitions) {
      named.set(partitionKey(usesTopicIds ? topicId : (topicName ?? ''), p.partition), { topicId, topicName, request: sessionParams(p) });
    }
  }
  return named;
}

/**
 * The fields a session keeps, copied: the decoded request may hold views of its
 * frame (unknown tagged fields), which a cached session must not keep alive.
 */
function sessionParams(p: FetchRequest.FetchPartition): FetchRequest.FetchPartition {
  return {
    partition: p.partition,
    currentLeaderEpoch: p.currentLeaderEpoch,
    fetchOffset: p.fetchOffset,
    lastFetchedEpoch: p.lastFetchedEpoch,
    logStartOffset: p.logStartOffset,
    partitionMaxBytes: p.partitionMaxBytes,
  };
}

function forgottenKeys(request: FetchRequest, usesTopicIds: boolean): string[] {
  const keys: string[] = [];
  for (const topic of request.forgottenTopicsData ?? []) {
    const topicKey = usesTopicIds ? (topic.topicId ?? ZERO_UUID) : (topic.topic ?? '');
    for (const p of topic.partitions) keys.push(partitionKey(topicKey, p));
  }
  return keys;
}

/** Kafka's FetchManager.newContext: the session this request works in, or a session error code. */
function openContext(sessions: FetchSessions, request: FetchRequest, version: number, named: Map<string, SessionPartition>): Context | number {
  if (version < FIRST_SESSION_VERSION) return { kind: 'sessionless' };
  const sessionId = request.sessionId ?? INVALID_SESSION_ID;
  const epoch = request.sessionEpoch ?? FINAL_EPOCH;
  if (epoch === INITIAL_EPOCH || epoch === FINAL_EPOCH) {
    // A full request closes the session it names.
    if (sessionId !== INVALID_SESSION_ID) sessions.remove(sessionId);
    return epoch === FINAL_EPOCH ? { kind: 'sessionless' } : { kind: 'full' };
  }
  const session = sessions.get(sessionId);
  if (!session) return ErrorCode.FETCH_SESSION_ID_NOT_FOUND;
  if (session.epoch !== epoch) return ErrorCode.INVALID_FETCH_SESSION_EPOCH;
  if (session.usesTopicIds !== version >= FIRST_TOPIC_ID_VERSION) return ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR;
  let growth = 0;
  for (const key of named.keys()) if (!session.partitions.has(key)) growth++;
  if (!sessions.hasRoomFor(growth)) {
    // The cache's partition bound: the client starts over with a full fetch,
    // which is answered without a session if it is still too large.
    sessions.remove(session);
    return ErrorCode.FETCH_SESSION_ID_NOT_FOUND;
  }
  session.update(named, forgottenKeys(request, version >= FIRST_TOPIC_ID_VERSION));
  if (session.size === 0) {
    sessions.remove(session);
    return { kind: 'sessionless' };
  }
  sessions.touch(session);
  session.epoch = nextEpoch(session.epoch);
  return { kind: 'incremental', session, requestEpoch: epoch };
}

/** A session's partitions in fetch order, with topic ids that have become known resolved. */
function sessionPartitions(session: FetchSession<SessionPartition>, resolve: (t: string) => TopicMetadata | undefined): Map<string, SessionPartition> {
  const out = new Map<string, SessionPartition>();
  for (const [key, cached] of session.partitions) {
    if (cached.params.topicName === null) {
      const name = resolve(cached.params.topicId)?.name;
      if (name !== undefined) cached.params = { ...cached.params, topicName: name };
    }
    out.set(key, cached.params);
  }
  return out;
}

function target(broker: BrokerServices, key: string, partition: SessionPartition, resolve: (t: string) => TopicMetadata | undefined, usesTopicIds: boolean): Target {
  const meta = partition.topicName === null ? undefined : usesTopicIds ? resolve(partition.topicId) : resolve(partition.topicName);
  const p = partition.request.partition;
  // In a cluster only the leader serves fetches (followers will fetch with a replica id: the next step).
  const notLeader = meta && p >= 0 && p < meta.partitionCount ? broker.replicas.leaderError(meta, p) : ErrorCode.NONE;
  if (notLeader !== ErrorCode.NONE) return { key, partition, log: null, errorCode: notLeader };
  const log = meta && p >= 0 && p < meta.partitionCount ? (broker.logs.getLog(meta.name, p) ?? null) : null;
  const errorCode = log ? 0 : meta === undefined && usesTopicIds ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  return { key, partition, log, errorCode };
}

/** One pass reads every partition; it is repeated only after a long-poll wait. */
async function readWithLongPoll(broker: BrokerServices, request: FetchRequest, targets: Target[], maxBytes: number, usesTopicIds: boolean): Promise<Read[]> {
  const collect = () => {
    let bytes = 0;
    let errored = false;
    const reads = targets.map((t): Read => {
      const read: Read = { errorCode: t.errorCode, slice: null, highWatermark: -1, logStartOffset: -1 };
      if (!t.log) return read;
      if (broker.logs.getLog(t.log.topic, t.log.partition) !== t.log) {
        // Deleted while this fetch waited: answered as a partition the broker does not host.
        read.errorCode = usesTopicIds ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        errored = true;
        return read;
      }
      read.highWatermark = t.log.highWatermark;
      read.logStartOffset = t.log.logStartOffset;
      const room = maxBytes - bytes;
      if (room <= 0) return read;
      try {
        const r = t.log.read(Number(t.partition.request.fetchOffset), Math.min(t.partition.request.partitionMaxBytes, room), {
          maxOffset: t.log.highWatermark,
          // Kafka returns at least one batch, but only for the first partition with data.
          minOneMessage: bytes === 0,
        });
        read.slice = r.records;
        bytes += r.records?.length ?? 0;
      } catch (err) {
        if (err instanceof OffsetOutOfRangeError) read.errorCode = ErrorCode.OFFSET_OUT_OF_RANGE;
        else if (err instanceof StorageError) read.errorCode = err.kafkaCode;
        else throw err;
        errored = true;
      }
      return read;
    });
    return { reads, bytes, errored };
  };
  let collected = collect();
  const logs = targets.flatMap((t) => (t.log ? [t.log] : []));
  if (!collected.errored && collected.bytes < request.minBytes && request.maxWaitMs > 0 && logs.length > 0) {
    const readable = () => {
      collected = collect();
      // An error is an answer too: stop waiting.
      return collected.errored ? Number.MAX_SAFE_INTEGER : collected.bytes;
    };
    const outcome = await broker.fetchWaiters.wait(logs, request.minBytes, request.maxWaitMs, readable);
    // A timeout or shutdown answers with what is there now.
    if (outcome !== 'satisfied') collected = collect();
  }
  return collected.reads;
}

/** What a new session remembers of a partition from the full answer. */
function cachedFrom(t: Target, read: Read): CachedPartition<SessionPartition> {
  const failed = read.errorCode !== ErrorCode.NONE;
  return {
    params: t.partition,
    highWatermark: failed ? -1n : BigInt(read.highWatermark),
    lastStableOffset: BigInt(read.highWatermark),
    logStartOffset: BigInt(read.logStartOffset),
  };
}

/**
 * Kafka's CachedPartition.maybeUpdateResponseData: whether an incremental answer
 * includes this partition, remembering what it now tells the client.
 */
function mustRespond(session: FetchSession<SessionPartition>, key: string, read: Read): boolean {
  const cached = session.partitions.get(key);
  // Forgotten by a later request of this session while this one waited.
  if (!cached) return false;
  const highWatermark = BigInt(read.highWatermark);
  const logStartOffset = BigInt(read.logStartOffset);
  const hasRecords = (read.slice?.length ?? 0) > 0;
  let respond = hasRecords;
  if (cached.highWatermark !== highWatermark) {
    cached.highWatermark = highWatermark;
    respond = true;
  }
  // The last stable offset is the high watermark until transactions exist.
  if (cached.lastStableOffset !== highWatermark) {
    cached.lastStableOffset = highWatermark;
    respond = true;
  }
  if (cached.logStartOffset !== logStartOffset) {
    cached.logStartOffset = logStartOffset;
    respond = true;
  }
  if (read.errorCode !== ErrorCode.NONE) {
    // Sent again once the error clears, whatever the offsets then are.
    cached.highWatermark = -1n;
    respond = true;
  }
  if (hasRecords) session.moveToEnd(key);
  return respond;
}

/** Small slices are read into the response; large ones become file-range placeholders. */
function recordsPart(slice: FileRange, fileRanges: Map<Buffer, FileRange>): Buffer {
  if (slice.length < REF_BYTES_MIN) {
    const bytes = Buffer.allocUnsafe(slice.length);
    let done = 0;
    while (done < bytes.length) {
      const n = fs.readSync(slice.fd, bytes, done, bytes.length - done, slice.position + done);
      if (n === 0) throw new StorageError(StorageErrorCode.KAFKA_STORAGE_ERROR, `segment ended ${bytes.length - done} bytes early`);
      done += n;
    }
    return bytes;
  }
  const placeholder = fileRangePlaceholder(slice.length);
  fileRanges.set(placeholder, { fd: slice.fd, position: slice.position, length: slice.length });
  return placeholder;
}
