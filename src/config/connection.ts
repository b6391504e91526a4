/**
 * How clients and workers reach Temporal: Temporal's standard environment configuration (@temporalio/envconfig:
 * TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*, temporal.toml profiles), defaulting to the local dev server.
 */
import { Client, Connection } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { NativeConnection } from '@temporalio/worker';

export interface ConnectOptions {
  /** Overrides the configured address (e.g. the CLI's --address). */
  address?: string;
  namespace?: string;
  profile?: string;
}

export interface ResolvedConnection {
  address: string;
  namespace: string;
  connectionOptions: ReturnType<typeof loadClientConnectConfig>['connectionOptions'];
}

export function resolveConnection(opts: ConnectOptions = {}): ResolvedConnection {
  const config = loadClientConnectConfig({ profile: opts.profile ?? process.env.TEMPORAL_PROFILE });
  const connectionOptions = { ...config.connectionOptions };
  const address = opts.address ?? connectionOptions.address ?? 'localhost:7233';
  connectionOptions.address = address;
  return { address, namespace: opts.namespace ?? config.namespace ?? 'default', connectionOptions };
}

export async function connectClient(opts: ConnectOptions = {}): Promise<Client> {
  const { connectionOptions, namespace } = resolveConnection(opts);
  const connection = await Connection.connect(connectionOptions as Parameters<typeof Connection.connect>[0]);
  return new Client({ connection, namespace });
}

export async function connectWorker(opts: ConnectOptions = {}): Promise<{ connection: NativeConnection; namespace: string }> {
  const { connectionOptions, namespace } = resolveConnection(opts);
  return { connection: await NativeConnection.connect(connectionOptions), namespace };
}
