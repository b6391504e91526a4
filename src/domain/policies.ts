/**
 * The per-category retry policy table: how long to back off, how often to retry in place (Temporal does that),
 * and what the workflow does next when retrying in place is over. Overridable per deployment and per task.
 * The table and its decisions are plain data in policy-table.ts; this module adds their schemas.
 */
import { z } from 'zod';
import { CategoryName } from './categories';
import { NEXT_ACTIONS } from './policy-table';
import { PolicyOverride } from './task-spec';

export * from './policy-table';

export const NextAction = z.enum(NEXT_ACTIONS);
export type NextAction = z.infer<typeof NextAction>;

export const CategoryPolicy = z
  .object({
    initialDelayMs: z.number().int().min(0),
    backoffCoefficient: z.number().min(1).max(10),
    maxDelayMs: z.number().int().min(0),
    /** Share of the delay drawn at random, ±: 0.2 turns 10 s into 8–12 s so that retries of many tasks spread out. */
    jitter: z.number().min(0).max(1),
    /** Attempts on the same placement (1 = no retry in place). */
    maxAttemptsInPlace: z.number().int().min(1).max(100),
    then: NextAction,
  })
  .strict();
export type CategoryPolicy = z.infer<typeof CategoryPolicy>;

export const PolicyTableOverrides = z.record(CategoryName, PolicyOverride.extend({ then: NextAction.optional() }).strict());
export type PolicyTableOverrides = z.infer<typeof PolicyTableOverrides>;
