/** The error taxonomy: 14 categories (what went wrong) and 4 kinds (how recovery treats it), with their schemas. */
import { z } from 'zod';
import { ERROR_KINDS, INJECTABLE_CATEGORIES } from './category-table';

export * from './category-table';

export const CategoryName = z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'expected an UPPER_SNAKE_CASE category name');
export type CategoryName = z.infer<typeof CategoryName>;

export const ErrorKind = z.enum(ERROR_KINDS);
export type ErrorKind = z.infer<typeof ErrorKind>;

export const InjectRates = z.record(z.enum(INJECTABLE_CATEGORIES), z.number().min(0).max(1));
export type InjectRates = z.infer<typeof InjectRates>;
