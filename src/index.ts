// The package entry point: `import { Broker } from 'samsa'`.
export { Broker, type BrokerOptions, type AdvertisedBroker } from './broker/broker.js';
export { brokerConfigFromProperties, loadBrokerConfig, DEFAULT_BROKER_PROPERTIES, type BrokerConfig, type ListenerEndpoint } from './config/broker-config.js';
export { parseProperties } from './config/properties.js';
export { ConfigError } from './storage/log-config.js';
export { createLogger, type LoggerOptions, type SamsaLogger } from './observability/logger.js';
export { silentLogger, type LogLogger, type LogFields } from './storage/log.js';
