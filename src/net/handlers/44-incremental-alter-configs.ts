// IncrementalAlterConfigs (key 44), versions 0-1. v1: flexible.
// SET, DELETE, APPEND and SUBTRACT (the last two for LIST configs such as
// cleanup.policy) applied to the current configs of each resource; the result
// is validated as a whole; validate_only checks without changing anything.
import { ApiKey, type IncrementalAlterConfigsRequest, type IncrementalAlterConfigsResponse } from '../../protocol/generated/index.js';
import type { BrokerServices } from '../../broker/broker.js';
import type { ApiHandler } from '../dispatcher.js';

export function incrementalAlterConfigsHandler(broker: BrokerServices): ApiHandler<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse> {
  return {
    apiKey: ApiKey.IncrementalAlterConfigs,
    minVersion: 0,
    maxVersion: 1,
    async handle(request) {
      // One resource after the other: in a cluster each change is an etcd transaction.
      const responses: Array<Awaited<ReturnType<typeof answer>>> = [];
      for (const resource of request.resources) responses.push(await answer(resource));
      return { throttleTimeMs: 0, responses };
      async function answer(resource: (typeof request.resources)[number]): Promise<IncrementalAlterConfigsResponse.AlterConfigsResourceResponse> {
        const edits = resource.configs.map((c) => ({ name: c.name, operation: c.configOperation, value: c.value }));
        const outcome = await broker.configs.edit(resource.resourceType, resource.resourceName, edits, request.validateOnly);
        return { ...outcome, resourceType: resource.resourceType, resourceName: resource.resourceName };
      }
    },
  };
}
