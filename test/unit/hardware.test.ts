import {
  CPU_TASK_QUEUE,
  classQueuesFor,
  parseSimulatedGpu,
  parseWorkerIdentity,
  tierAbove,
  tierFor,
  tiersServedBy,
  workerIdentity,
} from '../../src/domain/hardware';

describe('hardware tiers and queues', () => {
  test('a GPU serves every tier it reaches, allowing for what cards really report', () => {
    expect(tiersServedBy(7.79)).toEqual([8]);
    expect(tiersServedBy(15.78)).toEqual([8, 16]); // a "16 GB" V100
    expect(tiersServedBy(23.99)).toEqual([8, 16, 24]);
    expect(tiersServedBy(79.6)).toEqual([8, 16, 24, 40, 48, 80]);
    expect(tiersServedBy(4)).toEqual([]);
  });

  test('a task goes to the smallest tier that covers its need', () => {
    expect(tierFor(0)).toBe(8);
    expect(tierFor(8)).toBe(8);
    expect(tierFor(12)).toBe(16);
    expect(tierFor(24)).toBe(24);
    expect(tierFor(200)).toBeUndefined();
  });

  test('after a GPU OOM the next tier is the first one this GPU cannot serve', () => {
    expect(tierAbove(8)).toBe(16);
    expect(tierAbove(23.99)).toBe(40);
    expect(tierAbove(141)).toBeUndefined();
  });

  test('queues of a CPU host, an 8 GB host and a 24 GB host', () => {
    expect(classQueuesFor({ gpus: [] })).toEqual([CPU_TASK_QUEUE]);
    expect(classQueuesFor({ gpus: [{ name: 'a', memoryGb: 8, simulated: true }] })).toEqual(['dtf-cpu', 'dtf-cuda-8gb']);
    expect(classQueuesFor({ gpus: [{ name: 'a', memoryGb: 8, simulated: true }, { name: 'b', memoryGb: 24, simulated: true }] })).toEqual([
      'dtf-cpu',
      'dtf-cuda-8gb',
      'dtf-cuda-16gb',
      'dtf-cuda-24gb',
    ]);
  });

  test('--simulate-gpu parses NAME:MEMORY_GB[:CC] and rejects anything else clearly', () => {
    expect(parseSimulatedGpu('RTX-4090:24:8.9')).toEqual({ name: 'RTX-4090', memoryGb: 24, computeCapability: 8.9, simulated: true });
    expect(parseSimulatedGpu('T4:16')).toEqual({ name: 'T4', memoryGb: 16, computeCapability: undefined, simulated: true });
    expect(() => parseSimulatedGpu('RTX')).toThrow(/expected NAME:MEMORY_GB\[:COMPUTE_CAPABILITY\]/);
    expect(() => parseSimulatedGpu('RTX:lots')).toThrow(/MEMORY_GB must be a positive number/);
    expect(() => parseSimulatedGpu('RTX:8:new')).toThrow(/COMPUTE_CAPABILITY must be a number/);
  });

  test('worker identity carries what placement needs and parses back', () => {
    const id = workerIdentity({ hostId: 'gpu-07', cpuModel: 'x', cpuCores: 8, memoryGb: 64, gpus: [{ name: 'A100', memoryGb: 79.2, computeCapability: 8, simulated: false }] }, 42);
    expect(id).toBe('dtf:gpu-07:gpu79.2:cc8:n1:cpu1:pid42');
    expect(parseWorkerIdentity(id)).toEqual({ hostId: 'gpu-07', gpuMemoryGb: 79.2, computeCapability: 8, gpuCount: 1, cpuTasks: true, pid: 42 });
    // A GPU host kept for GPU work says so; an identity from before GPU counts still parses.
    const gpuOnly = workerIdentity({ hostId: 'gpu-08', cpuModel: 'x', cpuCores: 8, memoryGb: 64, gpus: [1, 2].map(() => ({ name: 'L4', memoryGb: 24, simulated: false })) }, 7, { cpuTasks: false });
    expect(parseWorkerIdentity(gpuOnly)).toMatchObject({ gpuCount: 2, cpuTasks: false });
    expect(parseWorkerIdentity('dtf:old:gpu24:cc8.9:pid3')).toMatchObject({ gpuCount: 1, cpuTasks: true });
    expect(parseWorkerIdentity('12345@somehost')).toBeUndefined();
  });
});
