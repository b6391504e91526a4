/**
 * Live output of a running attempt: the worker keeps its last lines, numbered, and sends them in the activity's
 * heartbeat details; `dtf logs --follow` reads them from the pending activity and prints each line once. Pure.
 */

/** Lines a heartbeat carries: enough to bridge a second of output, small enough for a heartbeat every second. */
export const LIVE_LINES_MAX = 40;
export const LIVE_LINE_MAX_CHARS = 500;
/** Total characters of the lines in one heartbeat (the newest lines win). */
export const LIVE_OUTPUT_MAX_CHARS = 4 * 1024;

/** The part of AttemptHeartbeat that carries output: `lines[0]` is line number `from` (0-based) of the attempt. */
export interface LiveOutputSnapshot {
  from: number;
  lines: string[];
}

const clipLine = (line: string) => (line.length > LIVE_LINE_MAX_CHARS ? `${line.slice(0, LIVE_LINE_MAX_CHARS)}…` : line);

/** The newest lines of an attempt's output (stdout and stderr interleaved as they came), numbered from its start. */
export class LiveLines {
  private lines: string[] = [];
  private total = 0;

  push(line: string): void {
    this.lines.push(clipLine(line));
    this.total += 1;
    if (this.lines.length > LIVE_LINES_MAX) this.lines.shift();
  }

  snapshot(): LiveOutputSnapshot {
    let chars = 0;
    let keep = 0;
    for (let i = this.lines.length - 1; i >= 0; i -= 1) {
      chars += this.lines[i].length + 1;
      if (chars > LIVE_OUTPUT_MAX_CHARS) break;
      keep += 1;
    }
    return { from: this.total - keep, lines: this.lines.slice(this.lines.length - keep) };
  }
}

/** Reads heartbeat output loosely: a heartbeat from a worker without live output, or an odd one, gives none. */
export function liveOutputOf(details: unknown): LiveOutputSnapshot | undefined {
  const output = (details as { output?: unknown } | null | undefined)?.output as Partial<LiveOutputSnapshot> | undefined;
  if (!output || typeof output.from !== 'number' || !Array.isArray(output.lines)) return undefined;
  return { from: output.from, lines: output.lines.map(String) };
}

/**
 * What a follower that has printed lines [0, printed) prints from a newer snapshot: the lines it has not seen, and
 * how many went by between two looks without being seen (more output than a heartbeat carries).
 */
export function unseenLines(printed: number, snapshot: LiveOutputSnapshot): { lines: string[]; skipped: number; printed: number } {
  const end = snapshot.from + snapshot.lines.length;
  if (end <= printed) return { lines: [], skipped: 0, printed };
  const skipped = Math.max(0, snapshot.from - printed);
  const start = Math.max(printed, snapshot.from) - snapshot.from;
  return { lines: snapshot.lines.slice(start), skipped, printed: end };
}

/**
 * The lines of an attempt's final output tail that come after what a follower printed last: the tail is matched
 * on the longest run of the last printed lines it contains (the tail is cut by size, not by line numbers).
 */
export function linesAfterPrinted(lastPrinted: readonly string[], finalTail: string): string[] {
  const tail = finalTail.replace(/\n$/, '').split('\n');
  if (finalTail === '') return [];
  if (!lastPrinted.length) return tail;
  for (let n = Math.min(lastPrinted.length, tail.length); n > 0; n -= 1) {
    const probe = lastPrinted.slice(-n);
    for (let i = tail.length - n; i >= 0; i -= 1) {
      if (probe.every((line, k) => clipLine(tail[i + k]) === line)) return tail.slice(i + n);
    }
  }
  return tail;
}
