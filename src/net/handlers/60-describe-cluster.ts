// DescribeCluster (key 60), versions 0-1 (flexible from v0).
// v1: endpoint type (1 = brokers, 2 = controllers) in request and answer;
// MISMATCHED_ENDPOINT_TYPE and UNSUPPORTED_ENDPOINT_TYPE become top-level
// codes (v0 answers INVALID_REQUEST for both).
//
// As Kafka's broker listener answers (AuthHelper.computeDescribeClusterResponse):
// the cluster id, this broker, and a broker id as controller id (a KRaft
// broker never names its controller, whose endpoint clients cannot use).
// Authorized operations, when asked for, are what Kafka reports without an
// authorizer: every operation the CLUSTER resource supports.
import { CLUSTER_AUTHORIZED_OPERATIONS, OPERATIONS_OMITTED } from '../../protocol/authorized-operations.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { ApiKey, type DescribeClusterRequest, type DescribeClusterResponse } from '../../protocol/generated/index.js';
import type { BrokerServices } from '../../broker/broker.js';
import type { ApiHandler } from '../dispatcher.js';

const ENDPOINT_TYPE_BROKER = 1;
const ENDPOINT_TYPE_CONTROLLER = 2;

export function describeClusterHandler(broker: BrokerServices): ApiHandler<DescribeClusterRequest, DescribeClusterResponse> {
  return {
    apiKey: ApiKey.DescribeCluster,
    minVersion: 0,
    maxVersion: 1,
    handle(request, context) {
      const v = context.apiVersion;
      const endpointType = request.endpointType ?? ENDPOINT_TYPE_BROKER;
      const refuse = (errorCode: number, errorMessage: string): DescribeClusterResponse => ({
        throttleTimeMs: 0,
        errorCode: v === 0 ? ErrorCode.INVALID_REQUEST : errorCode,
        errorMessage,
        endpointType: ENDPOINT_TYPE_BROKER,
        clusterId: '',
        controllerId: -1,
        brokers: [],
        clusterAuthorizedOperations: OPERATIONS_OMITTED,
      });
      if (endpointType !== ENDPOINT_TYPE_BROKER && endpointType !== ENDPOINT_TYPE_CONTROLLER) {
        return refuse(ErrorCode.UNSUPPORTED_ENDPOINT_TYPE, `Unsupported endpoint type ${endpointType}`);
      }
      if (endpointType === ENDPOINT_TYPE_CONTROLLER) {
        return refuse(ErrorCode.MISMATCHED_ENDPOINT_TYPE, 'The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER');
      }
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        endpointType: ENDPOINT_TYPE_BROKER,
        clusterId: broker.metadata.clusterId,
        // In a cluster: the elected controller (a broker, whose endpoint clients can use) and every live broker.
        controllerId: broker.metadata.controllerId(),
        brokers: broker.metadata.brokers().map((b) => ({ brokerId: b.nodeId, host: b.host, port: b.port, rack: b.rack })),
        clusterAuthorizedOperations: request.includeClusterAuthorizedOperations ? CLUSTER_AUTHORIZED_OPERATIONS : OPERATIONS_OMITTED,
      };
    },
  };
}
