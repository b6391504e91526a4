/**
 * The deployment config file (`--config FILE` or $DTF_CONFIG, YAML or JSON): classifier additions and retry-policy
 * overrides for this fleet. Every knob is optional; the defaults work on one laptop.
 */
import fs from 'node:fs';
import YAML from 'yaml';
import { z } from 'zod';
import { ClassifierConfig } from '../domain/classification';
import { PolicyTableOverrides } from '../domain/policies';
import { SpecError, formatZodIssues } from '../domain/task-spec';

export const DeploymentConfig = z
  .object({
    /** Extra categories and rules, tried before the built-in ones. */
    classifier: ClassifierConfig.optional(),
    /** Per-category retry-policy overrides (fields as in policies.ts). */
    policies: PolicyTableOverrides.default({}),
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
