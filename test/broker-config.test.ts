import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { brokerConfigFromProperties, loadBrokerConfig, parseListeners } from '../src/config/broker-config.js';
import { ConfigError } from '../src/storage/log-config.js';
import { tempDir } from './support/storage.js';

// The shape of Kafka's own config/kraft/server.properties (comments trimmed).
const KAFKA_SERVER_PROPERTIES = `
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@localhost:9093
listeners=PLAINTEXT://:9092,CONTROLLER://:9093
inter.broker.listener.name=PLAINTEXT
advertised.listeners=PLAINTEXT://localhost:9092
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL
num.network.threads=3
num.io.threads=8
socket.send.buffer.bytes=102400
socket.receive.buffer.bytes=102400
socket.request.max.bytes=104857600
log.dirs=/tmp/kraft-combined-logs
num.partitions=1
num.recovery.threads.per.data.dir=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
log.retention.hours=168
log.segment.bytes=1073741824
log.retention.check.interval.ms=300000
`;

describe('broker config from server.properties', () => {
  it('reads Kafka\'s own server.properties, keeping what it does not use', () => {
    const dir = tempDir();
    const file = path.join(dir, 'server.properties');
    fs.writeFileSync(file, KAFKA_SERVER_PROPERTIES);
    const c = loadBrokerConfig(file);
    fs.rmSync(dir, { recursive: true });
    expect(c.nodeId).toBe(1);
    expect(c.listeners).toEqual([
      { name: 'PLAINTEXT', securityProtocol: 'PLAINTEXT', host: '', port: 9092 },
      { name: 'CONTROLLER', securityProtocol: 'PLAINTEXT', host: '', port: 9093 },
    ]);
    expect(c.advertisedListeners).toEqual([{ name: 'PLAINTEXT', securityProtocol: 'PLAINTEXT', host: 'localhost', port: 9092 }]);
    expect(c.logDirs).toEqual(['/tmp/kraft-combined-logs']);
    expect(c.log.retentionMs).toBe(168 * 3_600_000);
    expect(c.log.segmentBytes).toBe(1073741824);
    expect(c.socketRequestMaxBytes).toBe(104857600);
    expect(c.unknown.has('num.io.threads')).toBe(true);
    expect(c.unknown.has('log.dirs')).toBe(false);
  });

  it('defaults to one broker on 127.0.0.1:9092 with data in ./data, overridable', () => {
    const c = loadBrokerConfig(null, { 'log.dirs': '/var/samsa/a,/var/samsa/b', 'auto.create.topics.enable': 'false' });
    expect(c.listeners).toEqual([{ name: 'PLAINTEXT', securityProtocol: 'PLAINTEXT', host: '127.0.0.1', port: 9092 }]);
    expect(c.advertisedListeners).toEqual(c.listeners);
    expect(c.logDirs).toEqual(['/var/samsa/a', '/var/samsa/b']);
    expect(c.autoCreateTopicsEnable).toBe(false);
    expect(c.numPartitions).toBe(1);
    expect(c.log.appendMode).toBe('write');
  });

  it('parses listener forms Kafka accepts, including IPv6, and rejects malformed ones', () => {
    expect(parseListeners('listeners', 'PLAINTEXT://[::1]:9092, SSL://0.0.0.0:9093')).toEqual([
      { name: 'PLAINTEXT', securityProtocol: 'PLAINTEXT', host: '::1', port: 9092 },
      { name: 'SSL', securityProtocol: 'SSL', host: '0.0.0.0', port: 9093 },
    ]);
    expect(() => parseListeners('listeners', 'localhost:9092')).toThrow(ConfigError);
    expect(() => parseListeners('listeners', 'INTERNAL://:9092')).toThrow(/listener.security.protocol.map/);
    expect(() => parseListeners('listeners', 'PLAINTEXT://:99999')).toThrow(/out of range/);
    expect(() => parseListeners('listeners', 'PLAINTEXT://:1,PLAINTEXT://:2')).toThrow(/twice/);
  });

  it('names the property in every validation error', () => {
    expect(() => brokerConfigFromProperties({ 'num.partitions': '0' })).toThrow(/num.partitions/);
    expect(() => brokerConfigFromProperties({ 'auto.create.topics.enable': 'yes' })).toThrow(/auto.create.topics.enable/);
    expect(() => brokerConfigFromProperties({ 'log.segment.bytes': 'big' })).toThrow(/log.segment.bytes/);
    expect(() => brokerConfigFromProperties({ 'node.id': '1.5' })).toThrow(/node.id/);
    expect(() => brokerConfigFromProperties({ 'socket.sender.mode': 'sendfile' })).toThrow(/socket.sender.mode/);
  });

  it('reads socket.sender.mode (auto by default) without reporting it as unknown', () => {
    expect(brokerConfigFromProperties({}).socketSenderMode).toBe('auto');
    const c = brokerConfigFromProperties({ 'socket.sender.mode': 'COPY' });
    expect(c.socketSenderMode).toBe('copy');
    expect(c.unknown.has('socket.sender.mode')).toBe(false);
    expect(brokerConfigFromProperties({ 'socket.sender.mode': 'zero-copy' }).socketSenderMode).toBe('zero-copy');
  });

  it('reads integers as decimal digits only, as Java does', () => {
    for (const raw of ['abc', '-1', '', '0x10', '1e3', '2.0', ' ']) {
      expect(() => brokerConfigFromProperties({ 'num.partitions': raw }), raw).toThrow(/num\.partitions/);
    }
    for (const raw of ['0x100', '1e9', '1_000']) {
      expect(() => brokerConfigFromProperties({ 'log.segment.bytes': raw }), raw).toThrow(/log\.segment\.bytes: not an integer/);
    }
    expect(brokerConfigFromProperties({ 'num.partitions': '+12' }).numPartitions).toBe(12);
    // Kafka's Long.MAX_VALUE spelled out means "never".
    expect(brokerConfigFromProperties({ 'log.flush.interval.ms': '9223372036854775807' }).log.flushMs).toBe(Number.MAX_SAFE_INTEGER);
    expect(brokerConfigFromProperties({ 'metrics.port': '9404' }).metricsPort).toBe(9404);
    expect(brokerConfigFromProperties({}).metricsPort).toBe(0);
  });
});
