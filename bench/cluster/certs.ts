/** Certificates for one `npm run cluster` run, made by temporal-config/make-certs.sh (the script compose users run). */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from '../../src/server/temporal-cli';

export interface RunCertificates {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** The name clients verify on the server's certificate (TEMPORAL_TLS_SERVER_NAME). */
  serverName: string;
}

export function makeCertificates(dir: string, serverName = 'localhost'): RunCertificates {
  const r = spawnSync('sh', [path.join(REPO_ROOT, 'temporal-config', 'make-certs.sh'), dir, serverName, 'temporal'], {
    encoding: 'utf8',
    env: { ...process.env, DTF_CERT_DAYS: '2' }, // one run's worth
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`temporal-config/make-certs.sh failed (${r.status ?? r.signal}): ${r.stderr || r.stdout}`);
  const f = (name: string) => path.join(dir, name);
  return { dir, caCert: f('ca.pem'), serverCert: f('server.pem'), serverKey: f('server.key'), clientCert: f('client.pem'), clientKey: f('client.key'), serverName };
}

/** What every client of the run (workers, `dtf submit`, the Temporal CLI) connects with: Temporal's environment configuration. */
export function clientTlsEnv(certs: Pick<RunCertificates, 'caCert' | 'clientCert' | 'clientKey' | 'serverName'>): Record<string, string> {
  return {
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: certs.caCert,
    TEMPORAL_TLS_CLIENT_CERT_PATH: certs.clientCert,
    TEMPORAL_TLS_CLIENT_KEY_PATH: certs.clientKey,
    TEMPORAL_TLS_SERVER_NAME: certs.serverName,
  };
}
