// ListGroups (key 16), versions 0-5.
// v1: throttle time. v2: same. v3: flexible. v4: states filter and each
// group's state (KIP-518). v5: types filter and each group's type ('classic',
// 'consumer') (KIP-848). Filters match case-insensitively; empty matches all.
import { ApiKey, type ListGroupsRequest, type ListGroupsResponse } from '../../protocol/generated/index.js';
import type { BrokerServices } from '../../broker/broker.js';
import type { ApiHandler } from '../dispatcher.js';

export function listGroupsHandler(broker: BrokerServices): ApiHandler<ListGroupsRequest, ListGroupsResponse> {
  return {
    apiKey: ApiKey.ListGroups,
    minVersion: 0,
    maxVersion: 5,
    handle(request, context) {
      const v = context.apiVersion;
      const result = broker.groupCoordinator.listGroups(v >= 4 ? (request.statesFilter ?? []) : [], v >= 5 ? (request.typesFilter ?? []) : []);
      return {
        throttleTimeMs: 0,
        errorCode: result.errorCode,
        groups: result.groups.map((g) => ({ groupId: g.groupId, protocolType: g.protocolType, groupState: g.groupState, groupType: g.groupType })),
      };
    },
  };
}
