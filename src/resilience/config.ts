/**
 * Schemas of the resilience knobs (circuit breakers, host quarantine, services a task declares). Kept free of
 * cockatiel and Node APIs so that the deployment config and the task spec (which the workflow bundle imports) can use them.
 */
import { z } from 'zod';
import { CategoryName, ERROR_CATEGORIES } from '../domain/categories';

import { ServiceName } from '../domain/services';
export { ServiceName };

/** Opens on the failure rate over a sliding window instead of a run of failures; for busy services. */
export const SamplingSettings = z
  .object({
    /** Share of failed calls (0-1] in the window that opens the breaker. */
    threshold: z.number().gt(0).max(1),
    durationMs: z.number().int().min(1_000).max(3_600_000),
    /** Calls per second below which the breaker never opens (too few calls to judge). */
    minimumRps: z.number().positive().optional(),
  })
  .strict();

const fields = {
  /** Failures in a row that open the breaker (ignored when `sampling` is set). */
  consecutiveFailures: z.number().int().min(1).max(1_000),
  /** How long an open breaker fails fast before it lets one probe call through (half-open). */
  halfOpenAfterMs: z.number().int().min(1).max(24 * 3_600_000),
  /** nextRetryDelay for calls refused while the half-open probe is still running. */
  halfOpenRetryMs: z.number().int().min(1).max(3_600_000),
  sampling: SamplingSettings.optional(),
};

/** Per-service override: any subset of the fleet-wide settings. */
export const BreakerOverride = z.object(fields).partial().strict();
export type BreakerOverride = z.infer<typeof BreakerOverride>;

export const BreakerConfig = z
  .object({
    consecutiveFailures: fields.consecutiveFailures.default(3),
    halfOpenAfterMs: fields.halfOpenAfterMs.default(30_000),
    halfOpenRetryMs: fields.halfOpenRetryMs.default(1_000),
    sampling: fields.sampling,
    services: z.record(ServiceName, BreakerOverride).default({}),
  })
  .strict();
export type BreakerConfig = z.infer<typeof BreakerConfig>;
export type BreakerConfigInput = z.input<typeof BreakerConfig>;
export type BreakerSettings = Omit<BreakerConfig, 'services'>;

/** The settings in force for one service: fleet-wide ← that service's override. */
export function settingsFor(config: BreakerConfig, service: string): BreakerSettings {
  const { services, ...base } = config;
  const override = Object.fromEntries(Object.entries(services[service] ?? {}).filter(([, v]) => v !== undefined));
  return { ...base, ...override };
}

export { DeclaredService } from '../domain/services';

/** Hardware faults and crashes are the host's own; network, test and config errors say nothing about it. */
export const DEFAULT_QUARANTINE_CATEGORIES: readonly string[] = [
  ...ERROR_CATEGORIES.filter((c) => c.startsWith('HARDWARE_')),
  'WORKER_CRASH_ERROR',
];

/**
 * Rules whose failures are about the task, not the host: a placement mismatch, a busy GPU, and the gate's own
 * refusal (counting that would keep a host quarantined forever).
 */
export const DEFAULT_IGNORED_RULES: readonly string[] = ['host-does-not-meet-requirement', 'gpu-lease-busy', 'host-quarantined'];

export const QuarantineConfig = z
  .object({
    /** Counted failures within `windowMs` that quarantine the host. */
    threshold: z.number().int().min(1).max(1_000).default(3),
    windowMs: z.number().int().min(1).max(7 * 24 * 3_600_000).default(10 * 60_000),
    /** How long a quarantined host takes no class-queue work before it half-opens. */
    cooldownMs: z.number().int().min(1).max(7 * 24 * 3_600_000).default(5 * 60_000),
    /** Categories that count against the host. */
    categories: z.array(CategoryName).default([...DEFAULT_QUARANTINE_CATEGORIES]),
    ignoreRules: z.array(z.string()).default([...DEFAULT_IGNORED_RULES]),
  })
  .strict();
export type QuarantineConfig = z.infer<typeof QuarantineConfig>;
export type QuarantineConfigInput = z.input<typeof QuarantineConfig>;

