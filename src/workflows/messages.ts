/** Signals, queries and updates of testTaskWorkflow, defined once for the workflow, the activities and the CLI. */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { TaskProgress } from '../domain/task-result';

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
  /** The attempt the move applies to: the one running now, or the next one. */
  appliesToAttempt: number;
}

/** Sent by an attempt that is still running after a few seconds: the task shows as `running` on that host. */
export interface AttemptStarted {
  placement: number;
  attempt: number;
  hostId: string;
}

/** Sent by the fleet watch: how many live hosts could pick up work waiting on `queue` (0: none in the fleet). */
export interface PlacementObservation {
  queue: string;
  eligibleHosts: number;
  reason: string;
}

export const progressQuery = defineQuery<TaskProgress>('progress');
export const reportFailureSignal = defineSignal<[ReportFailureRequest]>('reportFailure');
export const attemptStartedSignal = defineSignal<[AttemptStarted]>('attemptStarted');
export const placementObservationSignal = defineSignal<[PlacementObservation]>('placementObservation');
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
