/** The results schema's migrations, in order. Add a new file per version; never edit one that has shipped. */
import { migration001 } from './001-initial';

export interface Migration {
  version: number;
  name: string;
  /** Statements separated by `;`, valid in both SQLite and PostgreSQL. */
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [migration001];
export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;
