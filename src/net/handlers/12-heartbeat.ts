// Heartbeat (key 12), versions 0-4.
// v1: throttle time. v2: same. v3: group.instance.id (KIP-345). v4: flexible.
import { ApiKey, type HeartbeatRequest, type HeartbeatResponse } from '../../protocol/generated/index.js';
import type { BrokerServices } from '../../broker/broker.js';
import type { ApiHandler } from '../dispatcher.js';

export function heartbeatHandler(broker: BrokerServices): ApiHandler<HeartbeatRequest, HeartbeatResponse> {
  return {
    apiKey: ApiKey.Heartbeat,
    minVersion: 0,
    maxVersion: 4,
    handle(request) {
      const errorCode = broker.groupCoordinator.heartbeat(request.groupId, request.memberId, request.groupInstanceId ?? null, request.generationId);
      return { throttleTimeMs: 0, errorCode };
    },
  };
}
