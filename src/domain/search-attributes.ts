/** The search attributes dtf defines; temporal-config/search-attributes.json registers the same set on a cluster. */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const DtfStatus = defineSearchAttributeKey('DtfStatus', SearchAttributeType.KEYWORD);
export const DtfHardwareClass = defineSearchAttributeKey('DtfHardwareClass', SearchAttributeType.KEYWORD);
export const DtfHost = defineSearchAttributeKey('DtfHost', SearchAttributeType.KEYWORD);
export const DtfErrorCategory = defineSearchAttributeKey('DtfErrorCategory', SearchAttributeType.KEYWORD);
export const DtfLabels = defineSearchAttributeKey('DtfLabels', SearchAttributeType.KEYWORD_LIST);
export const DtfRunId = defineSearchAttributeKey('DtfRunId', SearchAttributeType.KEYWORD);
/** The queue the task's current placement waits or runs on: the fleet watch finds waiting tasks by it. */
export const DtfQueue = defineSearchAttributeKey('DtfQueue', SearchAttributeType.KEYWORD);
/** When the task entered the dead letter queue, for age filters. */
export const DtfParkedAt = defineSearchAttributeKey('DtfParkedAt', SearchAttributeType.DATETIME);

/** name → type as the Temporal CLI spells it (`--search-attribute NAME=TYPE`). */
export const SEARCH_ATTRIBUTES: Record<string, 'Keyword' | 'KeywordList' | 'Datetime'> = {
  DtfStatus: 'Keyword',
  DtfHardwareClass: 'Keyword',
  DtfHost: 'Keyword',
  DtfErrorCategory: 'Keyword',
  DtfLabels: 'KeywordList',
  DtfRunId: 'Keyword',
  DtfParkedAt: 'Datetime',
  DtfQueue: 'Keyword',
};

/** `error` is a run with no option left: it is dead-lettered unless the task keeps no dead letters (retention 0). */
export const TASK_STATUSES = ['queued', 'running', 'retrying', 'passed', 'failed', 'error', 'dead_lettered', 'discarded', 'expired', 'cancelled'] as const;
/** Statuses after which nothing more happens without an operator. */
export const SETTLED_STATUSES: readonly TaskStatus[] = ['passed', 'failed', 'error', 'dead_lettered', 'discarded', 'expired', 'cancelled'];
export type TaskStatus = (typeof TASK_STATUSES)[number];
