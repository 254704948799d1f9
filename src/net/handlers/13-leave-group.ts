// LeaveGroup (key 13), versions 0-5.
// v1: throttle time. v2: same. v3: a batch of members, each by member id
// and/or group.instance.id, with an error per member (KIP-345). v4: flexible.
// v5: a reason per member (KIP-800).
//
// v0-2 name one member; its error is the top-level error, as Kafka's
// LeaveGroupResponse folds it for those versions.
import { ErrorCode } from '../../protocol/error-codes.js';
import { ApiKey, type LeaveGroupRequest, type LeaveGroupResponse } from '../../protocol/generated/index.js';
import type { BrokerServices } from '../../broker/broker.js';
import type { ApiHandler } from '../dispatcher.js';

export function leaveGroupHandler(broker: BrokerServices): ApiHandler<LeaveGroupRequest, LeaveGroupResponse> {
  return {
    apiKey: ApiKey.LeaveGroup,
    minVersion: 0,
    maxVersion: 5,
    async handle(request, context) {
      const v = context.apiVersion;
      const members = v >= 3 ? (request.members ?? []).map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId })) : [{ memberId: request.memberId ?? '', groupInstanceId: null }];
      const result = await broker.groupCoordinator.leave(request.groupId, members);
      if (v < 3) {
        const errorCode = result.errorCode !== ErrorCode.NONE ? result.errorCode : (result.memberErrors[0] ?? ErrorCode.NONE);
        return { throttleTimeMs: 0, errorCode };
      }
      return {
        throttleTimeMs: 0,
        errorCode: result.errorCode,
        members: result.errorCode !== ErrorCode.NONE ? [] : members.map((m, i) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, errorCode: result.memberErrors[i] })),
      };
    },
  };
}
