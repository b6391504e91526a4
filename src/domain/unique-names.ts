/** A zod refinement step shared by the schemas that hold named lists (classifier categories and rules, task services). */
import { z } from 'zod';

export interface UniqueNamesOptions {
  /** Where the issue for the i-th name goes. */
  path(i: number): (string | number)[];
  /** The message for a name seen before, at `firstIndex`. */
  repeated(name: string, firstIndex: number): string;
  /** The message for a name that may not be used at all; undefined when it may. */
  reserved?(name: string): string | undefined;
}

/** Adds an issue for each reserved or repeated name; returns each accepted name with the index it first appeared at. */
export function checkUniqueNames(ctx: z.RefinementCtx, names: readonly string[], opts: UniqueNamesOptions): Map<string, number> {
  const seen = new Map<string, number>();
  names.forEach((name, i) => {
    const refused = opts.reserved?.(name);
    const first = seen.get(name);
    if (refused) ctx.addIssue({ code: z.ZodIssueCode.custom, path: opts.path(i), message: refused });
    else if (first !== undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, path: opts.path(i), message: opts.repeated(name, first) });
    else seen.set(name, i);
  });
  return seen;
}
