// ConsumerGroupDescribe (key 69), version 0: KIP-848 consumer groups with
// their epochs, assignor, and each member's current and target assignment.
// v0 is the version in our schemas; Kafka 4.0's v1 adds the member type.
// Group ids that are empty answer INVALID_GROUP_ID; unknown ones, and groups
// of the classic type, GROUP_ID_NOT_FOUND, as Kafka answers them.
import { ApiKey, type ConsumerGroupDescribeRequest, type ConsumerGroupDescribeResponse } from '../../protocol/generated/index.js';
import { OPERATIONS_OMITTED } from '../../protocol/authorized-operations.js';
import type { ConsumerGroupCoordinator } from '../../coordinator/consumer-group-coordinator.js';
import type { ApiHandler } from '../dispatcher.js';

// Without an authorizer Kafka reports every operation a group supports:
// READ (3), DELETE (6), DESCRIBE (8), DESCRIBE_CONFIGS (10), ALTER_CONFIGS (11).
const GROUP_AUTHORIZED_OPERATIONS = [3, 6, 8, 10, 11].reduce((bits, code) => bits | (1 << code), 0);

export function consumerGroupDescribeHandler(coordinator: ConsumerGroupCoordinator): ApiHandler<ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse> {
  return {
    apiKey: ApiKey.ConsumerGroupDescribe,
    minVersion: 0,
    maxVersion: 0,
    handle(request) {
      const groups = request.groupIds.map((groupId): ConsumerGroupDescribeResponse.DescribedGroup => {
        const d = coordinator.describe(groupId);
        if (!('members' in d)) {
          return { errorCode: d.errorCode, errorMessage: d.errorMessage, groupId, groupState: '', groupEpoch: 0, assignmentEpoch: 0, assignorName: '', members: [], authorizedOperations: OPERATIONS_OMITTED };
        }
        return {
          errorCode: 0,
          errorMessage: null,
          groupId,
          groupState: d.groupState,
          groupEpoch: d.groupEpoch,
          assignmentEpoch: d.assignmentEpoch,
          assignorName: d.assignorName,
          members: d.members.map((m) => ({ ...m, assignment: { topicPartitions: m.assignment }, targetAssignment: { topicPartitions: m.targetAssignment } })),
          authorizedOperations: request.includeAuthorizedOperations ? GROUP_AUTHORIZED_OPERATIONS : OPERATIONS_OMITTED,
        };
      });
      return { throttleTimeMs: 0, groups };
    },
  };
}
