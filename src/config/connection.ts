/**
 * How clients and workers reach Temporal: Temporal's standard environment configuration (@temporalio/envconfig:
 * TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*, temporal.toml profiles), defaulting to the local dev server.
 */
import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { NativeConnection } from '@temporalio/worker';
import { codecKeyFileFrom, dataConverterFor } from '../codec/data-converter';

export interface ConnectOptions {
  /** Overrides the configured address (e.g. the CLI's --address). */
  address?: string;
  namespace?: string;
  profile?: string;
  /** Encrypt payloads with this key file (default: $DTF_CODEC_KEY_FILE; none: payloads in clear). */
  codecKeyFile?: string;
}

export interface ResolvedConnection {
  address: string;
  namespace: string;
  connectionOptions: ReturnType<typeof loadClientConnectConfig>['connectionOptions'];
  /** The payload codec's data converter when a key file is configured; clients and workers must both use it. */
  dataConverter?: DataConverter;
}

export function resolveConnection(opts: ConnectOptions = {}): ResolvedConnection {
  const config = loadClientConnectConfig({ profile: opts.profile ?? process.env.TEMPORAL_PROFILE });
  const connectionOptions = { ...config.connectionOptions };
  const address = opts.address ?? connectionOptions.address ?? 'localhost:7233';
  connectionOptions.address = address;
  const dataConverter = dataConverterFor(codecKeyFileFrom(opts.codecKeyFile));
  return { address, namespace: opts.namespace ?? config.namespace ?? 'default', connectionOptions, dataConverter };
}

export async function connectClient(opts: ConnectOptions = {}): Promise<Client> {
  const { connectionOptions, namespace, dataConverter } = resolveConnection(opts);
  const connection = await Connection.connect(connectionOptions as Parameters<typeof Connection.connect>[0]);
  return new Client({ connection, namespace, dataConverter });
}

export async function connectWorker(opts: ConnectOptions = {}): Promise<{ connection: NativeConnection; namespace: string; dataConverter?: DataConverter }> {
  const { connectionOptions, namespace, dataConverter } = resolveConnection(opts);
  return { connection: await NativeConnection.connect(connectionOptions), namespace, dataConverter };
}
