// AlterConfigs (key 33), versions 0-2. v1: same as v0. v2: flexible.
// Replaces the whole config set of each resource (a topic's overrides, or the
// broker's dynamic configs at the cluster-default "" or per-broker level);
// validate_only checks without changing anything.
import { ApiKey, type AlterConfigsRequest, type AlterConfigsResponse } from '../../protocol/generated/index.js';
import type { BrokerServices } from '../../broker/broker.js';
import type { ApiHandler } from '../dispatcher.js';

export function alterConfigsHandler(broker: BrokerServices): ApiHandler<AlterConfigsRequest, AlterConfigsResponse> {
  return {
    apiKey: ApiKey.AlterConfigs,
    minVersion: 0,
    maxVersion: 2,
    handle(request) {
      const responses = request.resources.map((resource): AlterConfigsResponse.AlterConfigsResourceResponse => {
        const outcome = broker.configs.replace(resource.resourceType, resource.resourceName, resource.configs, request.validateOnly);
        return { ...outcome, resourceType: resource.resourceType, resourceName: resource.resourceName };
      });
      return { throttleTimeMs: 0, responses };
    },
  };
}
