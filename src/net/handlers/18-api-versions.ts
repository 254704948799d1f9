// ApiVersions (key 18), versions 0-3.
// v0: the list of APIs with min/max versions. v1: throttle time. v2: same as v1.
// v3: flexible; the request carries client software name/version; the response
//     adds tagged supported/finalized features (none here).
// The response header is always v0 (clients parse it before knowing our versions).
import { ErrorCode } from '../../protocol/error-codes.js';
import { ApiKey, type ApiVersionsRequest, type ApiVersionsResponse } from '../../protocol/generated/index.js';
import type { ApiHandler, Dispatcher } from '../dispatcher.js';

// KIP-511: client software name and version must match this pattern.
const SOFTWARE_PATTERN = /^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$/;

export function apiVersionsHandler(dispatcher: Dispatcher): ApiHandler<ApiVersionsRequest, ApiVersionsResponse> {
  return {
    apiKey: ApiKey.ApiVersions,
    minVersion: 0,
    maxVersion: 3,
    handle(request, context) {
      const apiKeys = dispatcher.supportedApis();
      if (context.apiVersion >= 3) {
        const name = request.clientSoftwareName ?? '';
        const version = request.clientSoftwareVersion ?? '';
        if (!SOFTWARE_PATTERN.test(name) || !SOFTWARE_PATTERN.test(version)) {
          return { errorCode: ErrorCode.INVALID_REQUEST, apiKeys, throttleTimeMs: 0 };
        }
      }
      return { errorCode: 0, apiKeys, throttleTimeMs: 0 };
    },
  };
}
