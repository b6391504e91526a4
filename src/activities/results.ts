/**
 * The control activity that writes a finished task to the results store (src/results/store.ts). The workflow calls
 * it once at the end of each task, with retries, and ignores a final failure: the task's outcome stays in Temporal
 * either way. Suggested options: startToCloseTimeout 30 s, retry {initialInterval 1 s, backoffCoefficient 2,
 * maximumAttempts 5, nonRetryableErrorTypes: [INVALID_TASK_RECORD, RESULTS_STORE_MISCONFIGURED]}.
 */
import { ApplicationFailure } from '@temporalio/common';
import { TaskRecord, TaskRecordInput } from '../domain/task-record';
import { formatZodIssues } from '../domain/task-spec';
import { ResultsStore, describeLocation, openResultsStore, resolveResultsDb } from '../results/store';

/** The record does not validate: retrying cannot help. */
export const INVALID_TASK_RECORD = 'InvalidTaskRecord';
/** DTF_RESULTS_DB (or the URL given) cannot be understood: retrying cannot help. */
export const RESULTS_STORE_MISCONFIGURED = 'ResultsStoreMisconfigured';
/** The database could not be opened or written (down, locked, full): retryable. */
export const RESULTS_STORE_UNAVAILABLE = 'ResultsStoreUnavailable';

export interface RecordTaskResultOutcome {
  workflowId: string;
  /** Where it was written, password hidden. */
  store: string;
}

export interface ResultsActivitiesOptions {
  /** Opens the store (tests inject a failing one); default openResultsStore. */
  open?: (url: string | undefined) => Promise<ResultsStore>;
}

export interface ResultsActivities {
  /** Validates the record (zod) and writes it, replacing an earlier write of the same workflow id. */
  recordTaskResult(record: TaskRecordInput): Promise<RecordTaskResultOutcome>;
}

/**
 * `storeUrl`: a DTF_RESULTS_DB value; default $DTF_RESULTS_DB, else sqlite:.dtf/results.db under the worker's cwd.
 * The store is opened on first use and kept; a failed open is retried on the next call. The returned object's
 * `close()` is not enumerable, so spreading it into a worker's activities registers only `recordTaskResult`.
 */
export function createResultsActivities(storeUrl?: string, opts: ResultsActivitiesOptions = {}): ResultsActivities & { close(): Promise<void> } {
  const open = opts.open ?? ((url) => openResultsStore(url));
  let store: Promise<ResultsStore> | undefined;
  let location: string | undefined;

  const getStore = (): Promise<ResultsStore> => {
    if (!store) {
      store = open(storeUrl).catch((err) => {
        store = undefined;
        throw err;
      });
    }
    return store;
  };

  const activities: ResultsActivities = {
    async recordTaskResult(record: TaskRecordInput): Promise<RecordTaskResultOutcome> {
      const parsed = TaskRecord.safeParse(record);
      if (!parsed.success) {
        throw ApplicationFailure.create({
          type: INVALID_TASK_RECORD,
          message: `invalid task record: ${formatZodIssues(parsed.error).slice(0, 10).join('; ')}`,
          nonRetryable: true,
        });
      }
      if (location === undefined) {
        try {
          location = describeLocation(resolveResultsDb(storeUrl));
        } catch (err) {
          throw ApplicationFailure.create({ type: RESULTS_STORE_MISCONFIGURED, message: (err as Error).message, nonRetryable: true });
        }
      }
      try {
        const s = await getStore();
        await s.writeTask(parsed.data);
      } catch (err) {
        throw ApplicationFailure.create({
          type: RESULTS_STORE_UNAVAILABLE,
          message: `results store ${location}: ${(err as Error).message}`,
          nonRetryable: false,
        });
      }
      return { workflowId: parsed.data.workflowId, store: location };
    },
  };
  Object.defineProperty(activities, 'close', {
    enumerable: false,
    value: async () => {
      const s = store;
      store = undefined;
      if (s) await (await s.catch(() => undefined))?.close();
    },
  });
  return activities as ResultsActivities & { close(): Promise<void> };
}
