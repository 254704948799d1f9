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
    async handle(request) {
      // One resource after the other: in a cluster each change is an etcd transaction.
      const responses: Array<Awaited<ReturnType<typeof answer>>> = [];
      for (const resource of request.resources) responses.push(await answer(resource));
      return { throttleTimeMs: 0, responses };
      async function answer(resource: (typeof request.resources)[number]): Promise<AlterConfigsResponse.AlterConfigsResourceResponse> {
        const outcome = await broker.configs.replace(resource.resourceType, resource.resourceName, resource.configs, request.validateOnly);
        return { ...outcome, resourceType: resource.resourceType, resourceName: resource.resourceName };
      }
    },
  };
}
