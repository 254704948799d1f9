import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PropertiesError, formatProperties, parseProperties } from '../src/config/properties.js';

describe('parseProperties', () => {
  it('reads a Kafka server.properties with comments, separators and blank lines', () => {
    const text = [
      '# Licensed to the Apache Software Foundation',
      '! also a comment',
      '',
      'broker.id=0',
      'listeners = PLAINTEXT://:9092',
      'log.dirs: /tmp/kafka-logs',
      'num.partitions 3',
      '   log.retention.hours=168   ',
      'zookeeper.connect=',
      'empty.key.no.separator',
    ].join('\n');
    expect(Object.fromEntries(parseProperties(text))).toEqual({
      'broker.id': '0',
      listeners: 'PLAINTEXT://:9092',
      'log.dirs': '/tmp/kafka-logs',
      'num.partitions': '3',
      // Java keeps trailing whitespace in values.
      'log.retention.hours': '168   ',
      'zookeeper.connect': '',
      'empty.key.no.separator': '',
    });
  });

  it('joins continuation lines and decodes escapes like java.util.Properties', () => {
    const text = ['advertised.listeners=PLAINTEXT://a:9092,\\', '    SSL://b:9093', 'path=C:\\\\data\\tx', 'k\\=ey=v\\u00e9', 'odd=ends\\\\'].join('\r\n');
    const p = parseProperties(text);
    expect(p.get('advertised.listeners')).toBe('PLAINTEXT://a:9092,SSL://b:9093');
    expect(p.get('path')).toBe('C:\\data\tx');
    expect(p.get('k=ey')).toBe('vé');
    expect(p.get('odd')).toBe('ends\\');
  });

  it('lets later keys win and rejects a malformed unicode escape with its line number', () => {
    expect(parseProperties('a=1\na=2').get('a')).toBe('2');
    expect(() => parseProperties('ok=1\nbad=\\u12g4')).toThrow(PropertiesError);
    expect(() => parseProperties('ok=1\nbad=\\u12g4')).toThrow(/line 2/);
  });

  it('round-trips any map through formatProperties', () => {
    const key = fc.string({ minLength: 1, maxLength: 12 });
    fc.assert(
      fc.property(fc.dictionary(key, fc.string({ maxLength: 20 })), (dict) => {
        const map = new Map(Object.entries(dict));
        expect(Object.fromEntries(parseProperties(formatProperties(map)))).toEqual(Object.fromEntries(map));
      }),
      { numRuns: 500 },
    );
  });
});
