/** The notification for each resilience event, so the worker and the workflow side word them one way. */
import type { AlertChange } from '../metrics/alerts';
import type { QuarantineEvent } from '../resilience/host-quarantine';
import type { BreakerState, StateChangeInfo } from '../resilience/service-breakers';
import { Notification, notification } from './notifier';

/** Open and closed are news; half-open is a step towards one of them and is not sent. */
export function breakerNotification(service: string, state: BreakerState, info: StateChangeInfo, hostId?: string): Notification | undefined {
  if (state === 'open' || state === 'isolated') {
    return notification('breaker_open', `circuit breaker for "${service}" opened`, { service, hostId, ...info });
  }
  if (state === 'closed') return notification('breaker_closed', `circuit breaker for "${service}" closed again`, { service, hostId });
  return undefined;
}

export function quarantineNotification(hostId: string, e: QuarantineEvent): Notification | undefined {
  switch (e.type) {
    case 'quarantined':
      return notification('host_quarantined', `host ${hostId} quarantined itself: ${e.reason}`, {
        hostId,
        reason: e.reason,
        failures: e.failures,
        until: new Date(e.until).toISOString(),
      }, { at: new Date(e.at) });
    case 'recovered':
      return notification('host_recovered', `host ${hostId} is healthy again`, { hostId, quarantinedForMs: e.quarantinedForMs }, { at: new Date(e.at) });
    case 'half-open':
      return undefined; // logged by the worker; the outcome that follows is the news
  }
}

export function deadLetteredNotification(d: { workflowId: string; task: string; category: string; reason: string; hostId?: string }): Notification {
  return notification('dead_lettered', `task ${d.task} dead-lettered: ${d.category}`, d);
}

export function recurringErrorNotification(d: { category: string; message: string; hostId: string; lastHour: number }): Notification {
  return notification('recurring_error', `${d.category} recurring on ${d.hostId} (${d.lastHour} in the last hour)`, d);
}

/** A live alert rule that starts firing (with the rule's severity) or clears (info). */
export function alertNotification(a: AlertChange, hostId: string): Notification {
  const details = { rule: a.rule, ...(a.key ? { key: a.key } : {}), state: a.state, value: a.value, threshold: a.threshold, windowMs: a.windowMs, samples: a.samples, hostId };
  if (a.state === 'resolved') return notification('alert_resolved', `${a.rule} on ${hostId} resolved`, { ...details, severityWas: a.severity });
  return notification('alert', `${a.rule} on ${hostId}: ${a.summary}`, details, { severity: a.severity });
}
