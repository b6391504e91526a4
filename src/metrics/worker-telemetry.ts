/**
 * A worker's telemetry, wired in one place: the Runtime's Prometheus endpoint (the SDK's metrics and dtf's, see
 * catalog.ts), the metrics of every task record this worker writes, failover and detection latencies read from the
 * histories of tasks that failed over, the connection watch, and the live alert rules sent through the notifier.
 */
import type { Client } from '@temporalio/client';
import type { NativeConnection, RuntimeOptions } from '@temporalio/worker';
import type { Logger } from 'pino';
import { TaskRecord, TaskRecordInput } from '../domain/task-record';
import { alertNotification } from '../notifications/events';
import type { Notifier } from '../notifications/notifier';
import type { ResultsActivities } from '../activities/results';
import { AlertEvaluator } from './alerts';
import { HOST_LABEL, histogramBuckets } from './catalog';
import { ConnectionWatch } from './connection-watch';
import { DtfMetrics } from './dtf-metrics';
import { attemptLatencies } from './latency';

/** `HOST:PORT` for the metrics endpoint: a host name or IP (IPv6 in brackets) and a port. */
export function parseMetricsBind(value: string): string {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value.trim());
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65_535) throw new Error(`metrics bind "${value}": expected HOST:PORT, e.g. 0.0.0.0:9464 or 127.0.0.1:9464`);
  return `${m[1]}:${Number(m[2])}`;
}

/** The Runtime's telemetry options for a metrics endpoint on `bindAddress`; every metric gets the label host=<hostId>. */
export function metricsTelemetry(bindAddress: string, hostId: string): NonNullable<RuntimeOptions['telemetryOptions']> {
  return {
    metrics: {
      globalTags: { [HOST_LABEL]: hostId },
      prometheus: { bindAddress: parseMetricsBind(bindAddress), histogramBucketOverrides: histogramBuckets() },
    },
  };
}

type RecordingResults = ResultsActivities & { close(): Promise<void> };

/**
 * The results activities with metrics: every record written counts its task's outcome, duration and recovery;
 * for a task whose attempt failed with an infrastructure error or was lost, its history gives failover and
 * detection latency (read after the write, never on the happy path, never failing the write).
 */
export function withTaskRecordMetrics(results: RecordingResults, metrics: DtfMetrics, client: Client, log: Logger): RecordingResults {
  const wrapped: ResultsActivities = {
    async recordTaskResult(input: TaskRecordInput) {
      const out = await results.recordTaskResult(input);
      const record = TaskRecord.safeParse(input);
      if (record.success) {
        try {
          metrics.taskSettled(record.data);
        } catch (err) {
          log.warn({ err }, 'metrics: could not count a task record');
        }
        const failedOver = record.data.attempts.some((a) => a.outcome === 'lost' || (a.outcome === 'error' && !a.category?.startsWith('TEST_')));
        if (failedOver) void recordLatencies(client, record.data, metrics, log);
      }
      return out;
    },
  };
  Object.defineProperty(wrapped, 'close', { enumerable: false, value: () => results.close() });
  return wrapped as RecordingResults;
}

async function recordLatencies(client: Client, record: TaskRecord, metrics: DtfMetrics, log: Logger): Promise<void> {
  try {
    const history = await client.workflow.getHandle(record.workflowId, record.runId).fetchHistory();
    for (const l of attemptLatencies(history.events ?? [])) {
      if (l.detectionMs !== undefined) metrics.detection(l.cause, l.detectionMs);
      if (l.failoverMs !== undefined) metrics.failover(l.cause, l.failoverMs);
    }
  } catch (err) {
    log.debug({ err, workflowId: record.workflowId }, 'metrics: could not read the history for failover latency');
  }
}

export interface LiveAlerts {
  evaluator: AlertEvaluator;
  watch: ConnectionWatch;
  /** Evaluates the rules now and sends what changed (the timer does it every checkIntervalMs). */
  evaluate(): Promise<void>;
  stop(): void;
}

/** The connection watch and the live alert rules of one worker. */
export function startLiveAlerts(opts: { metrics: DtfMetrics; evaluator: AlertEvaluator; notifier: Notifier; connection: NativeConnection; hostId: string; log: Logger }): LiveAlerts {
  const { metrics, evaluator, notifier, connection, hostId, log } = opts;
  const config = evaluator.config;
  let sending = Promise.resolve();
  const evaluate = async () => {
    for (const change of evaluator.evaluate(Date.now())) {
      if (change.state === 'firing') metrics.alertFired(change.rule, change.severity);
      log[change.state === 'firing' ? 'warn' : 'info']({ alert: change.rule, key: change.key, value: change.value, threshold: change.threshold }, `alert ${change.rule} ${change.state}: ${change.summary}`);
      sending = sending.then(() => notifier.notify(alertNotification(change, hostId)));
    }
    await sending;
  };
  const watch = new ConnectionWatch(
    {
      check: (timeoutMs) => connection.withDeadline(Date.now() + timeoutMs, () => connection.workflowService.getSystemInfo({})),
      intervalMs: config.checkIntervalMs,
      failAfterMs: config.reconnectFailed.afterMs,
    },
    {
      lost(_at, error) {
        log.warn({ error }, 'lost the connection to the Temporal server');
        metrics.connectionLost();
      },
      reconnected(_at, downMs) {
        log.info({ downMs }, `reconnected to the Temporal server after ${Math.round(downMs / 100) / 10} s`);
        metrics.reconnected(downMs);
      },
      reconnectFailed(_at, downMs) {
        log.error({ downMs }, `no connection to the Temporal server for ${Math.round(downMs / 1000)} s`);
        metrics.reconnectFailed();
      },
      checked: () => void evaluate().catch(() => undefined),
    },
  );
  metrics.connected();
  watch.start();
  return { evaluator, watch, evaluate, stop: () => watch.stop() };
}
