/**
 * GPU temperature, memory and utilisation gauges for the real GPUs of this host, read every intervalMs through the
 * same non-blocking nvidia-smi query as the error reports (src/activities/system-context.ts). Simulated GPUs have
 * no hardware to read: they are counted (dtf_gpus_simulated) and get no gauges.
 */
import type { Logger } from 'pino';
import { nvidiaGpus } from '../activities/system-context';
import type { HostHardware } from '../domain/hardware';
import type { DtfMetrics } from './dtf-metrics';

const GIB = 1024 ** 3;

export function startGpuSampler(hardware: HostHardware, metrics: DtfMetrics, log: Logger, intervalMs = 15_000): { stop(): void } {
  const simulated = hardware.gpus.filter((g) => g.simulated).length;
  metrics.simulatedGpus(simulated);
  if (hardware.gpus.length === simulated) return { stop() {} };
  let warned = false;
  const sample = async () => {
    try {
      for (const [i, g] of (await nvidiaGpus()).entries()) {
        metrics.gpu({
          index: g.index ?? i,
          model: g.name,
          temperatureC: g.temperatureC,
          memoryUsedBytes: g.memoryUsedGb === undefined ? undefined : g.memoryUsedGb * GIB,
          memoryTotalBytes: g.memoryTotalGb * GIB,
          utilization: g.utilizationPercent === undefined ? undefined : g.utilizationPercent / 100,
        });
      }
    } catch (err) {
      if (!warned) log.warn({ err }, 'GPU metrics: could not read the GPUs (nvidia-smi); trying again on every sample');
      warned = true;
    }
  };
  void sample();
  const timer = setInterval(() => void sample(), intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
