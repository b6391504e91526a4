/**
 * User configuration of the classifier: extra categories and extra rules, validated with zod.
 * User rules are tried before the built-in table, so a site can override any built-in decision.
 */
import { z } from 'zod';
import { CategoryName, DEFAULT_KIND, ERROR_CATEGORIES, ErrorKind, type BuiltInCategory } from '../categories';
import { checkUniqueNames } from '../unique-names';
import { BUILT_IN_RULES, BUILT_IN_RULE_DEFINITIONS, compileRule, normalizeSignal, type CompiledRule } from './rules';

const BUILT_IN_CATEGORY_SET: ReadonlySet<string> = new Set(ERROR_CATEGORIES);
const BUILT_IN_RULE_NAMES: ReadonlySet<string> = new Set(BUILT_IN_RULE_DEFINITIONS.map((r) => r.name));

/** A category the built-in fourteen do not cover, with the kind recovery should treat it as. */
export const ClassifierCategory = z
  .object({
    name: CategoryName,
    kind: ErrorKind,
    description: z.string().optional(),
  })
  .strict();
export type ClassifierCategory = z.infer<typeof ClassifierCategory>;

export const RuleName = z
  .string()
  .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'expected a kebab-case rule name, e.g. "my-flaky-license-server"');

/**
 * One user rule; like a built-in row, it matches when every condition it has matches.
 * `pattern` is a JavaScript regular expression source tested against message + output tail + JUnit failure text;
 * keep it linear (no nested quantifiers such as `(a+)+`): it runs on up to 64 KiB of output.
 */
export const ClassifierRule = z
  .object({
    name: RuleName,
    category: CategoryName,
    kind: ErrorKind.optional(),
    pattern: z.string().min(1).optional(),
    /** Regex flags; g and y are refused because matching must be stateless. */
    flags: z.string().regex(/^[imsuv]*$/, 'flags may only contain i, m, s, u, v (g and y make matching stateful)').optional(),
    exitCodes: z.array(z.number().int()).min(1).optional(),
    signals: z.array(z.string().min(1)).min(1).optional(),
    exceptionTypes: z.array(z.string().min(1)).min(1).optional(),
    description: z.string().optional(),
  })
  .strict();
export type ClassifierRule = z.infer<typeof ClassifierRule>;

export const ClassifierConfig = z
  .object({
    categories: z.array(ClassifierCategory).optional(),
    rules: z.array(ClassifierRule).optional(),
  })
  .strict()
  .superRefine((config, ctx) => {
    const declared = checkUniqueNames(
      ctx,
      (config.categories ?? []).map((c) => c.name),
      {
        path: (i) => ['categories', i, 'name'],
        reserved: (name) => (BUILT_IN_CATEGORY_SET.has(name) ? `"${name}" is a built-in category; its kind is fixed` : undefined),
        repeated: (name, first) => `category "${name}" is declared twice (first at categories[${first}])`,
      },
    );
    checkUniqueNames(
      ctx,
      (config.rules ?? []).map((r) => r.name),
      {
        path: (i) => ['rules', i, 'name'],
        reserved: (name) => (BUILT_IN_RULE_NAMES.has(name) ? `"${name}" is the name of a built-in rule; choose another` : undefined),
        repeated: (name, first) => `rule "${name}" is defined twice (first at rules[${first}])`,
      },
    );
    (config.rules ?? []).forEach((rule, i) => {
      if (!BUILT_IN_CATEGORY_SET.has(rule.category) && !declared.has(rule.category)) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: ['rules', i, 'category'],
          message: `unknown category "${rule.category}"; declare it under categories`,
        });
      }
      if (!rule.pattern && !rule.exitCodes && !rule.signals && !rule.exceptionTypes) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: ['rules', i],
          message: 'a rule needs at least one condition: pattern, exitCodes, signals or exceptionTypes',
        });
      }
      if (rule.flags !== undefined && rule.pattern === undefined) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['rules', i, 'flags'], message: 'flags without a pattern' });
      }
      if (rule.pattern !== undefined) {
        try {
          new RegExp(rule.pattern, rule.flags ?? '');
        } catch (e) {
          ctx.addIssue({
            code: z.ZodIssueCode.custom,
            path: ['rules', i, 'pattern'],
            message: `invalid regular expression: ${e instanceof Error ? e.message : String(e)}`,
          });
        }
      }
      (rule.signals ?? []).forEach((signal, j) => {
        if (normalizeSignal(signal) === undefined) {
          ctx.addIssue({
            code: z.ZodIssueCode.custom,
            path: ['rules', i, 'signals', j],
            message: `unknown signal "${signal}" (expected a name such as SIGKILL or TERM)`,
          });
        }
      });
    });
  });
export type ClassifierConfig = z.infer<typeof ClassifierConfig>;

/** `rules[2].category` rather than zod's `rules.2.category`: the form a user finds in their file. */
export function formatIssuePath(path: readonly (string | number)[]): string {
  return path.reduce<string>((out, part) => (typeof part === 'number' ? `${out}[${part}]` : out ? `${out}.${part}` : part), '');
}

export function formatConfigIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${formatIssuePath(issue.path) || '(config)'}: ${issue.message}`).join('\n');
}

/** A configuration that failed validation; `message` lists every problem as `path: reason`. */
export class ClassifierConfigError extends Error {
  override readonly name = 'ClassifierConfigError';
  constructor(readonly issues: readonly z.ZodIssue[], message: string) {
    super(message);
  }
}

export function parseClassifierConfig(input: unknown): ClassifierConfig {
  const parsed = ClassifierConfig.safeParse(input);
  if (!parsed.success) throw new ClassifierConfigError(parsed.error.issues, formatConfigIssues(parsed.error));
  return parsed.data;
}

/**
 * The kind recovery uses for a category: the built-in default, or the kind a config declares.
 * A category nobody declared behaves like UNKNOWN_ERROR (it may come from a newer config elsewhere).
 */
export function kindOf(category: string, config?: ClassifierConfig): ErrorKind {
  if (BUILT_IN_CATEGORY_SET.has(category)) return DEFAULT_KIND[category as BuiltInCategory];
  const declared = config?.categories?.find((c) => c.name === category);
  return declared?.kind ?? DEFAULT_KIND.UNKNOWN_ERROR;
}

/** User rules (in file order) followed by the built-in table. Validates `config` again: throws ClassifierConfigError. */
export function compileRules(config?: ClassifierConfig): CompiledRule[] {
  if (!config) return [...BUILT_IN_RULES];
  const valid = parseClassifierConfig(config);
  const userRules = (valid.rules ?? []).map((rule) =>
    compileRule(
      {
        name: rule.name,
        category: rule.category,
        description: rule.description ?? `user rule ${rule.name}`,
        ...(rule.pattern !== undefined ? { pattern: new RegExp(rule.pattern, rule.flags ?? '') } : {}),
        ...(rule.exitCodes ? { exitCodes: rule.exitCodes } : {}),
        ...(rule.signals ? { signals: rule.signals } : {}),
        ...(rule.exceptionTypes ? { exceptionTypes: rule.exceptionTypes } : {}),
      },
      rule.kind ?? kindOf(rule.category, valid),
      'config',
    ),
  );
  return [...userRules, ...BUILT_IN_RULES];
}
