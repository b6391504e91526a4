/** The search attributes dtf defines; temporal-config/search-attributes.json registers the same set on a cluster. */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const DtfStatus = defineSearchAttributeKey('DtfStatus', SearchAttributeType.KEYWORD);
export const DtfHardwareClass = defineSearchAttributeKey('DtfHardwareClass', SearchAttributeType.KEYWORD);
export const DtfHost = defineSearchAttributeKey('DtfHost', SearchAttributeType.KEYWORD);
export const DtfErrorCategory = defineSearchAttributeKey('DtfErrorCategory', SearchAttributeType.KEYWORD);
export const DtfLabels = defineSearchAttributeKey('DtfLabels', SearchAttributeType.KEYWORD_LIST);
export const DtfRunId = defineSearchAttributeKey('DtfRunId', SearchAttributeType.KEYWORD);

/** name → type as the Temporal CLI spells it (`--search-attribute NAME=TYPE`). */
export const SEARCH_ATTRIBUTES: Record<string, 'Keyword' | 'KeywordList'> = {
  DtfStatus: 'Keyword',
  DtfHardwareClass: 'Keyword',
  DtfHost: 'Keyword',
  DtfErrorCategory: 'Keyword',
  DtfLabels: 'KeywordList',
  DtfRunId: 'Keyword',
};

export const TASK_STATUSES = ['queued', 'running', 'retrying', 'passed', 'failed', 'error', 'dead_lettered', 'cancelled'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
