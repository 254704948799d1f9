// SyncGroup (key 14), versions 0-5.
// v1: throttle time. v2: same. v3: group.instance.id (KIP-345). v4:
// flexible. v5: protocol type and name in request and answer, checked
// against the group's (INCONSISTENT_GROUP_PROTOCOL) (KIP-559).
//
// The leader's request carries every member's assignment; each member's
// answer waits until the group record with those assignments is stored.
import { ApiKey, type SyncGroupRequest, type SyncGroupResponse } from '../../protocol/generated/index.js';
import type { BrokerServices } from '../../broker/broker.js';
import type { ApiHandler } from '../dispatcher.js';

export function syncGroupHandler(broker: BrokerServices): ApiHandler<SyncGroupRequest, SyncGroupResponse> {
  return {
    apiKey: ApiKey.SyncGroup,
    minVersion: 0,
    maxVersion: 5,
    async handle(request) {
      const result = await broker.groupCoordinator.syncGroup({
        groupId: request.groupId,
        generationId: request.generationId,
        memberId: request.memberId,
        groupInstanceId: request.groupInstanceId ?? null,
        protocolType: request.protocolType ?? null,
        protocolName: request.protocolName ?? null,
        assignments: request.assignments.map((a) => ({ memberId: a.memberId, assignment: a.assignment })),
      });
      return { throttleTimeMs: 0, errorCode: result.errorCode, protocolType: result.protocolType, protocolName: result.protocolName, assignment: result.assignment };
    },
  };
}
