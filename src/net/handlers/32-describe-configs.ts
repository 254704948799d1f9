// DescribeConfigs (key 32), versions 1-4 (Kafka 4.0 dropped v0).
// v1: config source and synonyms (when include_synonyms). v2: same as v1.
// v3: config type and documentation (when include_documentation). v4: flexible.
// Topic resources list every topic config (override, broker synonym or
// default); broker resources list this broker's configs, or for the name ""
// only the cluster-wide dynamic defaults.
import { ApiKey, type DescribeConfigsRequest, type DescribeConfigsResponse } from '../../protocol/generated/index.js';
import { ConfigType } from '../../config/config-catalog.js';
import type { BrokerServices } from '../../broker/broker.js';
import type { ApiHandler } from '../dispatcher.js';

export function describeConfigsHandler(broker: BrokerServices): ApiHandler<DescribeConfigsRequest, DescribeConfigsResponse> {
  return {
    apiKey: ApiKey.DescribeConfigs,
    minVersion: 1,
    maxVersion: 4,
    handle(request, context) {
      const v = context.apiVersion;
      const includeSynonyms = request.includeSynonyms === true;
      const includeDocumentation = v >= 3 && request.includeDocumentation === true;
      const results = request.resources.map((resource): DescribeConfigsResponse.DescribeConfigsResult => {
        const outcome = broker.configs.describe(resource.resourceType, resource.resourceName, resource.configurationKeys);
        return {
          errorCode: outcome.errorCode,
          errorMessage: outcome.errorMessage,
          resourceType: resource.resourceType,
          resourceName: resource.resourceName,
          configs: outcome.configs.map((c) => ({
            name: c.name,
            value: c.value,
            readOnly: c.readOnly,
            configSource: c.source,
            isSensitive: c.isSensitive,
            synonyms: includeSynonyms ? c.synonyms.map((s) => ({ name: s.name, value: s.value, source: s.source })) : [],
            configType: ConfigType[c.type],
            documentation: includeDocumentation ? c.doc : null,
          })),
        };
      });
      return { throttleTimeMs: 0, results };
    },
  };
}
