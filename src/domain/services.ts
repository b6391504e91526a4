/** External services a task declares (artifact store, dataset mirror): probed through the host's breaker first. */
import { z } from 'zod';

export const ServiceName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'expected 1-100 letters, digits, ".", "_" or "-"');

/** An external service a task uses: probed through its breaker before the command runs. */
export const DeclaredService = z
  .object({
    name: ServiceName,
    /** Health URL; any answer below 500 means up. */
    url: z.string().url().refine((u) => /^https?:/i.test(u), 'expected an http(s) URL'),
    timeoutMs: z.number().int().min(1).max(120_000).default(5_000),
  })
  .strict();
export type DeclaredService = z.infer<typeof DeclaredService>;
