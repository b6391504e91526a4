/** Signals, queries and updates of testTaskWorkflow, defined once for the workflow, the activities and the CLI. */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { RecoveryLogEntry, TaskProgress } from '../domain/task-result';

export interface ReportFailureRequest {
  /** The unhealthy host; default: the host running the task now. */
  hostId?: string;
  category: string;
  message: string;
}

export interface ReassignRequest {
  /** A class (`cpu`, `cuda`), a class queue (`dtf-cuda-24gb`), a host queue (`dtf-host-gpu-07`) or a host id (`gpu-07`). */
  to: string;
  reason?: string;
}

export interface ReassignResponse {
  queue: string;
  accepted: true;
}

/** Sent by the activity on its own failure path: what happened in place, so that the recovery log misses nothing. */
export type AttemptEvent = Omit<RecoveryLogEntry, 'at'> & { previousHostId?: string };

export const progressQuery = defineQuery<TaskProgress>('progress');
export const reportFailureSignal = defineSignal<[ReportFailureRequest]>('reportFailure');
export const attemptEventSignal = defineSignal<[AttemptEvent]>('attemptEvent');
export const reassignUpdate = defineUpdate<ReassignResponse, [ReassignRequest]>('reassign');

export interface RedriveRequest {
  /** A corrected spec (same name); validated by the update's validator before it is accepted. */
  spec?: unknown;
  reason?: string;
}

export interface DiscardRequest {
  reason: string;
}

/** Resume a dead-lettered task, optionally with a corrected spec. */
export const redriveUpdate = defineUpdate<{ workflowId: string; redrivenWithNewSpec: boolean }, [RedriveRequest]>('redrive');
/** End a dead-lettered task for good. */
export const discardUpdate = defineUpdate<{ workflowId: string }, [DiscardRequest]>('discard');
