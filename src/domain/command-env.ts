/**
 * The environment a test command gets: a minimal base from the worker (PATH, HOME, LANG, TMPDIR), what the deployment
 * lets through by name, what the task declares, and secrets by reference. Nothing else of the worker's environment
 * (its Temporal API key, TLS material, cloud credentials) reaches a command. Pure: the worker passes its env in.
 */

/** Always passed from the worker, when set: a command needs them to find programs, its home and temp, its locale. */
export const BASE_ENV_NAMES = ['PATH', 'HOME', 'LANG', 'TMPDIR'] as const;

export interface CommandEnvInput {
  /** The worker's own environment. */
  worker: Readonly<Record<string, string | undefined>>;
  /** Names (or `PREFIX_*` patterns) the deployment passes through: `environment.pass` in its config, `--pass-env`. */
  pass: readonly string[];
  /** The task's `env`. */
  task: Readonly<Record<string, string>>;
  /** The task's `secretEnv`: TASK_VAR → the worker variable whose value it gets. */
  secretEnv: Readonly<Record<string, string>>;
  /** What dtf itself adds (DTF_TASK, DTF_WORKSPACE, CUDA_VISIBLE_DEVICES, …): wins over everything. */
  dtf: Readonly<Record<string, string>>;
}

export interface CommandEnv {
  env: Record<string, string>;
  /** The secret values the command got, by the task's name for them: redacted wherever output goes. */
  secrets: { name: string; value: string }[];
  /** secretEnv entries whose worker variable is not set: the attempt fails naming them, never their values. */
  missing: { name: string; from: string }[];
}

export function passes(name: string, pass: readonly string[]): boolean {
  return pass.some((p) => (p.endsWith('*') ? name.startsWith(p.slice(0, -1)) : p === name));
}

export function commandEnvironment(input: CommandEnvInput): CommandEnv {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(input.worker)) {
    if (value === undefined) continue;
    if ((BASE_ENV_NAMES as readonly string[]).includes(name) || passes(name, input.pass)) env[name] = value;
  }
  Object.assign(env, input.task);
  const secrets: CommandEnv['secrets'] = [];
  const missing: CommandEnv['missing'] = [];
  for (const [name, from] of Object.entries(input.secretEnv)) {
    const value = input.worker[from];
    if (value === undefined || value === '') missing.push({ name, from });
    else {
      env[name] = value;
      secrets.push({ name, value });
    }
  }
  Object.assign(env, input.dtf);
  return { env, secrets, missing };
}

/** Replaces every secret value in `text` with `[redacted:NAME]`, longest first (one value may contain another). */
export function redactSecretValues(text: string, secrets: readonly { name: string; value: string }[]): string {
  let out = text;
  for (const s of [...secrets].sort((a, b) => b.value.length - a.value.length)) {
    if (s.value) out = out.split(s.value).join(`[redacted:${s.name}]`);
  }
  return out;
}
