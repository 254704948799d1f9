// DescribeGroups (key 15), versions 0-5.
// v1: throttle time. v2: same. v3: authorized operations on request (KIP-430).
// v4: group.instance.id of members. v5: flexible.
//
// Up to v5 an unknown group is described as Dead without an error, as Kafka
// does. A Stable group shows its protocol and each member's metadata and
// assignment; other states show members only.
import { GROUP_AUTHORIZED_OPERATIONS, OPERATIONS_OMITTED } from '../../protocol/authorized-operations.js';
import { ApiKey, type DescribeGroupsRequest, type DescribeGroupsResponse } from '../../protocol/generated/index.js';
import type { BrokerServices } from '../../broker/broker.js';
import type { ApiHandler } from '../dispatcher.js';

export function describeGroupsHandler(broker: BrokerServices): ApiHandler<DescribeGroupsRequest, DescribeGroupsResponse> {
  return {
    apiKey: ApiKey.DescribeGroups,
    minVersion: 0,
    maxVersion: 5,
    handle(request, context) {
      const withOperations = context.apiVersion >= 3 && request.includeAuthorizedOperations === true;
      return {
        throttleTimeMs: 0,
        groups: request.groups.map((groupId) => {
          const { errorCode, group } = broker.groupCoordinator.describeGroup(groupId);
          return {
            errorCode,
            groupId,
            groupState: group.groupState,
            protocolType: group.protocolType,
            protocolData: group.protocolData,
            members: group.members.map((m) => ({ ...m })),
            authorizedOperations: withOperations && group.groupState !== 'Dead' ? GROUP_AUTHORIZED_OPERATIONS : OPERATIONS_OMITTED,
          };
        }),
      };
    },
  };
}
