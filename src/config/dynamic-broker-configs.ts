// Broker configs set at runtime through AlterConfigs / IncrementalAlterConfigs:
// the cluster-wide default (resource name "") and per-broker values. Kafka keeps
// them in the cluster metadata log; here they live in one JSON document written
// atomically next to the topic metadata, so they survive a restart.
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../storage/checkpoint.js';

export const DYNAMIC_CONFIGS_FILE = 'samsa-broker-configs.json';
const DOCUMENT_VERSION = 1;
// A few hundred properties at most; anything larger is not this file.
const DOCUMENT_BYTES_MAX = 4 * 1024 * 1024;

interface Document {
  version: number;
  clusterDefault: Record<string, string>;
  perBroker: Record<string, Record<string, string>>;
}

export class DynamicBrokerConfigs {
  private constructor(
    private readonly file: string,
    private doc: Document,
  ) {}

  static open(logDir: string): DynamicBrokerConfigs {
    const file = path.join(logDir, DYNAMIC_CONFIGS_FILE);
    let doc: Document = { version: DOCUMENT_VERSION, clusterDefault: {}, perBroker: {} };
    if (fs.existsSync(file)) {
      if (fs.statSync(file).size > DOCUMENT_BYTES_MAX) throw new Error(`${file} is larger than ${DOCUMENT_BYTES_MAX} bytes`);
      const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Document;
      if (parsed.version !== DOCUMENT_VERSION || typeof parsed.clusterDefault !== 'object' || typeof parsed.perBroker !== 'object') {
        throw new Error(`${file}: unrecognised dynamic config document`);
      }
      doc = parsed;
    }
    return new DynamicBrokerConfigs(file, doc);
  }

  clusterDefault(): Readonly<Record<string, string>> {
    return this.doc.clusterDefault;
  }

  perBroker(nodeId: number): Readonly<Record<string, string>> {
    return this.doc.perBroker[String(nodeId)] ?? {};
  }

  /** Replaces the configs of one level ("" for the cluster default, else a node id). */
  set(resourceName: string, configs: Record<string, string>): void {
    if (resourceName === '') this.doc.clusterDefault = { ...configs };
    else this.doc.perBroker[resourceName] = { ...configs };
    writeFileAtomic(this.file, JSON.stringify(this.doc, null, 1) + '\n');
  }
}
