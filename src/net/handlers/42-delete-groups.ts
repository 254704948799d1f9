// DeleteGroups (key 42), versions 1-2 (Kafka 4.0 removed v0, KIP-896).
// v1: same as v0. v2: flexible.
//
// Only Empty groups are deleted (NON_EMPTY_GROUP otherwise); deletion writes
// tombstones for every committed offset and for the group record.
import { ApiKey, type DeleteGroupsRequest, type DeleteGroupsResponse } from '../../protocol/generated/index.js';
import type { BrokerServices } from '../../broker/broker.js';
import type { ApiHandler } from '../dispatcher.js';

export function deleteGroupsHandler(broker: BrokerServices): ApiHandler<DeleteGroupsRequest, DeleteGroupsResponse> {
  return {
    apiKey: ApiKey.DeleteGroups,
    minVersion: 1,
    maxVersion: 2,
    async handle(request) {
      const errors = await broker.groupCoordinator.deleteGroups(request.groupsNames);
      return { throttleTimeMs: 0, results: request.groupsNames.map((groupId, i) => ({ groupId, errorCode: errors[i] })) };
    },
  };
}
