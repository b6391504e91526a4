/**
 * The deployment config file (`--config FILE` or $DTF_CONFIG, YAML or JSON): classifier additions, retry-policy
 * overrides, circuit breakers, host quarantine and notification sinks for this fleet. Every knob is optional; the defaults work on one laptop.
 */
import fs from 'node:fs';
import YAML from 'yaml';
import { z } from 'zod';
import { ArtifactsConfig } from '../domain/artifacts';
import { ClassifierConfig } from '../domain/classification';
import { PolicyTableOverrides } from '../domain/policies';
import { SpecError, formatZodIssues } from '../domain/task-spec';
import { AlertsConfig } from '../metrics/alerts';
import { NotificationsConfig } from '../notifications/notifier';
import { BreakerConfig, QuarantineConfig } from '../resilience/config';

export const DeploymentConfig = z
  .object({
    /** Extra categories and rules, tried before the built-in ones. */
    classifier: ClassifierConfig.optional(),
    /** Per-category retry-policy overrides (fields as in policies.ts). */
    policies: PolicyTableOverrides.default({}),
    /** Circuit breakers of the external services tasks declare (`services:` in a task spec). */
    breakers: BreakerConfig.default({}),
    /** When a host quarantines itself after its own hardware or crash errors repeat. */
    quarantine: QuarantineConfig.default({}),
    /** Where notifications go: the structured log and JSON webhooks. */
    notifications: NotificationsConfig.default({}),
    /** Thresholds, windows and severities of the live alert rules every worker evaluates (src/metrics/alerts.ts). */
    alerts: AlertsConfig.default({}),
    /**
     * What of the worker's environment reaches test commands beyond PATH, HOME, LANG and TMPDIR: names, or `PREFIX_*`
     * patterns (a GPU host typically passes LD_LIBRARY_PATH and CUDA_*). Secrets go by reference (`secretEnv`).
     */
    environment: z
      .object({ pass: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*\*?$/, 'expected an environment variable name, or a prefix ending in *')).default([]) })
      .strict()
      .default({}),
    /** The artifact store (a local directory, or S3-compatible), per-attempt artifact bounds, checkpoint thresholds. */
    artifacts: ArtifactsConfig.default({}),
  })
  .strict();
export type DeploymentConfig = z.infer<typeof DeploymentConfig>;

export function loadDeploymentConfig(file = process.env.DTF_CONFIG): DeploymentConfig {
  if (!file) return DeploymentConfig.parse({});
  let data: unknown;
  try {
    data = YAML.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new SpecError(file, [`cannot read config: ${(err as Error).message}`]);
  }
  const parsed = DeploymentConfig.safeParse(data ?? {});
  if (!parsed.success) throw new SpecError(file, formatZodIssues(parsed.error));
  return parsed.data;
}
