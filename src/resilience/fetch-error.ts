/**
 * Reading fetch's errors. Duck-typed, because under some runners (jest) they come from another realm and
 * `instanceof Error` is false; and fetch says only "fetch failed" while its cause names the socket error.
 */
export function errorMessage(err: unknown): string {
  return typeof err === 'object' && err !== null && 'message' in err ? String(err.message) : String(err);
}

/** The most specific message: the cause's (ECONNREFUSED, ENOTFOUND) when there is one. */
export function fetchErrorMessage(err: unknown): string {
  const cause = typeof err === 'object' && err !== null && 'cause' in err ? err.cause : undefined;
  return cause ? errorMessage(cause) : errorMessage(err);
}

/** AbortSignal.timeout fired. */
export function isTimeout(err: unknown): boolean {
  const name = typeof err === 'object' && err !== null && 'name' in err ? String(err.name) : '';
  return name === 'TimeoutError' || name === 'AbortError';
}
