// JoinGroup (key 11), versions 0-9. Kafka 4.0.0 removed v0-1 (KIP-896) and
// 4.0.1 brought them back (KAFKA-19444): librdkafka before 2.11 requires v0 in
// the advertised range for some features. v0: the session timeout serves as
// rebalance timeout. v1: rebalance timeout. v2-3: same as v1. v4: a new member first gets
// MEMBER_ID_REQUIRED with its member id and joins again with it (KIP-394).
// v5: group.instance.id, static membership (KIP-345). v6: flexible. v7:
// protocol type in the answer, protocol name nullable. v8: join reason
// (KIP-800). v9: skipAssignment for a rejoining static leader (KIP-814).
//
// The answer is deferred until the group's join phase completes (see
// src/coordinator/classic-group.ts).
import { ApiKey, type JoinGroupRequest, type JoinGroupResponse } from '../../protocol/generated/index.js';
import type { BrokerServices } from '../../broker/broker.js';
import type { ApiHandler } from '../dispatcher.js';

export function joinGroupHandler(broker: BrokerServices): ApiHandler<JoinGroupRequest, JoinGroupResponse> {
  return {
    apiKey: ApiKey.JoinGroup,
    minVersion: 0,
    maxVersion: 9,
    async handle(request, context) {
      const v = context.apiVersion;
      const result = await broker.groupCoordinator.joinGroup({
        groupId: request.groupId,
        memberId: request.memberId,
        groupInstanceId: request.groupInstanceId ?? null,
        clientId: context.header.clientId ?? '',
        clientHost: `/${context.connection.remoteAddress}`,
        sessionTimeoutMs: request.sessionTimeoutMs,
        // The schema's note: without a rebalance timeout the session timeout serves.
        rebalanceTimeoutMs: request.rebalanceTimeoutMs === undefined || request.rebalanceTimeoutMs < 0 ? request.sessionTimeoutMs : request.rebalanceTimeoutMs,
        protocolType: request.protocolType,
        protocols: request.protocols.map((p) => ({ name: p.name, metadata: p.metadata })),
        requireKnownMemberId: v >= 4,
        supportsSkippingAssignment: v >= 9,
        reason: request.reason ?? null,
      });
      return {
        throttleTimeMs: 0,
        errorCode: result.errorCode,
        generationId: result.generationId,
        protocolType: result.protocolType,
        // Before v7 the protocol name is not nullable.
        protocolName: result.protocolName ?? (v >= 7 ? null : ''),
        leader: result.leaderId,
        skipAssignment: result.skipAssignment,
        memberId: result.memberId,
        members: result.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadata })),
      };
    },
  };
}
