/** `dtf status ID`: one task as a page for people (views/status-page.ts), or `--json` for machines. */
import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { renderStatusPage } from './views/status-page';
import { readStatusView } from './task-view';

export type WithClient = <T>(cmd: Command, fn: (client: Client) => Promise<T>) => Promise<T>;

export function registerStatusCommand(program: Command, withClient: WithClient): void {
  program
    .command('status <workflowId>')
    .description('show one task: outcome, last error with its host\'s hardware status, recovery log, tests, artifacts, what to do next, output tail')
    .option('--json', 'print the data the page is made of, as JSON')
    .action(async (id: string, o: { json?: boolean }, cmd: Command) => {
      await withClient(cmd, async (client) => {
        const view = await readStatusView(client, id);
        console.log(o.json ? JSON.stringify(view, null, 2) : renderStatusPage(view));
      });
    });
}
