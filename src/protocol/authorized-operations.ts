// Authorized-operations bit fields (Metadata v8+, DescribeCluster) as Kafka
// reports them without an authorizer: every operation the resource type
// supports (AclEntry.supportedOperations), one bit per AclOperation code.

/** The schema default: operations were not requested. */
export const OPERATIONS_OMITTED = -2147483648;

// AclOperation codes: READ 3, WRITE 4, CREATE 5, DELETE 6, ALTER 7, DESCRIBE 8,
// CLUSTER_ACTION 9, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11, IDEMPOTENT_WRITE 12.
const TOPIC_OPERATION_CODES = [3, 4, 5, 6, 7, 8, 10, 11];
const CLUSTER_OPERATION_CODES = [5, 7, 8, 9, 10, 11, 12];

const bits = (codes: readonly number[]) => codes.reduce((field, code) => field | (1 << code), 0);

/** READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS (3576). */
export const TOPIC_AUTHORIZED_OPERATIONS = bits(TOPIC_OPERATION_CODES);
/** CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE (8096). */
export const CLUSTER_AUTHORIZED_OPERATIONS = bits(CLUSTER_OPERATION_CODES);

// READ 3, DELETE 6, DESCRIBE 8: what AclEntry.supportedOperations lists for GROUP.
const GROUP_OPERATION_CODES = [3, 6, 8];
/** READ, DELETE, DESCRIBE (328). */
export const GROUP_AUTHORIZED_OPERATIONS = bits(GROUP_OPERATION_CODES);
