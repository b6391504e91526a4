/**
 * The built-in classification rules, as data: an ordered table where the first matching row wins.
 * Order encodes precedence: evidence that the host or the infrastructure is at fault (sick GPU, OOM, lost worker,
 * network) comes before evidence about the test itself (dependencies, configuration, assertions), so that
 * "CUDA out of memory" inside a failed pytest run is a resource problem, not a test failure. Exit-code and
 * signal-only rows come last: they are what is left when no text is recognisable.
 *
 * Patterns avoid nested quantifiers and unbounded gaps (gaps are `[^\n]{0,N}`) so a 64 KiB haystack cannot make
 * them backtrack catastrophically.
 */
import { DEFAULT_KIND, type BuiltInCategory, type CategoryName, type ErrorKind } from '../categories';

/** One row of the table. A row matches when every condition it has matches. */
export interface RuleDefinition {
  /** Unique, kebab-case. Placement keys on the `gpu-oom` and `host-oom` prefixes. */
  readonly name: string;
  readonly category: CategoryName;
  /** Overrides the category's default kind. */
  readonly kind?: ErrorKind;
  /** Tested against the message, the output tail and the JUnit failure text together. */
  readonly pattern?: RegExp;
  /** Exit codes; 128+n also matches signal n (shell convention), see `classify.ts`. */
  readonly exitCodes?: readonly number[];
  /** Signal names (`SIGKILL`); the `SIG` prefix is optional. */
  readonly signals?: readonly string[];
  /**
   * Exception class names. A plain name (`MemoryError`) matches any module's class of that name; a dotted name
   * (`torch.cuda.OutOfMemoryError`) only that class, because short names collide (java.lang.OutOfMemoryError).
   */
  readonly exceptionTypes?: readonly string[];
  readonly description: string;
}

/** A row ready to match: kind resolved, lookups as sets. */
export interface CompiledRule {
  readonly name: string;
  readonly category: CategoryName;
  readonly kind: ErrorKind;
  readonly pattern?: RegExp;
  readonly exitCodes?: ReadonlySet<number>;
  readonly signals?: ReadonlySet<string>;
  readonly exceptionTypes?: ReadonlySet<string>;
  readonly description: string;
  readonly source: 'built-in' | 'config';
}

const SIGNAL_NUMBERS: Readonly<Record<string, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGXCPU: 24,
  SIGXFSZ: 25,
};
const SIGNAL_NAMES: ReadonlyMap<number, string> = new Map(Object.entries(SIGNAL_NUMBERS).map(([name, n]) => [n, name]));

/** `kill`, `SIGKILL`, `9` → `SIGKILL`; undefined when it is not a signal we know. */
export function normalizeSignal(signal: string | null | undefined): string | undefined {
  if (signal === null || signal === undefined) return undefined;
  const trimmed = signal.trim().toUpperCase();
  if (/^\d+$/.test(trimmed)) return SIGNAL_NAMES.get(Number(trimmed));
  const name = trimmed.startsWith('SIG') ? trimmed : `SIG${trimmed}`;
  return name in SIGNAL_NUMBERS ? name : undefined;
}

export function signalNumber(signal: string): number | undefined {
  return SIGNAL_NUMBERS[signal];
}

export function signalName(n: number): string | undefined {
  return SIGNAL_NAMES.get(n);
}

/** Last segment of a dotted exception name: what a plain name in a row matches. */
export function shortExceptionName(name: string): string {
  const trimmed = name.trim();
  const dot = trimmed.lastIndexOf('.');
  return dot >= 0 ? trimmed.slice(dot + 1) : trimmed;
}

export function compileRule(def: RuleDefinition, kind: ErrorKind, source: CompiledRule['source']): CompiledRule {
  const signals = def.signals?.map((s) => normalizeSignal(s) ?? s.trim().toUpperCase());
  return {
    name: def.name,
    category: def.category,
    kind,
    description: def.description,
    source,
    ...(def.pattern ? { pattern: def.pattern } : {}),
    ...(def.exitCodes ? { exitCodes: new Set(def.exitCodes) } : {}),
    ...(signals ? { signals: new Set(signals) } : {}),
    ...(def.exceptionTypes ? { exceptionTypes: new Set(def.exceptionTypes.map((t) => t.trim())) } : {}),
  };
}

const C = {
  ALLOC: 'RESOURCE_ALLOCATION_ERROR',
  CLEANUP: 'RESOURCE_CLEANUP_ERROR',
  CONNECTION: 'NETWORK_CONNECTION_ERROR',
  TIMEOUT: 'NETWORK_TIMEOUT_ERROR',
  HW_AVAILABILITY: 'HARDWARE_AVAILABILITY_ERROR',
  HW_CAPABILITY: 'HARDWARE_CAPABILITY_ERROR',
  HW_PERFORMANCE: 'HARDWARE_PERFORMANCE_ERROR',
  DISCONNECTION: 'WORKER_DISCONNECTION_ERROR',
  CRASH: 'WORKER_CRASH_ERROR',
  OVERLOAD: 'WORKER_OVERLOAD_ERROR',
  EXECUTION: 'TEST_EXECUTION_ERROR',
  DEPENDENCY: 'TEST_DEPENDENCY_ERROR',
  CONFIGURATION: 'TEST_CONFIGURATION_ERROR',
  UNKNOWN: 'UNKNOWN_ERROR',
} as const satisfies Record<string, BuiltInCategory>;

/** `Xid (PCI:0000:3b:00): 79,` and `previous Xid 149` alike. */
const xid = (numbers: string): RegExp => new RegExp(`\\bXid\\b(?: \\([^)\\n]{0,40}\\))?:? (?:${numbers})\\b`);

export const BUILT_IN_RULE_DEFINITIONS: readonly RuleDefinition[] = [
  // ── A sick GPU or host: strongest evidence, the host should be quarantined whatever else happened. ──
  {
    name: 'gpu-fallen-off-bus',
    category: C.HW_PERFORMANCE,
    pattern: new RegExp(`${xid('79').source}|fallen off the bus|GPU is lost|GPU lost from the bus`, 'i'),
    description: 'The GPU dropped off the PCIe bus (Xid 79) or nvidia-smi reports it lost: power, thermals or a failing card.',
  },
  {
    name: 'gpu-ecc-uncorrectable',
    category: C.HW_PERFORMANCE,
    pattern: /uncorrectable ECC error|ECC_UNCORRECTABLE|double bit (?:ECC )?error|\(DBE\)|Contained ECC error/i,
    description: 'Uncorrectable (double-bit) ECC error in GPU memory.',
  },
  {
    name: 'xid-memory-error',
    category: C.HW_PERFORMANCE,
    pattern: xid('48|63|64|92|94|95|119|120|140'),
    description: 'Xid codes for ECC, page retirement and GSP failures.',
  },
  {
    name: 'xid-nvlink-error',
    category: C.HW_PERFORMANCE,
    pattern: xid('74|14[4-9]|150'),
    description: 'Xid codes for NVLink errors.',
  },
  {
    name: 'xid-application-fault',
    category: C.HW_PERFORMANCE,
    pattern: xid('13|31|43'),
    description: 'Xid 13/31/43: graphics exception, MMU fault or stopped channel. Often the application, but the host is the one to check first (the taxonomy files Xid errors under hardware).',
  },
  {
    name: 'xid-other',
    category: C.HW_PERFORMANCE,
    pattern: /\bNVRM: Xid\b/,
    description: 'Any other Xid reported by the NVIDIA kernel driver.',
  },
  {
    name: 'machine-check-error',
    category: C.HW_PERFORMANCE,
    pattern: /Machine check events logged|\bmce: \[Hardware Error\]|HANDLING MCE MEMORY ERROR|Hardware event\. This is not a software error|\bEDAC \w+ MC\d|Uncorrected hardware memory error/i,
    description: 'The CPU or memory controller reported a machine check (MCE/EDAC): failing hardware.',
  },
  {
    name: 'pcie-bus-errors',
    category: C.HW_PERFORMANCE,
    pattern: /PCIe Bus Error: severity=|AER: (?:Multiple )?(?:Corrected|Uncorrected|Uncorrectable) error received|AER: \[\s?\d+\] (?:RxErr|BadTLP|BadDLLP|Timeout|Receiver Error)/,
    description: 'The kernel reports PCIe link errors (AER): the bus or a device on it is degrading.',
  },
  {
    name: 'disk-io-error',
    category: C.HW_PERFORMANCE,
    pattern: /blk_update_request: (?:I\/O|critical \w+) error|I\/O error, dev \w+|\bata\d+(?:\.\d+)?: (?:exception Emask|failed command)|Buffer I\/O error on dev|critical medium error|Medium Error|nvme\d+: (?:I\/O \d+ (?:\(I\/O Cmd\) )?(?:QID \d+ )?)?(?:timeout|controller is down)|EXT4-fs error|XFS \([^)\n]{1,40}\): (?:Corruption|metadata I\/O error|log I\/O error)|BTRFS (?:error|critical)|Remounting filesystem read-only|Input\/output error during (?:write|read) on \/dev\//i,
    description: 'The kernel reports disk or NVMe I/O errors: the device is failing.',
  },
  {
    name: 'kernel-hung-task',
    category: C.HW_PERFORMANCE,
    pattern: /INFO: task \S+ blocked for more than \d+ seconds|\bsoft lockup\b[^\n]{0,20}CPU#?\d+ stuck for|rcu: INFO: rcu_\w+ detected stalls|rcu_sched detected stalls/,
    description: 'The kernel hung-task watchdog: a task stuck in uninterruptible I/O (sick disk or file system).',
  },
  {
    name: 'gpu-device-lost',
    category: C.HW_PERFORMANCE,
    pattern: /DEVICE_LOST\b|\bdevice (?:was |being )?lost\b|DXGI_ERROR_DEVICE_(?:REMOVED|HUNG|RESET)|Unable to determine the device handle for GPU|NVLink[^\n]{0,60}(?:inactive|inActive|fatal error)|links are inActive/i,
    description: 'The GPU was lost or its NVLink links are down (Level Zero/Vulkan DEVICE_LOST, NVML cannot reach the device).',
  },
  {
    name: 'interconnect-retry-exceeded',
    category: C.TIMEOUT,
    pattern: /RETRY_EXC_ERR|[Tt]ransport retry count(?:er)? exceeded|RNR retry count(?:er)? exceeded/,
    description: 'InfiniBand/RoCE: the peer did not acknowledge within the retry budget (IBV_WC_RETRY_EXC_ERR): a transport timeout.',
  },
  {
    name: 'interconnect-completion-error',
    category: C.HW_PERFORMANCE,
    pattern: /Got completion from peer[^\n]{0,80}(?:with error|status=)|\bIBV_WC_\w+_ERR\b/,
    description: 'InfiniBand/RoCE work completions fail (link or NIC trouble on the host).',
  },
  {
    name: 'amdgpu-reset-or-hang',
    category: C.HW_PERFORMANCE,
    pattern: /HW Exception by GPU node-\d+|reason ?:GPU Hang|Core halted unexpectedly|Accelerator device halted|amdgpu[^\n]{0,80}(?:GPU reset|ring \S+ timeout|job timed? ?out|GPU fault detected|VM_L2_PROTECTION_FAULT)|amdgpu_job_timedout|GPU reset begin|HW_EXCEPTION|GPU Hang/i,
    description: 'The AMD kernel driver reset a hung GPU or logged a GPU fault: a sick device or driver.',
  },
  {
    name: 'gpu-reset-required',
    category: C.HW_PERFORMANCE,
    pattern: /NV_ERR_RESET_REQUIRED|GPU (?:requires|needs) (?:a )?reset|Node Reboot Required/i,
    description: 'The driver says the GPU needs a reset or the node a reboot.',
  },
  {
    name: 'thermal-throttling',
    category: C.HW_PERFORMANCE,
    pattern:
      /temperature above threshold|cpu clock throttled|power limit notification|TEMP_HW_SLOWDOWN|HW_SLOWDOWN|thermal (?:violation|throttl\w*|slowdown)|clocks event due to thermal|HW (?:Thermal |Power Brake )?Slowdown\s*:\s*Active|SW Power Cap\s*:\s*Active|\b(?:GPU|CPU|clocks?) (?:is |are |was |were )?throttled\b|overheat(?:ing|ed)\b/i,
    description: 'CPU or GPU clocks throttled (temperature, power cap): results are slow rather than wrong.',
  },

  // ── GPU missing or unusable on this host. ──
  {
    name: 'nvidia-driver-missing',
    category: C.HW_AVAILABILITY,
    pattern:
      /nvidia-container-cli: initialization error|lib(?:nvidia-ml|cuda)\.so[.\d]*: cannot open shared object|No NVIDIA graphics adapter probed|NVIDIA probe routine|kernel driver does not appear to be running|\/proc\/driver\/nvidia\/version does not exist|could not select device driver "[^"\n]{0,40}" with capabilities: \[\[gpu\]\]|unknown or invalid runtime name: nvidia|Unknown runtime specified nvidia/i,
    description: 'The NVIDIA kernel driver, its host libraries (libcuda, libnvidia-ml) or the container toolkit are not present.',
  },
  {
    name: 'nvml-unavailable',
    category: C.HW_AVAILABILITY,
    pattern: /Failed to initialize NVML|NVIDIA-SMI has failed|couldn.t communicate with the NVIDIA driver/i,
    description: 'NVML cannot talk to the driver (not loaded, or driver/library version mismatch after an upgrade).',
  },
  {
    name: 'no-cuda-device',
    category: C.HW_AVAILABILITY,
    pattern:
      /No CUDA GPUs are available|no CUDA-capable device is detected|failed call to cuInit|Unexpected error from cudaGetDeviceCount|CUDA unknown error - this may be due to an incorrectly set up environment|forward compatibility was attempted on non supported HW|cudaErrorCompatNotSupportedOnDevice|CUDA_ERROR_NO_DEVICE|cudaErrorNoDevice|Found no NVIDIA driver|No GPUs were found/i,
    description: 'CUDA sees no device: no GPU, no driver, or CUDA_VISIBLE_DEVICES hides them.',
  },
  {
    name: 'gpu-busy-or-unavailable',
    category: C.HW_AVAILABILITY,
    pattern: /CUDA-capable device\(s\) is\/are busy or unavailable|(?:libtpu\.so|TPU|accelerator)[^\n]{0,40}already in use by another process|no healthy devices present|can't open device "\/dev\/tty\w+"|could not open port '?\/dev\/tty\w+|eglInitialize failed|EGL_NOT_INITIALIZED|EGL error 0x3001|ERROR_INCOMPATIBLE_DRIVER|No device could be created|cannot allocate unhealthy devices|failed to find gpu id|Could not access KVM kernel module|failed to initialize kvm|There are no longer any instances available with the requested specifications|cudaErrorDevicesUnavailable|all CUDA-capable devices are busy/i,
    description: 'GPUs are exclusive-process and taken, or otherwise unavailable.',
  },
  {
    name: 'scheduler-insufficient-gpu',
    category: C.HW_AVAILABILITY,
    pattern:
      /Insufficient (?:[\w.-]+\/)?(?:gpu|GPU|vcuda|gpu-mem|gpu-memory|mig-\S+)|gres\/gpu count reported lower than configured|not enough gpu fitted on this node|nodes are available:[^\n]{0,300}(?:nvidia\.com|amd\.com|\/gpu|GPU)|Requested node configuration is not available|ReqNodeNotAvail|No available node types can fulfill resource request[^\n]{0,200}GPU|could not find a node type to satisfy the request[^\n]{0,200}GPU|cannot be scheduled right now|Quota '[\w_]*GPU[\w_]*' exceeded|quota[^\n]{0,120}(?:GPU|gpu)|(?:GPU|gpu|accelerator)[^\n]{0,200}does not have enough resources|does not have enough resources[^\n]{0,200}(?:GPU|gpu|accelerator)/,
    description: 'The scheduler or the cloud has no GPU to give (FailedScheduling insufficient nvidia.com/gpu, Slurm node configuration, GPU quota or zone stock-out).',
  },
  {
    name: 'cuda-library-version-mismatch',
    category: C.DEPENDENCY,
    pattern:
      /Outdated (?:cuDNN|CUDA|cuBLAS|cuSOLVER|cuFFT|cuSPARSE|NCCL)\b[^\n]{0,40}installation|but (?:JAX|TensorFlow|PyTorch|source) was (?:built|compiled) (?:against|with)[^\n]{0,60}|Loaded runtime (?:CuDNN|cuDNN) library: [\d.]+ but source was compiled with/i,
    description: 'An installed CUDA library is older than the one the framework was built against.',
  },
  {
    name: 'jax-cuda-backend-failed',
    category: C.HW_AVAILABILITY,
    pattern: /CUDA backend failed to initialize|Unable to initialize backend 'cuda'|Backend 'cuda' failed to initialize/i,
    description: 'JAX/XLA could not initialise its CUDA backend and fell back to CPU or failed.',
  },
  {
    name: 'cuda-library-not-initialized',
    category: C.HW_AVAILABILITY,
    pattern: /CUDNN_STATUS_NOT_INITIALIZED|CUBLAS_STATUS_NOT_INITIALIZED|CUDA_ERROR_NOT_INITIALIZED/,
    description: 'cuDNN/cuBLAS could not create a handle: the device or driver is unusable.',
  },

  // ── Hardware capability: validation when the build lacks the target, resource when the device is too old. ──
  {
    name: 'accelerator-unavailable',
    category: C.HW_AVAILABILITY,
    pattern:
      /Unable to initialize backend '(?:tpu|gpu|cuda|rocm)': (?!UNIMPLEMENTED|INTERNAL: Failed to open|Found \w+ version)|(?:TPU|GPU) is already in use|\bPI_ERROR_DEVICE_NOT_FOUND\b|\bDEVICE_NOT_FOUND\b|Neither CUDA nor MPS is available|requires a GPU\b|can only be used on CUDA devices|\bCUDA (?:is )?not available|no (?:CUDA|ROCm|HIP|XPU|GPU|TPU|NVIDIA|AMD) (?:GPUs?|devices?) (?:were |was )?(?:found|available|detected)|hipErrorNoDevice|No HIP GPUs are available|could not select device driver|cuInit: CUDA_ERROR_UNKNOWN|torch\.cuda\.is_available\(\) is False|invalid device ordinal|cudaErrorInvalidDevice\b|nvmlDeviceGetHandleByIndex\(\): Unknown Error|MPS backend (?:is )?not available/i,
    description: 'The accelerator (CUDA, ROCm, XPU, MPS, TPU) is absent, busy or not usable on this host.',
  },
  {
    name: 'accelerator-runtime-cannot-start',
    category: C.HW_AVAILABILITY,
    pattern: /No ba16c7433 device found|Unable to find driver in registry given worker|TPU initialization failed|Failed to get TPU metadata/,
    description: 'The accelerator runtime cannot start on this host (no TPU chip or TPU driver): no usable device here.',
  },
  {
    name: 'build-lacks-gpu-arch',
    category: C.HW_CAPABILITY,
    kind: 'validation',
    pattern:
      /no kernel image is available for execution|device kernel image is invalid|CUDA capability sm_\d+ is not compatible with the current PyTorch installation|cudaErrorNoKernelImageForDevice|CUDA_ERROR_NO_BINARY_FOR_GPU|invalid device function|Torch not compiled with CUDA enabled|Unsupported gpu architecture|hipErrorNoBinaryForGpu|No compatible code objects? found|HSA_STATUS_ERROR_INVALID_ISA|ptxas fatal\s*: Value 'sm_\d+\w*' is not defined|ptxas does not support CC/i,
    description: 'The binary was not compiled for this GPU architecture: fix the build, another host will not help.',
  },
  {
    name: 'gpu-compute-capability-too-low',
    category: C.HW_CAPABILITY,
    pattern:
      /only supports (?:Ampere|Hopper|Turing|Volta) GPUs or newer|only supported on GPUs with compute capability|requires? (?:a GPU with )?compute capability|compute capability [\d.]+ or (?:higher|newer|above) (?:is )?required|requires \.target sm_\d+ or higher|Target GPU SM \d+ is not supported|\bUnsupported SM\b|compute capability (?:of at least|[<>]=?|below)|need at least compute capability|CUDA capability [\d. ]+is not supported|Compute Capability is lower than|kernel requires [\d.]+ capability|which is of cuda capability [\d.]+|no longer supports this GPU because it is too old|(?:bf16|bfloat16) is not supported on|does not support (?:bf16|bfloat16|fp8|float8)|(?:bf16|bfloat16)[^\n]{0,60}requires[^\n]{0,60}supported device/i,
    description: 'The device is too old or too small for the code (compute capability, bf16, FlashAttention): needs newer hardware.',
  },
  {
    name: 'cuda-driver-too-old',
    category: C.HW_AVAILABILITY,
    pattern: /CUDA driver version is insufficient for CUDA runtime version|cudaErrorInsufficientDriver|unsatisfied condition: cuda ?>=|driver (?:on your system )?is too old/i,
    description: 'The host driver is older than the CUDA runtime needs.',
  },
  {
    name: 'stack-overflow-abort',
    category: C.CRASH,
    pattern: /has overflowed its stack|fatal runtime error: stack overflow|Fatal Python error: Cannot recover from stack overflow/,
    description: 'The process overflowed its stack and aborted: deterministic for the same input.',
  },
  {
    name: 'cpu-illegal-instruction',
    category: C.HW_CAPABILITY,
    pattern: /Illegal instruction(?: \(core dumped\))?[ \t]*$|illegal hardware instruction|CPU does not support (?:AVX|AVX2|AVX-512|SSE4)|requires? (?:a CPU with )?(?:AVX2?|AVX-512|AVX512)\b/im,
    description: 'SIGILL: the CPU lacks an instruction set (AVX, AVX2, AVX-512) the binary uses.',
  },

  // ── GPU memory. Names start with gpu-oom: placement moves the task to a bigger GPU. ──
  {
    name: 'exec-format-error',
    category: C.HW_CAPABILITY,
    kind: 'validation',
    pattern: /exec format error|no matching manifest for (?:linux|windows)\/\w+|does not match the detected host platform|image platform \([^)\n]{1,40}\) does not match the expected platform|cannot execute binary file/i,
    description: 'The image or binary was built for another CPU architecture (arm64 vs amd64): fix the build or the platform.',
  },
  {
    name: 'kernel-shared-memory-limit',
    category: C.HW_CAPABILITY,
    pattern: /\bOutOfResources\b|too many resources requested for launch|cudaErrorLaunchOutOfResources|out of resource: shared memory|Hardware limit: ?\d+/,
    description: 'A GPU kernel (Triton) needs more shared memory per block than this GPU has: a bigger GPU or smaller blocks.',
  },
  {
    name: 'cudnn-not-supported',
    category: C.HW_CAPABILITY,
    kind: 'validation',
    pattern: /CUDNN_STATUS_NOT_SUPPORTED|CUDNN_STATUS_ARCH_MISMATCH|CUBLAS_STATUS_ARCH_MISMATCH|CUBLAS_STATUS_NOT_SUPPORTED/,
    description: 'cuDNN/cuBLAS has no kernel for this configuration or architecture.',
  },
  {
    name: 'cpu-lacks-instruction-set',
    category: C.HW_CAPABILITY,
    pattern: /compiled to use (?:AVX\w*|SSE[\d.]*|FMA)[^\n]{0,40}instructions, but these aren't available|VT-x is not available|VERR_VMX_NO_VMX|AMD-V is (?:not available|disabled)|VERR_SVM_\w+|trap invalid opcode|(?<!an )\billegal instruction\b(?! was encountered)/i,
    description: 'The CPU lacks instructions the binary was built for (AVX/AVX2 on an old CPU or a VM that hides them).',
  },
  {
    name: 'device-op-unsupported',
    category: C.HW_CAPABILITY,
    kind: 'validation',
    pattern: /not (?:currently )?implemented for the '?(?:MPS|XPU|HIP|TPU)'? device|data type is unsupported on current platform|MPS framework doesn't support|(?:is )?not supported (?:on|by) (?:the )?(?:MPS|XPU|TPU)\b|not supported on this (?:device|GPU|platform)/,
    description: 'The software lacks an operation or dtype on this accelerator backend (MPS, XPU, TPU): a build or code change, like a binary without the architecture.',
  },
  {
    name: 'gpu-oom-pytorch',
    category: C.ALLOC,
    pattern: /CUDA out of memory/i,
    description: 'PyTorch caching allocator ran out of GPU memory ("CUDA out of memory. Tried to allocate ...").',
  },
  {
    name: 'gpu-oom-exception-type',
    category: C.ALLOC,
    exceptionTypes: ['torch.cuda.OutOfMemoryError', 'torch.OutOfMemoryError'],
    description: 'torch.cuda.OutOfMemoryError reported as the exception type.',
  },
  {
    name: 'gpu-oom-cuda-driver',
    category: C.ALLOC,
    pattern: /CUDA_ERROR_OUT_OF_MEMORY|cudaErrorMemoryAllocation|CUDA error: out of memory|cuda runtime error \(2\) : out of memory/i,
    description: 'The CUDA driver or runtime could not allocate device memory.',
  },
  {
    name: 'gpu-oom-cuda-library-alloc',
    category: C.ALLOC,
    pattern: /CUBLAS_STATUS_ALLOC_FAILED|CUDNN_STATUS_ALLOC_FAILED|CUFFT_ALLOC_FAILED|CUSOLVER_STATUS_ALLOC_FAILED/,
    description: 'cuBLAS/cuDNN could not allocate its workspace on the GPU.',
  },
  {
    name: 'host-oom-tensorflow-cpu',
    category: C.ALLOC,
    pattern: /OOM when allocating tensor[^\n]{0,300}device:CPU/,
    description: 'TensorFlow ran out of host memory allocating a tensor on the CPU.',
  },
  {
    name: 'gpu-oom-tensorflow',
    category: C.ALLOC,
    pattern: /OOM when allocating tensor|ResourceExhaustedError[^\n]{0,40}OOM/,
    description: 'TensorFlow ResourceExhaustedError: OOM when allocating tensor (GPU allocator).',
  },
  {
    name: 'gpu-oom-xla',
    category: C.ALLOC,
    pattern: /RESOURCE_EXHAUSTED:[^\n]{0,20}Out of memory|Resource exhausted: Out of memory|BufferAssignment OOM|bfc_allocator[^\n]{0,80}ran out of memory/i,
    description: 'XLA (JAX/TensorFlow) device allocator: "RESOURCE_EXHAUSTED: Out of memory while trying to allocate".',
  },

  // ── Host memory. Names start with host-oom: placement moves the task to a host with more memory. ──
  {
    name: 'gpu-oom-accelerator',
    category: C.ALLOC,
    pattern: /\b(?:HIP|ROCm|MPS|XPU|GPU|NPU|device) out of memory|hipErrorOutOfMemory|OUT_OF_DEVICE_MEMORY|out of memory on device|Failed to allocate (?:device|GPU) memory/i,
    description: 'Any other accelerator ran out of device memory (ROCm/HIP, Apple MPS, Intel XPU/Level Zero): a bigger GPU.',
  },
  {
    name: 'host-oom-kernel-killer',
    category: C.ALLOC,
    pattern:
      /Out of memory: Kill(?:ed)? process|\boom-kill:|invoked oom-killer|Memory cgroup out of memory|Memory cgroup stats for|\bOOMKilled\b(?!"?:? ?false)|\bOOM Killed\b|systemd-oomd|\boom_reaper\b|Killed process \d+ \(|killed due to (?:memory pressure|the node running low on memory)|exceeding memory limits|[Ee]xceeded (?:job |step )?memory limit|Memory required by task is not available/,
    description: 'The Linux OOM killer (or a cgroup limit) killed the process.',
  },
  {
    name: 'host-oom-killed-sigkill',
    category: C.ALLOC,
    pattern: /Killed[ \t]*$|\b\d+ Killed[ \t]{2,}\S/m,
    exitCodes: [137],
    description: 'A shell reports "Killed" (alone, or `<pid> Killed  <command>` from a script) with exit 137: SIGKILL, almost always the OOM killer.',
  },
  {
    name: 'host-oom-python-memoryerror',
    category: C.ALLOC,
    pattern: /\b(?:_Array)?MemoryError\b|Unable to allocate [\d.]+ ?[KMGTPE]i?B for an array/i,
    description: 'Python MemoryError / numpy "Unable to allocate N GiB for an array".',
  },
  {
    name: 'host-oom-exception-type',
    category: C.ALLOC,
    exceptionTypes: ['MemoryError', '_ArrayMemoryError'],
    description: 'MemoryError reported as the exception type.',
  },
  {
    name: 'runtime-heap-limit',
    category: C.ALLOC,
    pattern: /JavaScript heap out of memory|Reached heap limit|Ineffective mark-compacts near heap limit|java\.lang\.OutOfMemoryError|Java heap space|GC overhead limit exceeded/,
    description: 'A managed runtime hit its heap limit (V8 --max-old-space-size, JVM -Xmx): more memory or a higher limit.',
  },
  {
    name: 'evicted-low-on-resource',
    category: C.ALLOC,
    pattern: /The node was low on resource|\bReason:\s+Evicted\b/,
    description: 'Kubernetes evicted the pod because the node ran low on memory or disk.',
  },
  {
    name: 'shared-memory-exhausted',
    category: C.ALLOC,
    pattern:
      /out of shared memory|insufficient shared memory|raise your shared memory limit|\/dev\/shm[^\n]{0,120}(?:No space left|is full|too small)/i,
    description: 'POSIX shared memory (/dev/shm, often a small container default) ran out, typically under data-loader workers; it surfaces as SIGBUS.',
  },
  {
    name: 'out-of-memory-generic',
    category: C.ALLOC,
    pattern: /Cannot allocate memory|\bENOMEM\b|std::bad_alloc|\bout of memory\b|GC heap initialization failed/i,
    description: 'Some allocator ran out of memory (host or device, not stated).',
  },
  {
    name: 'disk-full',
    category: C.ALLOC,
    pattern: /No space left on device|\bENOSPC\b/i,
    description: 'The file system is full (ENOSPC).',
  },
  {
    name: 'disk-quota-exceeded',
    category: C.ALLOC,
    pattern: /Disk quota exceeded|\bEDQUOT\b/i,
    description: 'The user or project disk quota is exhausted.',
  },
  {
    name: 'read-only-file-system',
    category: C.ALLOC,
    pattern: /Read-only file system|\bEROFS\b/,
    description: 'The workspace file system is read-only (often remounted read-only after disk errors).',
  },
  {
    name: 'too-many-open-files',
    category: C.ALLOC,
    pattern: /\bEMFILE\b|\bENFILE\b|Too many open files/i,
    description: 'File descriptor limit reached.',
  },

  // ── Deterministic GPU faults: the same input will fail the same way. ──
  {
    name: 'out-of-memory-exception-hierarchy',
    category: C.ALLOC,
    pattern:
      /(?<!On)OutOfMemory|\bOOM (?:command|when|error|while)|OUT_OF_(?:DEVICE_|HOST_)?MEMORY\b|\bhipErrorOutOfMemory\b|Failed to allocate (?:memory|request for)|could not be allocated|not enough (?:free )?memory|No available memory for the cache blocks|maximum number of tokens that can be stored in KV cache|ObjectStoreFullError|object store is full|over \d+% (?:full|of the memory)|More than \d+% of the memory|used memory > '?maxmemory|Dst tensor is not initialized|Failed to get convolution algorithm|Metaspace\b|OUT_OF_RESOURCES\b|memory allocation error|\bout_of_memory\b|CircuitBreakingException|circuit_breaking_exception|exceeded \d+% memory budget|Blas \w+ launch failed|fork(?:: retry)?: Resource temporarily unavailable|[Cc]annot fork|pthread_create failed|can't start new thread|\[Errno 12\]|inotify (?:watch|instance)|max_user_(?:watches|instances)|user limit on the total number of inotify|\boom[_-]kill event/,
    description: 'Any *OutOfMemoryError / OOM / "failed to allocate" from any runtime or library (XPU, HIP, TensorRT, ONNX Runtime, Ray, Redis, JVM).',
  },
  {
    name: 'walltime-limit-exceeded',
    category: C.ALLOC,
    kind: 'resource',
    pattern: /job killed: walltime \d+ exceeded limit|CANCELLED AT \S+ DUE TO TIME LIMIT|exceeded (?:its )?wall ?clock(?: time)? limit|due to wall clock limit|TERM_RUNLIMIT|walltime exceeded/i,
    description: 'The batch scheduler killed the job at its walltime (PBS/Moab walltime, LSF run limit, HTCondor wall clock): it needs a longer allocation.',
  },
  {
    name: 'launcher-not-enough-slots',
    category: C.ALLOC,
    pattern: /not enough slots available in the system|not enough (?:free )?slots to satisfy|requested more (?:slots|processes) than (?:are )?available/,
    description: 'The launcher (mpirun and the like) has fewer slots than the job asks for.',
  },
  {
    name: 'request-quota-exhausted',
    category: C.OVERLOAD,
    pattern: /exceeded (?:its|your|the) (?:requests?|rate|daily|API) (?:quota|limit)|\b(?:daily|user)?[Rr]ate[Ll]imitExceeded\b|dailyLimitExceeded|RequestLimitExceeded|Request limit exceeded|(?:has been|request has been|was) throttled\b/,
    description: 'A service refused the request for its rate or request quota (API quota exceeded, request limit, throttled): retry later, more slowly.',
  },
  {
    name: 'scheduler-insufficient-resources',
    category: C.ALLOC,
    pattern:
      /Insufficient (?:cpu|memory|ephemeral-storage|pods)\b|node had condition: \[(?:Disk|Memory|PID)Pressure\]|(?:Disk|Memory|PID)Pressure[^\n]{0,12}\bTrue\b|ZONE_RESOURCE_POOL_EXHAUSTED|does not have enough resources available|QUOTA_EXCEEDED|Quota '[\w_]+' exceeded|No available node types can fulfill resource request|could not find a node type to satisfy the request|InsufficientInstanceCapacity|insufficient capacity|not able to persist on disk|SkuNotAvailable|AllocationFailed/,
    description: 'The scheduler or the cloud has no CPU, memory or disk to give (insufficient cpu/memory, node pressure, quota or zone stock-out).',
  },
  {
    name: 'scheduler-no-eligible-node',
    category: C.HW_AVAILABILITY,
    pattern: /\b\d+\/\d+ nodes are available: |node\(s\) had (?:untolerated )?taints?\b|node\(s\) (?:didn't match|were unschedulable)|PodToleratesNodeTaints|All nodes of label [^\n]{0,80} are offline|There are no nodes with the label|waiting for pod running: timed out|timed out waiting for pod to start|[Tt]he pod did not start (?:on time|in \d+)|InstanceLimitExceeded|Your quota allows for 0 more/,
    description: 'No node can take the job now (taints, selectors, cordoned or failed nodes, pod never scheduled, no instance quota): another pool or later.',
  },
  {
    name: 'cuda-device-side-assert',
    category: C.CRASH,
    pattern: /device-side assert triggered|cudaErrorAssert\b/,
    description: 'A CUDA kernel assertion fired (typically an out-of-range index).',
  },
  {
    name: 'cuda-illegal-memory-access',
    category: C.CRASH,
    pattern: /illegal memory access was encountered|cudaErrorIllegalAddress|hipErrorIllegalAddress|an illegal instruction was encountered|cudaErrorIllegalInstruction|Memory access fault by GPU node|HSA_STATUS_ERROR_(?:MEMORY_APERTURE_VIOLATION|EXCEPTION)|CUDA_ERROR_ILLEGAL_ADDRESS|misaligned address|unspecified launch failure/i,
    description: 'A CUDA kernel accessed invalid memory.',
  },
  {
    name: 'cuda-library-execution-failed',
    category: C.CRASH,
    pattern: /CUBLAS_STATUS_EXECUTION_FAILED|CUBLAS_STATUS_INTERNAL_ERROR|CUDNN_STATUS_EXECUTION_FAILED|CUDNN_STATUS_INTERNAL_ERROR/,
    description: 'A cuBLAS/cuDNN kernel failed to execute.',
  },

  // ── Crashes that name their cause; specific framework messages before generic signals. ──
  {
    name: 'jvm-fatal-error',
    category: C.CRASH,
    pattern: /A fatal error has been detected by the Java Runtime Environment|# Problematic frame:|\bhs_err_pid\d*|SIGSEGV \(0xb\) at pc=/,
    description: 'The JVM crashed (hs_err file): a native crash, deterministic.',
  },
  {
    name: 'container-killed-137',
    category: C.CRASH,
    kind: 'resource',
    pattern: /Exit ?Code:?\s*137\b|"exitCode"\s*:\s*137\b|Reason:\s+OOMKilled|exit code 137\b|exit value 137\b|Docker Container: 137\b/i,
    description: 'A container or pod ended with exit code 137 (SIGKILL) and no stated cause: memory limit or eviction, another host may succeed.',
  },
  {
    name: 'kernel-segfault-line',
    category: C.CRASH,
    pattern: /\bsegfault at [0-9a-f]+ ip\b|\*\*\*Exception: SegFault|Failed to write core dump|state: DEAD\b|Internal Error \(Assertion|Last State:\s+Terminated\s+Reason:\s+Error|Execution default-test of goal [^\n]{0,160}failed|The forked VM terminated without properly saying goodbye|sending SIGSEGV to|general protection(?: fault)? ip:/,
    description: 'The kernel logged a process segfault.',
  },
  {
    name: 'crash-loop',
    category: C.CRASH,
    pattern: /CrashLoopBackOff|Back-off \d+\w* restarting failed container|Start request repeated too quickly|start-limit-hit|hold-off time over, scheduling restart/,
    description: 'The container or unit keeps crashing and is restarted in a loop (Kubernetes CrashLoopBackOff, systemd start limit).',
  },
  {
    name: 'ray-worker-died',
    category: C.CRASH,
    kind: 'resource',
    pattern: /worker process has died|Worker unexpectedly exits/i,
    description: 'Ray reports the worker process died (SIGKILL/OOM-killer is the usual cause).',
  },

  // ── Teardown after the work: errors of releasing what the run held, whatever they name. ──
  {
    name: 'cuda-teardown-after-driver-unload',
    category: C.CLEANUP,
    pattern: /driver shutting down|cudaErrorCudartUnloading|CUDA_ERROR_DEINITIALIZED/,
    description: 'CUDA calls made while the process exits (the runtime already unloaded): frees and destroys at teardown, not a GPU fault.',
  },
  {
    name: 'destructor-or-finaliser-failed',
    category: C.CLEANUP,
    pattern: /Exception ignored in:? <(?:function|bound method) [\w.<>]+\.__del__|\b(?:Error|error|failed)[^\n]{0,160}::~\w+|::~\w+[^\n]{0,160}(?:Error|failed)/,
    description: 'A destructor or finaliser failed (a Python __del__, a C++ ~Object): releasing what the run held went wrong, usually in the wrong order.',
  },
  {
    name: 'lock-held-by-another-process',
    category: C.CLEANUP,
    pattern: /Could not get lock \S+\. It is held by process|user data directory is already in use|Only one copy of \w+ should be run against|\bis locked by another process|can't lock file '[^'\n]{1,200}' - got timeout|lock (?:file )?(?:is )?(?:still )?held by (?:another )?process/i,
    description: 'A lock that another (often stale or leftover) process holds: the package manager, the VM manager, a build tool.',
  },
  {
    name: 'pod-kill-failed',
    category: C.CLEANUP,
    pattern: /\bFailedKillPod\b|error killing pod|failed to "Kill(?:PodSandbox|Container)"|KillPodSandboxError|failed to "StopPodSandbox"/,
    description: 'The kubelet could not kill or tear down a pod or container (whatever the runtime call it waited on said).',
  },
  {
    name: 'removal-refused-in-use',
    category: C.CLEANUP,
    pattern: /(?:volume|container|image|network) is (?:in use|being used)|error unmounting|while attempting to delete storage|failed to shutdown shim|EPERM: operation not permitted, (?:rename|unlink|rmdir|scandir)|unable to (?:recursively )?delete path [^\n]{1,300}: AccessDenied|\b_rmtree_unsafe\b|onerror\(os\.(?:unlink|rmdir|remove)|has active endpoints|failed to rename [^\n]{0,200}(?:AccessDenied|Access is denied)|\[WinError 5\] Access is denied: '[^'\n]*\\(?:Temp|tmp)\\/i,
    description: 'Removing a volume, container or file was refused because something still holds it.',
  },

  // ── The worker or its host went away. ──
  {
    name: 'ci-agent-offline',
    category: C.DISCONNECTION,
    pattern:
      /(?:Agent|Slave) went offline during the build|ChannelClosedException|Backing channel [^\n]{0,160} is disconnected|lost communication with the server|runner has received a shutdown signal|org\.jenkinsci\.remoting|JNLP4-connect connection|We stopped hearing from agent|agent did not renew the lock/i,
    description: 'The CI agent/runner lost its connection to the controller mid-build.',
  },
  {
    name: 'nccl-heartbeat-monitor-timeout',
    category: C.TIMEOUT,
    pattern: /Heartbeat monitor timed out/,
    description: "ProcessGroupNCCL's heartbeat monitor: the watchdog itself stopped making progress (a hung collective), not a lost worker.",
  },
  {
    name: 'heartbeat-timeout',
    category: C.DISCONNECTION,
    pattern: /heartbeat[^\n]{0,100}time(?:d ?)?out|TIMEOUT_TYPE_HEARTBEAT|missed (?:too many )?heartbeats?|failed to heartbeat(?![^\n]{0,200}connection refused)|no heartbeat (?:received|from)|lack of heartbeat/i,
    description: 'The worker stopped heartbeating (Temporal heartbeat timeout: the worker died or stalled).',
  },
  {
    name: 'cluster-node-lost',
    category: C.DISCONNECTION,
    pattern:
      /Lost all workers|node (?:has )?(?:crashed|died|been marked (?:as )?dead)|\((?:Agent|agent) [Ll]ost\)|\bAgent [Ll]ost\b|\bJob disconnected\b|disconnected: (?:not connected to DevTools|Unable to receive message from renderer)|\bDetected zombie job\b|Marked zombie job|has been blacklisted|No reply from server in \d+s|\bwas marked offline\b|Daemon process terminated and closed the connection|Could not connect to [\w ]{0,20}compile daemon|Disconnected \(\d+ times?\)|reconnect failed before timeout|SessionExpiredException|KeeperErrorCode = (?:Session expired|ConnectionLoss)|have not heard from server in \d+|\bis lost since its node is down|Failed to check the "should dump" flag on TCPStore|received errors while waiting for send\/recv from rank|\bNodeLost\b|stream closed to scheduler|lost connection to (?:the )?(?:scheduler|coordinator|controller|master|head node)/i,
    description: 'The scheduler lost the node or the worker lost the scheduler.',
  },
  {
    name: 'worker-lost-contact',
    category: C.DISCONNECTION,
    pattern:
      /Removing worker [^\n]{0,120}(?:caused the cluster to lose|lost|closing)|failed to heartbeat|unable to send heartbeats?|no recent heartbeats|[Ll]ost (?:its )?connection to (?:the )?(?:worker|driver|nanny|agent|runner)\b|lost communication with the server|\b(?:worker|executor|agent|runner|node|daemon)s? (?:[\w.:/-]+ )?(?:has )?(?:disconnected|went away|became unreachable|is unreachable|has left the cluster)\b|\bLost executor \d+|\bExecutorLostFailure\b|Issue communicating with driver/,
    description: 'A worker, executor, agent or runner lost contact with its coordinator (missed heartbeats, disconnected, removed), in any scheduler.',
  },
  {
    name: 'node-not-ready',
    category: C.DISCONNECTION,
    pattern: /NodeStatusUnknown|Kubelet stopped posting node status|node\.kubernetes\.io\/unreachable|\bNotReady\b|Lost executor \d+|ExecutorLostFailure|\bexecutor lost\b|Rpc client disassociated|\bKilledWorker\b|[Ww]orker (?:tcp:\/\/\S+ )?(?:has been )?lost\b|ORTE has lost communication|lost connection to (?:peer|the daemon|a remote)|Connection to the Ray cluster was lost|raylet (?:has )?died|GCS may have been killed|Horovod has been shut down|Could not (?:dispatch|receive) a message (?:to|from) the daemon|Server terminated abruptly|NODE_FAIL\b|Node failure on|DUE TO NODE FAILURE/,
    description: 'A node or worker of the cluster went away (Kubernetes NotReady, Spark executor lost, Dask worker lost, MPI/Ray peers lost).',
  },
  {
    name: 'node-preempted',
    category: C.DISCONNECTION,
    pattern:
      /\b(?:was|been|being|got) preempted\b|due to a preemption|DUE TO PREEMPTION|spot instance (?:was )?(?:terminated|interrupted|reclaimed)|Spot Instance (?:interruption|termination)|Host EC2 (?:instance )?Terminated|\binstance[- ]terminated\b|preemption notice/i,
    description: 'The machine was preempted or reclaimed (spot/preemptible VM, scheduler preemption): retry elsewhere.',
  },

  {
    name: 'shared-library-cannot-open',
    category: C.DEPENDENCY,
    pattern: /cannot open shared object file: No such file or directory|because the SSL module is not available/,
    description: 'A shared library is not installed: named before the abort or segfault that it causes.',
  },

  // ── Crash signals in text. ──
  {
    name: 'process-pool-worker-died',
    category: C.CRASH,
    pattern: /BrokenProcessPool|terminated abruptly while the future was running/,
    description: 'A worker process of a Python process pool died abruptly (a native crash or a kill).',
  },
  {
    name: 'segmentation-fault',
    category: C.CRASH,
    pattern: /Segmentation fault|segmentation violation|signal 11\b|:\s?SIGSEGV\)|received signal SIGSEGV|\[signal (?:SIGSEGV|0xb)\b|(?:exit ?code|return ?code|exit status)[:= ]{1,3}-11\b/i,
    description: 'SIGSEGV: a deterministic native crash (segfault on import, bad extension build).',
  },
  {
    name: 'floating-point-exception',
    category: C.CRASH,
    pattern: /Floating point exception|\bSIGFPE\b|Arithmetic exception/,
    description: 'SIGFPE named in the output: an arithmetic fault in native code (division by zero), deterministic.',
  },
  {
    name: 'address-sanitizer-error',
    category: C.CRASH,
    pattern: /==\d+==ERROR: AddressSanitizer: (?!.*leak)|ERROR: AddressSanitizer: (?:heap|stack|global|SEGV|use-after|double-free|attempting)/,
    description: 'AddressSanitizer found a memory error (overflow, use after free, SEGV): a deterministic bug in native code.',
  },
  {
    name: 'native-panic-surfaced',
    category: C.CRASH,
    pattern: /\bpyo3_runtime\.PanicException\b|\bPanicException: /,
    description: 'A Rust extension panicked and the panic surfaced in Python (pyo3 PanicException): a deterministic bug.',
  },
  {
    name: 'runtime-internal-error',
    category: C.CRASH,
    pattern: /Internal CLR error|\bExecutionEngineException\b|\[trap\] out of bounds memory access|\bwasm trap\b|RuntimeError: unreachable executed/,
    description: 'A managed or WebAssembly runtime failed inside itself (CLR internal error, wasm trap): a deterministic crash.',
  },
  {
    name: 'go-runtime-fatal-signal',
    category: C.CRASH,
    pattern: /unexpected signal during runtime execution/,
    description: 'The Go runtime caught a fatal signal.',
  },
  {
    name: 'bus-error',
    category: C.CRASH,
    kind: 'resource',
    pattern: /\bBus error\b|\bSIGBUS\b|by signal[ :"']{0,3}7\b|(?:exit ?code|return ?code|exit status)[:= ]{1,3}-7\b/i,
    description: 'SIGBUS: usually a truncated mmap or exhausted /dev/shm on this host rather than a code bug (same as exit 135).',
  },
  {
    name: 'aborted-core-dumped',
    category: C.CRASH,
    pattern: /Aborted \(core dumped\)|\(core dumped\)|\bSIGABRT\b|by signal[ :"']{0,3}(?:6\b|Aborted\b)|(?:exit ?code|return ?code|exit status)[:= ]{1,3}-6\b/i,
    description: 'SIGABRT or another core dump: a deterministic abort.',
  },
  {
    name: 'killed-by-sigkill',
    category: C.CRASH,
    kind: 'resource',
    pattern: /(?:failed|killed|terminated|exited|interrupted) (?:with|by|on) signal[ :"']{0,3}(?:9\b|SIGKILL|KILL\b|Killed\b)|(?:exit ?code|return ?code|exit status)[:= ]{1,3}-9\b|code=killed, status=9\/KILL/i,
    description: 'SIGKILL named in the output (OOM killer or a supervisor): another host may succeed.',
  },
  {
    name: 'terminated-by-sigterm',
    category: C.DISCONNECTION,
    pattern: /got signal: 15\b|Received 15 death signal|closing signal SIGTERM|(?:killed|terminated|interrupted) by signal[ :"']{0,3}(?:15\b|SIGTERM|Terminated\b)|(?:exit ?code|return ?code|exit status)[:= ]{1,3}-15\b/i,
    description: 'SIGTERM from outside: the worker is being shut down or preempted.',
  },
  {
    name: 'interrupted-sigint',
    category: C.DISCONNECTION,
    pattern: /^KeyboardInterrupt\b/m,
    description: 'KeyboardInterrupt / SIGINT: the run was interrupted from outside.',
  },
  {
    name: 'interrupted-exception-type',
    category: C.DISCONNECTION,
    exceptionTypes: ['KeyboardInterrupt'],
    description: 'KeyboardInterrupt reported as the exception type.',
  },

  // ── Backpressure from a service: back off, honour Retry-After. Before network rules: a 503 is a reply, not a broken link. ──
  {
    name: 'message-size-limit',
    category: C.CONFIGURATION,
    pattern: /(?:Received|received|Sent|sent) message larger than max/,
    description: 'gRPC refused a message over its size limit: a channel option to raise, not a busy server.',
  },
  {
    name: 'test-worker-crashed',
    category: C.CRASH,
    pattern: /node down: Not properly terminated|[Rr]eplacing crashed worker|worker \w+ crashed|Test host process crashed|The active test run was aborted|AsyncEngineDeadError|EngineDeadError|Fatal Python error|host process exited unexpectedly/,
    description: 'A test worker or engine process died (pytest-xdist node down, .NET test host crashed, vLLM engine dead).',
  },
  {
    name: 'build-daemon-died',
    category: C.CRASH,
    kind: 'resource',
    pattern: /Jest worker encountered \d+ child process exceptions|DataLoader worker [^\n]{0,40} exited unexpectedly|Call retries were exceeded|daemon disappeared unexpectedly|daemon has disappeared|Killed signal terminated program|terminated with signal 9|^\[\d+\]\s+\d+ killed\s/m,
    description: 'A worker or build daemon was killed from outside (usually memory): Jest child processes, the Gradle daemon, cc1plus.',
  },
  {
    name: 'port-still-bound',
    category: C.CLEANUP,
    pattern: /[Aa]ddress already in use|\bAddress in use\b|java\.net\.BindException|Only one usage of each socket address|Port \d+ was already in use|couldn'?t bind [^\n]{0,40}socket|\[Errno 98\]|\bEADDRINUSE\b|port is already allocated|bind: address already in use/,
    description: 'The port is still bound by a previous or concurrent run on this host (EADDRINUSE): free it or pick another.',
  },
  {
    name: 'volume-still-attached',
    category: C.CLEANUP,
    pattern: /Multi-Attach error for volume|already exclusively attached to one node|Volume is already used by pod/,
    description: 'A volume is still attached to the old node or pod (Kubernetes Multi-Attach): the previous user has not released it.',
  },
  {
    name: 'open-handles-after-run',
    category: C.CLEANUP,
    pattern: /did not exit one second after the test run|--detectOpenHandles|A worker process has failed to exit gracefully/,
    description: 'The runner cannot exit because the tests left handles open (timers, sockets, workers): cleanup of what the run opened.',
  },
  {
    name: 'ci-job-time-limit',
    category: C.TIMEOUT,
    pattern: /didn't output anything for \d+ minutes|exceeded the maximum execution time|execution took longer than|Too long with no output|No output has been received in the last|There was a timeout in the fork|has timed out after \d+ minutes/,
    description: 'The CI runner stopped the job at its time or no-output limit: a command timeout.',
  },
  {
    name: 'proxy-connect-failed',
    category: C.CONNECTION,
    pattern: /Cannot connect to proxy|Tunnel connection failed|\bProxyError\b|proxy (?:connect(?:ion)? )?(?:refused|failed|error)|Unable to connect to (?:the )?proxy|Received HTTP code \d+ from proxy after CONNECT/i,
    description: 'The HTTP(S) proxy could not be reached or refused the tunnel: a connection failure, even when the proxy said 503.',
  },
  {
    name: 'http-429-too-many-requests',
    category: C.OVERLOAD,
    pattern: /Too Many Requests|HTTP\/\d(?:\.\d)? 429\b|HTTP 429\b|code: 429\b|\b429 (?:Client Error|CLOUDFLARE)|status(?: code)?[ :=]{1,3}429\b/i,
    description: 'HTTP 429 Too Many Requests.',
  },
  {
    name: 'rate-limited',
    category: C.OVERLOAD,
    pattern: /rate[ -]?limit(?:ed|ing)?\b[^\n]{0,40}(?:exceeded|reached|hit)|throughput too high\. backoff and retry|exceeded the [^\n]{0,40}rate limit|\brate limited\b|(?:reached|exceeded|hit) (?:your |the |a )?[\w ]{0,20}rate limit|\btoomanyrequests\b|\bRetry-After\b|auth rate exceeded|throttled by (?:the )?(?:server|service|API)/i,
    description: 'A rate limit was exceeded.',
  },
  {
    name: 'service-overloaded',
    category: C.OVERLOAD,
    pattern:
      /\b503\b[^\n]{0,80}(?:overload|capacity|Service Unavailable|Unavailable)|Service (?:Temporarily )?Unavailable|server (?:is )?overloaded|model is overloaded|(?:is )?at capacity\b|capacity problems|No server is available to handle this request|HTTPStatus\.SERVICE_UNAVAILABLE|"code": ?503\b|no slots available after \d+ retries/i,
    description: 'HTTP 503 or an explicit "overloaded / at capacity" reply.',
  },
  {
    name: 'grpc-resource-exhausted',
    category: C.OVERLOAD,
    pattern: /RESOURCE_EXHAUSTED|StatusCode\.RESOURCE_EXHAUSTED|StatusCode=ResourceExhausted|Resource has been exhausted/,
    description: 'gRPC RESOURCE_EXHAUSTED: quota or server-side limit.',
  },
  {
    name: 'queue-full',
    category: C.OVERLOAD,
    pattern: /queue (?:is )?full|too many pending (?:requests|tasks)|backlog (?:is )?full/i,
    description: 'A server-side queue is full.',
  },

  // ── Network. Timeouts first: "connect ETIMEDOUT" is a timeout, not a refused connection. ──
  {
    name: 'cloud-throttling',
    category: C.OVERLOAD,
    pattern:
      /\bThrottling(?:Exception)?\b|Rate exceeded|\bSlowDown\b|\bServerBusy\b|server is busy|busier than usual|too many clients|max number of clients reached|MaxStartups|remaining connection slots are reserved|Quota exceeded for quota metric|(?:requests?|calls?|queries|tokens) per (?:minute|second|day)|\bRequestLimitExceeded\b|TooManyRequests|ProvisionedThroughputExceeded|(?:user)?[Rr]ateLimitExceeded|\b(?:HTTP|status|code|error|Error)[ :]{0,3}503\b|\b503 (?:Server Error|Service)|Backend is unhealthy/,
    description: 'A service throttles or is busy (AWS Throttling/SlowDown, GCP rateLimitExceeded, Azure ServerBusy, database connection slots, HTTP 503).',
  },
  {
    name: 'collective-stall',
    category: C.TIMEOUT,
    pattern: /waiting for (?:the )?remainder of ranks|\b[Ss]talled ranks:|ranks? (?:have|has) not (?:yet )?(?:joined|submitted|reached)\b/,
    description: 'A collective waits on ranks that never join (Horovod stall inspector and the like): a timeout, the peers are late.',
  },
  {
    name: 'nccl-watchdog-timeout',
    category: C.TIMEOUT,
    pattern: /Watchdog caught collective operation timeout|watchdog got stuck|collective operation timeout|NCCL[^\n]{0,60}timed out/i,
    description: 'A NCCL collective did not finish in time (a rank hung or the interconnect stalled).',
  },
  {
    name: 'collective-peer-exited',
    category: C.DISCONNECTION,
    pattern: /remote process exited|communicator was aborted|NCCL communicator [^\n]{0,60}aborted|failed to connect to (?:testhost|vstest\.console) process|Some NCCL operations have failed or timed out/,
    description: 'A peer of the job went away (NCCL remote process exited, the .NET test host lost its console).',
  },
  {
    name: 'nccl-system-error',
    category: C.CONNECTION,
    pattern: /unhandled system error|ncclSystemError|ncclRemoteError|NCCL WARN NET\/|NCCL error[^\n]{0,80}remote process exited/i,
    description: 'NCCL failed a socket/IB system call or lost a peer.',
  },
  {
    name: 'grpc-deadline-exceeded',
    category: C.TIMEOUT,
    pattern: /DEADLINE_EXCEEDED|Deadline Exceeded|deadline exceeded after/i,
    description: 'gRPC DEADLINE_EXCEEDED.',
  },
  {
    name: 'connect-etimedout',
    category: C.TIMEOUT,
    pattern: /\bETIMEDOUT\b|Connection timed out|\bESOCKETTIMEDOUT\b/,
    description: 'Connecting or reading timed out at the socket level.',
  },
  {
    name: 'read-timeout',
    category: C.TIMEOUT,
    pattern: /Read timed out|ReadTimeout(?:Error)?\b|ConnectTimeout(?:Error)?\b|read operation timed out|socket\.timeout/,
    description: 'HTTP client read or connect timeout (requests/urllib3).',
  },
  {
    name: 'timeout-generic',
    category: C.TIMEOUT,
    pattern: /Request timed out|operation timed out|\btimed out after\b|gateway time-?out|\b504\b[^\n]{0,20}Gateway/i,
    description: 'Some request timed out.',
  },
  {
    name: 'timeout-exception-type',
    category: C.TIMEOUT,
    exceptionTypes: ['TimeoutError', 'ReadTimeout', 'ConnectTimeout', 'ReadTimeoutError', 'timeout'],
    description: 'A timeout reported as the exception type.',
  },
  {
    name: 'teardown-leak',
    category: C.CLEANUP,
    pattern: /destroy_process_group\(\) was not called|UnmountVolume\.TearDown failed|is currently in use by another process|In use by another client|could not be reset|Unclosed (?:client session|connector)|\(rm_rf\)|Process Group destroyed|process group has NOT been destroyed|failed to exit gracefully and has been force exited|[Tt]eardown timeout|ResourceWarning: unclosed|did not exit cleanly|State '(?:stop|final)[\w-]*' timed out|Stopping timed out|Processes still around after SIGKILL|Timeout waiting to lock|[Oo]pen handles? (?:potentially )?keeping Jest from exiting|Jest has detected the following \d+ open handles?/,
    description: 'Something a run created was not torn down (process group, worker processes, open files, semaphores).',
  },
  {
    name: 'connection-refused',
    category: C.CONNECTION,
    pattern: /\bECONNREFUSED\b|Connection refused|ConnectionRefusedError|actively refused/i,
    description: 'Nothing listened at the address (ECONNREFUSED).',
  },
  {
    name: 'assertion-retried-until-timeout',
    category: C.EXECUTION,
    pattern: /Timed out retrying(?: after \d+ ?ms)?: (?:[Ee]xpected|[Nn]ot|\w+ (?:expected|to be))|AssertionError: Timed out retrying/,
    description: 'A browser-test assertion (Cypress) kept failing until its retry timeout: a test failure, not a slow network.',
  },
  {
    name: 'ssh-auth-rejected',
    category: C.CONFIGURATION,
    pattern: /Permission denied \((?:publickey|password|keyboard-interactive)|Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/,
    description: 'SSH rejected the key or the host key: the credentials or known_hosts must change (even when a wrapper reports "failed to connect").',
  },
  {
    name: 'timeout-hierarchy',
    category: C.TIMEOUT,
    pattern:
      /Timeout(?:Error|Exception)\b|\b[Tt]imed? [Oo]ut\b|_TIMEOUT\b|status[ =:]{1,3}504\b|failed to pass monitoredBarrier|No available shared memory broadcast block|DUE TO TIME LIMIT|(?<![\w.-])(?:Timeout(?![\w=,-]|\._)|timeout(?![\w=),-]))(?!\s*=)|(?<![\w-])TIMEOUT(?![\w=])|Timeout Error|"grpc_status":4\b|waiting for remaining ranks|\bstall(?:ed)? (?:inspector|detected)|has been waiting for|before timing out|within \d+ (?:milli)?seconds/,
    description: 'Any *TimeoutError, "timed out" or "timeout" not recognised above: something did not answer in time.',
  },
  {
    name: 'connection-reset',
    category: C.CONNECTION,
    pattern: /\bECONNRESET\b|Connection reset by (?:remote )?peer|ConnectionResetError|socket hang up|Connection aborted|\bECONNABORTED\b/i,
    description: 'The peer reset or aborted the connection (ECONNRESET, socket hang up).',
  },
  {
    name: 'broken-pipe',
    category: C.CONNECTION,
    pattern: /Broken pipe|BrokenPipeError|\bEPIPE\b/,
    description: 'Writing to a closed connection or pipe.',
  },
  {
    name: 'dns-resolution-failure',
    category: C.CONNECTION,
    pattern:
      /Temporary failure in name resolution|Temporary failure resolving '|Name or service not known|nodename nor servname provided|\bEAI_AGAIN\b|\bENOTFOUND\b|getaddrinfo (?:failed|EAI_\w+|ENOTFOUND)|Could not resolve host|failed to lookup address|UnknownHostException|Unable to resolve host|No address associated with hostname|gethostbyname/i,
    description: 'DNS lookup failed.',
  },
  {
    name: 'tls-material-invalid',
    category: C.CONFIGURATION,
    pattern: /key values mismatch|PEM routines|no start line|cannot load certificate|error setting private key|SSL_CTX_use_(?:PrivateKey|certificate)\w*/,
    description: 'The local certificate or key files are malformed or do not match: configuration, not the network.',
  },
  {
    name: 'certificate-chain-invalid',
    category: C.CONNECTION,
    pattern: /\bx509: (?:certificate|cannot validate|failed to load)|PKIX path (?:building|validation) failed|SSLHandshakeException|CertPathValidatorException|unable to find valid certification path|certificate (?:has )?expired|certificate is not (?:yet )?valid|The remote certificate is invalid|AuthenticationException: The SSL connection could not be established|SSL_connect|unknown certificate authority|certificate signed by unknown authority/i,
    description: 'The server certificate does not verify (Go x509, Java PKIX, .NET SslStream), in any runtime.',
  },
  {
    name: 'dns-lookup-no-such-host',
    category: C.CONNECTION,
    pattern: /\blookup [\w.-]+(?: on [\d.:\[\]a-f]+)?: no such host|dial tcp: lookup [\w.-]+|\bno such host\b|No such host is known|server misbehaving/i,
    description: 'Go and .NET spellings of a failed DNS lookup.',
  },
  {
    name: 'tls-failure',
    category: C.CONNECTION,
    pattern:
      /CERTIFICATE_VERIFY_FAILED|certificate verify failed|unable to get local issuer certificate|SSL certificate problem|self[- ]signed certificate|TLS handshake (?:timeout|failed|error)|SSL(?:Error|_ERROR_\w+)|wrong version number/i,
    description: 'TLS handshake or certificate verification failed.',
  },
  {
    name: 'grpc-unavailable',
    category: C.CONNECTION,
    pattern: /\b14 UNAVAILABLE\b|StatusCode\.UNAVAILABLE|StatusCode="Unavailable"|\bUNAVAILABLE: |failed to connect to all addresses|\(UNAVAILABLE\)/,
    description: 'gRPC UNAVAILABLE: could not reach the server.',
  },
  {
    name: 'network-unreachable',
    category: C.CONNECTION,
    pattern: /Network is unreachable|No route to host|Destination is unreachable|\bENETUNREACH\b|\bEHOSTUNREACH\b|NewConnectionError|Failed to establish a new connection/i,
    description: 'No route to the peer.',
  },
  {
    name: 'connection-closed',
    category: C.CONNECTION,
    pattern:
      /Connection closed by (?:remote |foreign )?(?:peer|host|server|\d)|Server disconnected|RemoteDisconnected|Remote end closed connection|server closed the connection unexpectedly|ServerDisconnectedError|RemoteProtocolError|ConnectionTerminated|Socket (?:recv|send) (?:failed|error)|socketStartConnect|\bConnect(?:ion)? to [^\n]{1,60} failed|Couldn't connect to server|Could not connect to (?:the )?(?:endpoint|server|host)|unable to connect to the license server|EndpointConnectionError|Cannot connect to the Docker daemon|dial (?:unix|tcp) [^\n]{0,80}(?:no such file|connection refused|connect:)|[Cc]ouldn'?t reach|couldn'?t connect to|CONNECTION FAILED|spurious network error|Could not transfer artifact|Could not GET '|Unable to load the service index|\bfetch failed\b|Failed to connect to (?!bus)|Connect failed|\bEPROTO\b|SSL routines|tlsv1 alert|RST_STREAM|StatusCode\.CANCELLED|\b1 CANCELLED\b|MaxRetriesPerRequestError|\bConnectionError\b|connectFullMesh failed|has failed due to network error|Cannot send after transport endpoint shutdown|Transport endpoint is not connected|Connection (?:was )?(?:broken|lost|dropped)|RendezvousConnectionError|connection to the C10d store has failed|Could not HEAD '|HttpErrorStatusCodeException|Socket closed|returned non-zero exit status 255|retry connect to|the remote end hung up unexpectedly|early EOF|The requested URL returned error: 5\d\d|RPC failed; curl \d+|unexpected disconnect while reading sideband|gnutls_handshake\(\) failed|CommClosedError|ProxyError|Tunnel connection failed|407 Proxy Authentication Required|unable to complete a TCP connection/,
    description: 'The connection was closed, reset or never made (peer gone, server disconnected, daemon socket missing, proxy/TLS protocol errors).',
  },
  {
    name: 'connection-exception-type',
    category: C.CONNECTION,
    exceptionTypes: ['ConnectionError', 'ConnectionRefusedError', 'ConnectionResetError', 'BrokenPipeError'],
    description: 'A connection error reported as the exception type.',
  },

  // ── Cleanup of what a run left behind. ──
  {
    name: 'device-busy-on-cleanup',
    category: C.CLEANUP,
    pattern:
      /(?:cannot remove|failed to remove|unable to remove|umount|unmount|rmdir|unlinkat|rename)[^\n]{0,300}(?:Device or resource busy|device is busy|Device busy|Device is Busy|target is busy)|target is busy|umount: [^\n]{0,200}: device is busy|(?:OSError|IOError|PermissionError): \[Errno 16\] Device or resource busy|\.nfs[0-9a-f]{8,}[^\n]{0,40}(?:busy|Directory not empty)/i,
    description: 'Removing or unmounting failed because something still holds the mount or file (EBUSY, NFS .nfsXXXX silly-renames).',
  },
  {
    name: 'leftover-from-previous-run',
    category: C.CLEANUP,
    pattern: /Unable to create '[^'\n]{1,200}\.lock': File exists|\bindex\.lock\b[^\n]{0,80}(?:exists|Another git process)|failed to reserve container name|is reserved for [\w\s]{0,20}\b[0-9a-f]{12,}|[Cc]onflict\. The container name [^\n]{0,120} is already in use|destination path '[^'\n]{1,200}' already exists and is not an empty directory|resource\(s\) with pending operations|ControlService FAILED 1061|ServiceCannotAcceptControl|marked for deletion|address already in use|\bEADDRINUSE\b/,
    description: 'What a previous run left behind is in the way (stale lock file, container name taken, workspace not emptied, port still bound).',
  },
  {
    name: 'directory-not-empty',
    category: C.CLEANUP,
    pattern: /Directory not empty|\bENOTEMPTY\b/,
    description: 'rmdir/rmtree raced with a writer (Directory not empty).',
  },
  {
    name: 'file-locked-on-delete',
    category: C.CLEANUP,
    pattern: /EBUSY: resource busy or locked, (?:unlink|rmdir|rm|rename)|being used by another process/i,
    description: 'A file could not be deleted because a process still has it open (leaked handle).',
  },
  {
    name: 'cleanup-failed',
    category: C.CLEANUP,
    pattern: /failed to (?:clean ?up|delete|remove) (?:the )?(?:temporary|temp|workspace|directory|container|volume|mount)|leaked (?:handles?|file descriptors?|semaphore objects?|shared_memory)/i,
    description: 'Cleanup of a workspace, container or handle failed.',
  },

  // ── Dependencies: what the test needs is not installed or cannot be resolved. ──
  {
    name: 'teardown-or-cleanup-failed',
    category: C.CLEANUP,
    pattern:
      /\b(?:error|exception|failure|failed)\b[^\n]{0,40}\b(?:during|in|at|while) (?:the )?(?:teardown|tear ?down|tearDown|clean ?up|cleanup|finali[sz]ation|shutdown)\b|\b(?:teardown|tearDown|tear down|clean ?up|cleanup|afterEach|afterAll|AfterAll|TearDown)\b[^\n]{0,40}\b(?:failed|error|threw|raised)\b|\bleaked \d+ |\bleaked (?:semaphore|shared_memory|file|socket|thread|handle|memory|resource|goroutine)s?\b|resource_tracker: There appear to be \d+ leaked|could not remove container|unable to remove (?:container|volume|network|image|filesystem)|(?:failed|unable) to (?:kill|stop|terminate) (?:the )?(?:container|process|pod|worker)s?\b|zombie process|orphan(?:ed)? (?:process|container|pod)s?\b/i,
    description: 'Tearing down what a run used failed, or the run left things behind (leaked semaphores, containers that would not go, orphans), in any runner.',
  },
  {
    name: 'cleanup-generic',
    category: C.CLEANUP,
    pattern: /(?:cannot|can't|could not|couldn't|unable to|failed to) (?:remove|delete|clean ?up|unmount|umount|release|destroy|unlink|rmdir)\b|Device or resource busy|resource busy or locked|\bEBUSY\b|stale (?:lock|pid)|lock file[^\n]{0,60}(?:exists|held|stale)|still mounted|failed to destroy process group/i,
    description: 'Any failure to remove, unmount or release what a run used (EBUSY, stale locks), not recognised above.',
  },
  {
    name: 'jvm-main-class-not-found',
    category: C.CONFIGURATION,
    pattern: /Could not find or load main class|Could not find the main class|no main manifest attribute/,
    description: 'The JVM launcher was given a main class or jar entry point that is not there: the command is wrong.',
  },
  {
    name: 'test-file-not-loadable',
    category: C.CONFIGURATION,
    pattern: /cannot load such file -- [^\n]{0,80}(?:spec_helper|_helper\b)|no such file to load -- \/?spec\b|An error occurred while loading \.\/rspec\b|unittest\.loader\.(?:_FailedTest|ModuleImportFailure)|(?:OCI runtime|starting container process caused)[^\n]{0,200}(?:executable file not found|no such file or directory)/,
    description: 'The runner was pointed at a test file, helper or entrypoint that is not there: the command or the image is wrong.',
  },
  {
    name: 'python-module-not-found',
    category: C.DEPENDENCY,
    pattern: /ModuleNotFoundError|No module named\b/,
    description: 'Python import of a missing module.',
  },
  {
    name: 'python-import-error',
    category: C.DEPENDENCY,
    pattern: /ImportError: cannot import name|ImportError: DLL load failed/,
    description: 'A name is missing from an installed module (version mismatch).',
  },
  {
    name: 'dependency-exception-type',
    category: C.DEPENDENCY,
    exceptionTypes: ['ModuleNotFoundError', 'ImportError'],
    description: 'An import failure reported as the exception type.',
  },
  {
    name: 'shared-library-missing',
    category: C.DEPENDENCY,
    pattern: /cannot open shared object file|error while loading shared libraries|Cannot load lib[\w+-]+\.so(?:\.\d+)*|Could not load dynamic library|Library not loaded:|image not found|version `(?:GLIBC|GLIBCXX|CXXABI)_[\d.]+' not found/i,
    description: 'A shared library (.so/.dylib) is missing or too old (GLIBC/GLIBCXX symbol versions), e.g. libcudart or libGL.',
  },
  {
    name: 'ruby-gem-missing',
    category: C.DEPENDENCY,
    pattern: /Could not find gem '[^'\n]{1,160}' in any of the (?:gem )?sources|Could not find [\w.-]+-\d[\w.]* in any of the sources|Run `bundle install` to install missing gems|is not part of the bundle\. Add it to Gemfile|Bundler::GemNotFound|bundler: command not found:|Could not find '[\w-]+' \([^)\n]{1,40}\) among \d+ total gem/,
    description: 'A Ruby gem the run needs is not installed or cannot be resolved (Bundler).',
  },
  {
    name: 'pip-resolution-impossible',
    category: C.DEPENDENCY,
    pattern: /ResolutionImpossible|conflicting dependencies|dependencies could not be resolved|Could not find a version that matches/i,
    description: 'The resolver found no set of versions that satisfies every requirement.',
  },
  {
    name: 'pip-no-matching-distribution',
    category: C.DEPENDENCY,
    kind: 'permanent',
    pattern: /No matching distribution found for|Could not find a version that satisfies the requirement|nothing provides requested|there is no version of [\w.-]+==|No available formula with the name|Unable to find a match: |E: Unable to locate package|has no installation candidate|Artifact not found for name|PackagesNotFoundError|\bNU1101: Unable to find package|No packages exist with this id|Could not find gem '[^'\n]+' in any of the sources/,
    description: 'The requested package or version does not exist on the index.',
  },
  {
    name: 'npm-eresolve',
    category: C.DEPENDENCY,
    pattern: /\bERESOLVE\b|unable to resolve dependency tree|Could not resolve dependency/,
    description: 'npm could not resolve the dependency tree (peer dependency conflict).',
  },
  {
    name: 'npm-package-not-found',
    category: C.DEPENDENCY,
    kind: 'permanent',
    pattern: /npm ERR! code E404|npm ERR! 404\b|is not in (?:the|this) (?:npm )?registry|\bE404\b/,
    description: 'The package or version is not in the registry (E404).',
  },
  {
    name: 'node-module-not-found',
    category: C.DEPENDENCY,
    pattern: /Cannot find module|\bERR_MODULE_NOT_FOUND\b|Cannot find package '|\bMODULE_NOT_FOUND\b/,
    description: 'Node/Jest cannot resolve a module ("Cannot find module ... from ...").',
  },
  {
    name: 'shell-command-not-found',
    category: C.DEPENDENCY,
    pattern: /command not found|\bsh: (?:\d+: )?[^\n]{1,200}: not found[ \t]*$|is not recognized as an internal or external command|executable file not found in \$PATH/m,
    description: 'The shell could not find a program.',
  },
  {
    name: 'shell-exit-127-no-such-file',
    category: C.DEPENDENCY,
    pattern: /No such file or directory/,
    exitCodes: [127],
    description: 'Exit 127 with "No such file or directory": the program or its interpreter is missing.',
  },

  // ── Configuration: the spec, the config file or the command line is wrong. Retrying will not help. ──
  {
    name: 'image-pull-access-denied',
    category: C.DEPENDENCY,
    kind: 'validation',
    pattern: /pull access denied for|may require 'docker login'|requested access to the resource is denied/,
    description: 'The image cannot be pulled under that name with these credentials: fix the image reference or log in.',
  },
  {
    name: 'image-pull-unauthorized',
    category: C.CONFIGURATION,
    pattern: /(?:ErrImagePull|ImagePullBackOff|[Pp]ull(?:ing)? (?:image|access))[^\n]{0,300}(?:unauthorized|authentication required|401 Unauthorized|403 Forbidden|no basic auth credentials)/,
    description: 'The image exists but the node may not pull it (registry credentials, imagePullSecrets): configuration.',
  },
  {
    name: 'container-image-not-found',
    category: C.DEPENDENCY,
    kind: 'permanent',
    pattern: /manifest unknown|manifest for \S+ not found|\bErrImagePull\b|\bImagePullBackOff\b|pull access denied|repository does not exist|failed to resolve reference[^\n]{0,200}not found|Failed to pull image[^\n]{0,400}\bnot found\b|\bTag \S+ not found in repository|\bInvalidImageName\b|fatal: repository '[^'\n]{1,300}' not found|remote: Repository not found|ERROR: Repository not found/i,
    description: 'The container image or tag does not exist (or is not visible) in the registry.',
  },
  {
    name: 'dependency-exception-hierarchy',
    category: C.DEPENDENCY,
    pattern:
      /\b(?:NoClassDefFoundError|ClassNotFoundException|ModuleNotFoundError|ImportError|LoadError|DllNotFoundException|UnsatisfiedLinkError|MissingMethodException|NoSuchMethodError)\b|[Cc]annot find (?:package|module)\b|cannot load such file|no such file to load|undefined symbol:?|Could not load (?:file or assembly|library|dynamic library)|Unable to load any of|LoadLibrary failed|Library not loaded|DLL load failed|Could not find testhost|Failed to create \w+ExecutionProvider|CUDA_PATH is set but/,
    description: 'Any module/class/library that cannot be found or loaded, in any language (Java, Python, Ruby, .NET, native).',
  },
  {
    name: 'resolver-conflict',
    category: C.DEPENDENCY,
    pattern:
      /UnsatisfiableError|Unsatisfiable|Found conflicts!|PackagesNotFoundError|SolverProblemError|SolveFailure|version solving failed|doesn't match any versions|failed to select a version|Could not resolve all (?:files|artifacts|dependencies)|Could not resolve dependencies for project|Could not find artifact|ArtifactNotFoundException|Couldn't find package|No matching version found|no such package '@|No solution found when resolving|we can conclude that[^\n]{0,200}(?:unsatisfiable|cannot be used)|conflicting requirements|incompatible with (?:each other|the existing)|not available from current channels|Could not solve for environment specs|The following packages? (?:are|is) incompatible|nothing provides [^\n]{1,80} needed by|Could not find [\w.-]+:[\w.-]+:[\w.-]+/,
    description: 'A package resolver found no consistent set of versions (conda, mamba, poetry, uv, cargo, gradle, maven, yarn).',
  },
  {
    name: 'native-build-failed',
    category: C.DEPENDENCY,
    pattern:
      /Error building extension|ninja: build stopped|Command '\['ninja'|collect2: error: ld returned|\bld(?:\.exe)?: cannot find\b|cannot find -l\S+|fatal error: [\w\/.+-]+\.h: No such file|CMake Error[^\n]{0,80}find_package|Could NOT find \w+|By not providing "Find\w+\.cmake"|has not been built|was not enabled in this build|not compiled with (?:GPU|CUDA|ROCm|MPS) support|subprocess-exited-with-error|Failed building wheel|metadata-generation-failed|legacy-install-failure|does not match the version torch was compiled with|CUDAMismatchException|Version tag does not match|is not compatible with this version of|Serialization assertion|No importer registered for op|Could not find an implementation for the node|No OpKernel was registered|ptxas too old|Unable to find installation candidates|Failed to find C compiler|`ptxas` failed with error code|ptxas exited with non-zero|Require cuDNN \d|is not in available provider names|does not recognize this architecture|version incompatibility|CondaVerificationError|DO NOT MATCH THE HASHES|ClobberError|support has been built|No CUDA runtime is found|CUDA-enabled jaxlib is not installed|BUILD file not found|Cannot open assembly|bad interpreter|no required module provides package|unresolved imports?\b|cannot find module providing package|missing go\.sum entry/,
    description: 'A native extension or build step failed, or installed components do not match (headers, linker, CMake packages, CUDA versions, unsupported ops).',
  },
  {
    name: 'cli-unrecognized-arguments',
    category: C.CONFIGURATION,
    pattern: /error: unrecognized arguments:|unrecognized (?:command[- ]line )?option|unknown (?:command[- ]line )?option|Unknown argument|no such option|invalid option\b/i,
    description: 'The command line has options the program does not accept (often a missing pytest plugin).',
  },
  {
    name: 'pytest-fixture-not-found',
    category: C.CONFIGURATION,
    pattern: /fixture '[^'\n]{1,100}' not found/,
    description: 'A pytest fixture is missing (plugin not installed or conftest not found).',
  },
  {
    name: 'pytest-config-file-error',
    category: C.CONFIGURATION,
    pattern:
      /(?:pytest\.ini|tox\.ini|setup\.cfg|pyproject\.toml|conftest\.py)[^\n]{0,60}(?:unexpected line|no section header|Invalid|parse error|could not load)|MissingSectionHeaderError|configparser\.\w+Error/,
    description: 'The test runner configuration file cannot be parsed.',
  },
  {
    name: 'pytest-collection-error',
    category: C.CONFIGURATION,
    pattern: /ERROR collecting|errors? during collection|ImportMismatchError|import file mismatch|no tests ran|collected 0 items/,
    description: 'pytest could not collect the tests.',
  },
  {
    name: 'yaml-syntax-error',
    category: C.CONFIGURATION,
    pattern: /yaml\.(?:scanner|parser|constructor)\.\w+Error|\bScannerError\b|mapping values are not allowed|could not find expected ':'|YAMLException|while parsing a (?:block|flow) mapping/,
    description: 'A YAML file does not parse.',
  },
  {
    name: 'config-validation-error',
    category: C.CONFIGURATION,
    pattern:
      /ValidationError|validation errors? for\b|Config(?:uration)? validation error|invalid configuration|Invalid config(?:uration)?\b|is not valid under any of the given schemas|Additional properties are not allowed|Field required \[type=missing/i,
    description: 'The configuration fails schema validation.',
  },
  {
    name: 'invalid-option-value',
    category: C.CONFIGURATION,
    pattern: /Invalid value for\b|invalid choice:|is not a valid (?:boolean|integer|choice|value)|invalid literal for int\(\)/i,
    description: 'An option or parameter has a value of the wrong type or out of range.',
  },
  {
    name: 'config-key-missing',
    category: C.CONFIGURATION,
    pattern:
      /KeyError: '(?:[\w.-]*(?:config|conf|cfg|settings|option)[\w.-]*)'|omegaconf\.errors\.\w+|Key '[^'\n]{1,80}' is not in struct|MissingMandatoryValue|hydra\.errors\.\w+|ConfigCompositionException/i,
    description: 'A required configuration key is missing or unknown (KeyError on a config, OmegaConf/Hydra struct errors).',
  },
  {
    name: 'config-exception-type',
    category: C.CONFIGURATION,
    exceptionTypes: [
      'ValidationError',
      'ScannerError',
      'ParserError',
      'YAMLError',
      'ConfigError',
      'ConfigurationError',
      'ConfigAttributeError',
      'ConfigKeyError',
      'ConfigCompositionException',
    ],
    description: 'A configuration error reported as the exception type.',
  },
  {
    name: 'credentials-or-access',
    category: C.CONFIGURATION,
    pattern:
      /NoCredentialsError|Unable to locate credentials|DefaultCredentialsError|ClientAuthenticationError|CredentialUnavailableError|[Aa]uthentication failed|[Aa]uthentication (?:is )?required|\bAccessDenied\b|Access Denied|AccessDeniedException|AuthorizationPermissionMismatch|AuthorizationFailure|not authorized to perform|is not authorized|ExpiredToken|token (?:has )?expired|InvalidClientTokenId|SignatureDoesNotMatch|UnauthorizedOperation|\bUnauthorized\b|\bForbidden\b|Permission denied \(publickey|Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|role "[^"\n]+" does not exist|database "[^"\n]+" does not exist|invalid_grant|invalid_client|could not read Username|\bPERMISSION_DENIED\b|\bUNAUTHENTICATED\b|StatusCode\.(?:PERMISSION_DENIED|UNAUTHENTICATED)/,
    description: 'Credentials are missing, expired or lack a permission (cloud SDKs, databases, SSH host keys, git): fix the environment.',
  },
  {
    name: 'package-not-found',
    category: C.DEPENDENCY,
    pattern: /\b[Pp]ackage '[^'\n]{1,80}' not found\b|No package '[^'\n]{1,80}' found|Make sure (?:that )?(?:the )?test project has a nuget reference of package/,
    description: 'A package the build or the runner looks for is not installed (pkg-config, ROS, the .NET test SDK).',
  },
  {
    name: 'no-tests-collected',
    category: C.CONFIGURATION,
    pattern:
      /No tests? (?:(?:were |was )?found|were executed|is available|to run|ran)\b|No examples found|\bno tests ran\b|collected 0 items|testMatch: |--passWithNoTests|No tests matching|\(Not Run\)|no test files|no test specified|0 tests? (?:collected|executed|run)|\b0 examples, 0 failures\b|no test target named/i,
    description: 'The runner found no test to run (pattern selected nothing, wrong path, missing discoverer).',
  },
  {
    name: 'cli-argument-error',
    category: C.CONFIGURATION,
    pattern:
      /unexpected argument '[^'\n]{1,80}' found|flag provided but not defined|the following required arguments were not provided|the following arguments are required:|\b[Mm]issing required (?:argument|option|flag|parameter|field|property|key|configuration|input|setting)s?\b|required (?:option|argument|flag|parameter)s? [`'"]?-{0,2}[\w.-]+[`'"]? (?:not specified|is missing|was not (?:provided|specified|given)|not provided)|\bunrecognized (?:option|argument|subcommand|command-line option|arguments?)\b|\bunknown (?:command|subcommand|flag|argument)s?\b[^\n]{0,10}["'`-]|\binvalid (?:option|flag|switch)\b|\bno such option\b|Usage Error|\bUsageError\b|Unrecognized (?:VM )?option\b|Could not create the Java Virtual Machine/,
    description: 'The command line is wrong: an unknown or missing option or argument, in any CLI framework.',
  },
  {
    name: 'pod-configuration-error',
    category: C.CONFIGURATION,
    pattern: /\bCreateContainerConfigError\b|\bCreateContainerError\b|\bFailedMount\b|(?<!Un)MountVolume\.(?:SetUp|MountDevice|WaitForAttach) failed|\b(?:secret|configmap|persistentvolumeclaim)s? \\?"[^"\n]{1,100}\\?" not found|\bRunContainerError\b|\bFailedCreatePodSandBox\b[^\n]{0,200}(?:invalid|not found|unknown)|couldn't find key \S+ in (?:Secret|ConfigMap)|\bContainerCannotRun\b/i,
    description: 'Kubernetes could not set up the pod from its spec: a missing secret, config map or volume, a bad container config.',
  },
  {
    name: 'package-spec-invalid',
    category: C.CONFIGURATION,
    pattern: /CondaValueError|invalid (?:package |version |requirement )?spec(?:ification)?\b|InvalidRequirement|InvalidVersion|Invalid requirement:|invalid version constraint|is not a valid (?:version|requirement|package name)|externally-managed-environment/i,
    description: 'A package or version specification is malformed, or the environment refuses installs (PEP 668): the setup is wrong.',
  },
  {
    name: 'grpc-status-configuration',
    category: C.CONFIGURATION,
    pattern: /\bcode = (?:PermissionDenied|Unauthenticated|FailedPrecondition|InvalidArgument|OutOfRange|Unimplemented)\b|StatusCode\.(?:PERMISSION_DENIED|UNAUTHENTICATED|FAILED_PRECONDITION|INVALID_ARGUMENT|OUT_OF_RANGE|UNIMPLEMENTED)\b|\b(?:7 PERMISSION_DENIED|16 UNAUTHENTICATED|9 FAILED_PRECONDITION|3 INVALID_ARGUMENT|12 UNIMPLEMENTED)\b|\b(?:PERMISSION_DENIED|UNAUTHENTICATED|FAILED_PRECONDITION):/,
    description: 'gRPC statuses that name the caller as wrong: permission, authentication, precondition, argument, an unimplemented method (client and server disagree).',
  },
  {
    name: 'data-file-not-found',
    category: C.CONFIGURATION,
    pattern: /No such file or directory: '[^'\n]{0,200}\.(?:pickle|pkl|csv|tsv|json|jsonl|ya?ml|toml|txt|in|dat|h5|hdf5|npy|npz|pt|pth|ckpt|safetensors|onnx|parquet|png|jpe?g|wav|mp4|tfrecords?)'|Fortran runtime error: Cannot open file|forrtl: severe \(29\): file not found|The license file cannot be found/,
    description: 'A data, config or input file the run names is not there (the path is the user\'s to fix), not a missing library.',
  },
  {
    name: 'offline-mode-without-cache',
    category: C.CONFIGURATION,
    pattern: /OfflineModeIsEnabled|Cannot find an appropriate cached snapshot folder|HF_HUB_OFFLINE=1|TRANSFORMERS_OFFLINE=1/,
    description: 'Offline mode is set and what the run asks for is not cached: the environment is set up wrong.',
  },
  {
    name: 'project-file-does-not-exist',
    category: C.CONFIGURATION,
    pattern: /\bMSB1009: Project file does not exist|\bMSB1003: Specify a project or solution file|requests unknown queue|fe_sendauth: no password supplied/,
    description: 'The project, queue or credential the command names is not there (MSBuild, Grid Engine, libpq).',
  },
  {
    name: 'invalid-configuration',
    category: C.CONFIGURATION,
    pattern:
      /Unknown (?:config(?:uration)? )?(?:option|parameter|argument|key|field|property|setting)\b|unknown (?:field|flag|key|option|shorthand flag)\b|unexpected keyword argument|is not a valid (?:option|key|setting)|configuration is invalid|Invalid (?:config(?:uration)?|argument|parameter|value)\b|invalid argument\b|INVALID_ARGUMENT|\bInvalidArgument\b|IllegalArgumentException|IllegalStateException|must be divisible by|is not divisible by|Expected all tensors to be on the same device|UnsupportedClassVersionError|Unsupported class file major version|compiled by a more recent version of the Java Runtime|Unsupported major\.minor version|externally-managed-environment|changed significantly since poetry\.lock|is not consistent with pyproject\.toml|StatusCode\.UNIMPLEMENTED|\b12 UNIMPLEMENTED|code = Unimplemented|status=\d+\/(?:EXEC|NAMESPACE|CHDIR|USER)|Failed at step \w+ spawning|System has not been booted with systemd|Failed to connect to bus|NoWritableEnvsDirError|NotWritableError|Validation Error|Configuration error|Could not locate module [^\n]{0,120}mapped as|Jest encountered an unexpected token|SyntaxError: Unexpected token|CMake Error at|no native function or rule|requires? (?:an? )?(?:argument|parameter)\b|missing required (?:argument|option|field|parameter)|is required but (?:was )?not (?:set|provided)|environment variable [^\n]{0,60}(?:not set|is not defined|missing)|no targets found beneath|No targets specified and no makefile found|\bSpecNotFound\b|EnvironmentFileNotFound|not been properly configured to use 'conda activate'|has already been added to the list of available package sources|is not supported yet|Invalid (?:account|partition|qos)\b|Invalid generic resource|Invalid (?:gres|feature) specification|invalid partition|syntax error near unexpected token|unbound variable|unexpected EOF while looking for matching|[Rr]epository (?:'[^'\n]{1,200}' )?not found|error: pathspec '[^'\n]{1,200}' did not match|couldn't find remote ref|[Rr]emote branch \S+ not found|reference is not a tree|The requested URL returned error: 40[134]|go: cannot find main module|go\.mod file not found|no Go files in|No virtual environment found|Failed to parse:? `?[\w./-]*(?:pyproject\.toml|uv\.lock|setup\.cfg|requirements[\w.-]*\.txt)|% \w*(?:size|degree|world|parallel)\w* == 0|Requested time limit is invalid|is invalid\b|specified more than once|file or directory not found:|no match in any of \[|(?:uniform|same|mixed|matching) (?:dtype|device)|different devices|device type '\w+' to a tensor with device type|dtype mismatch|expected (?:scalar type|dtype) \w+ but (?:found|got)|mixed torch\.Tensor and DTensor|Unable to find address for|Invalid URL|not supported by the project|NoCompatiblePythonVersionFound|could not find a pyproject\.toml|PyProjectException|failed to load all models|model not found in any model repository|no version is available|Duplicate GPU detected|invalid usage|ncclInvalidUsage|NO_SUCHFILE|File doesn't exist/,
    description: 'The configuration, the arguments or the environment of the run are wrong (unknown options, invalid values, JDK mismatch, stale lock file, missing systemd, bad unit).',
  },
  {
    name: 'permission-denied-exec',
    category: C.CONFIGURATION,
    pattern: /Permission denied/i,
    exitCodes: [126],
    description: 'Exit 126 with "Permission denied": the script is not executable or the path is not accessible.',
  },
  {
    name: 'eacces-permission-denied',
    category: C.CONFIGURATION,
    pattern: /\bEACCES\b|permission denied, (?:open|mkdir|scandir|access|unlink)/i,
    description: 'Node EACCES: the process may not access a path.',
  },

  // ── The test ran and its checks failed: a test failure, not an infrastructure error. ──
  {
    name: 'pytest-failed-assertion',
    category: C.EXECUTION,
    pattern: /^[ \t]*FAILED \S+::\S+|^E[ \t]+(?:assert\b|AssertionError\b)/m,
    description: 'pytest reported failed assertions.',
  },
  {
    name: 'framework-config-assertion',
    category: C.CONFIGURATION,
    pattern: /AssertionError:?[ \t]*(?:Check [^\n]{0,40}parameters|[^\n]{0,160}\b(?:must be divisible|should be divisible|is not divisible|divisible by)\b|[^\n]{0,80}\b(?:batch_size|world_size|micro_batch\w*|tensor_model_parallel\w*|pipeline_model_parallel\w*|num_attention_heads|hidden_size)\b[^\n]{0,80}(?:must|should|!=|==|is not equal))/,
    description: 'A framework asserts on its own settings (batch sizes, parallel sizes, divisibility): the run is configured wrongly, not a test check.',
  },
  {
    name: 'assertion-error',
    category: C.EXECUTION,
    pattern: /AssertionError\b|AssertionFailedError|ComparisonFailure/,
    description: 'An AssertionError (Python, Node, Java, JUnit, opentest4j).',
  },
  {
    name: 'assertion-exception-type',
    category: C.EXECUTION,
    exceptionTypes: ['AssertionError', 'AssertionFailedError', 'ComparisonFailure'],
    description: 'An assertion failure reported as the exception type.',
  },
  {
    name: 'jest-expectation-failed',
    category: C.EXECUTION,
    pattern: /expect\(received\)\.\w+\(|Expected:[^\n]{0,200}\n\s*Received:|Expected value to (?:be|equal)/,
    description: 'A Jest expectation failed (expect(received).toBe(expected)).',
  },
  {
    name: 'rust-assertion-panic',
    category: C.EXECUTION,
    pattern: /assertion `?\(?left == right\)?`? failed|panicked at[^\n]{0,160}assertion failed|^assertion failed: /m,
    description: 'A Rust assert!/assert_eq! panicked.',
  },
  {
    name: 'junit-style-failure',
    category: C.EXECUTION,
    pattern: /<<< FAILURE!|expected:? ?<[^>\n]{0,200}> but was:? ?<|Tests run: \d+, Failures: [1-9]|^--- FAIL: Test/m,
    description: 'JUnit/Surefire or go test reported a failed test.',
  },
  {
    name: 'unittest-failure',
    category: C.EXECUTION,
    pattern: /^FAIL: test\w*|^FAILED \((?:failures|errors)=\d+/m,
    description: 'Python unittest reported a failure.',
  },
  {
    name: 'array-mismatch',
    category: C.EXECUTION,
    pattern: /Mismatched elements: \d+ \/ \d+|Arrays are not (?:almost )?equal|Not equal to tolerance/,
    description: 'numpy.testing / torch.testing comparison failed.',
  },
  {
    name: 'test-summary-failed',
    category: C.EXECUTION,
    pattern: /Test Suites: \d+ failed|Tests:\s+\d+ failed|TestsFailedException|\bTests unsuccessful\b|^[ \t]*[═=]{2,} Failed tests? [═=]{2,}|^Test Summary:[^\n]*\bFail\b|Found \d+ data race\(s\)|\b\d+ failed(?:, \d+ (?:passed|deselected|skipped|errors?))*(?: in [\d.]+s)?\b[ =]*$/m,
    description: 'A test runner summary line reports failed tests.',
  },

  // ── Nothing recognisable in the text: the exit code or signal is all the evidence there is. ──
  // ── Generic evidence: exception names by their parts, in any language, when nothing above named the case. ──
  {
    name: 'setting-advice',
    category: C.CONFIGURATION,
    pattern: /\b(?:You need to set|you can set [\w.`]+|Please set (?!up\b)|Make sure to (?:not |set |pass |use |call )|Either [^\n]{0,100}\bor (?:omit|set|pass|remove|disable|enable)\b|[Tt]ry (?:increasing|decreasing|setting|reducing) `)/,
    description: 'The message tells the user which setting to change: the run is configured wrongly.',
  },
  {
    name: 'exception-name-permission',
    category: C.CONFIGURATION,
    pattern: /\b\w*(?:PermissionDenied|Permission|AccessDenied|Unauthori[sz]ed|Forbidden|Authentication|Unauthenticated|Credential)s?(?:Error|Exception)\b/,
    description: 'Any *PermissionError / *AccessDenied* / *AuthenticationException: the run lacks a permission or a credential.',
  },
  {
    name: 'exception-name-connection',
    category: C.CONNECTION,
    pattern: /\b\w*(?:Connection|Connect|Socket|Network|Transport|Channel|Unreachable|Http(?:Request)?)(?:Error|Exception|Failure)\b/,
    description: 'Any *ConnectionError / *SocketException / *TransportError / HttpRequestException not recognised above.',
  },
  {
    name: 'exception-name-configuration',
    category: C.CONFIGURATION,
    pattern: /\b\w*(?:Config|Configuration|Settings|Options?|Argument|Usage|Schema|Validation|Parse|Syntax)(?:Error|Exception)\b/,
    description: 'Any *ConfigError / *ArgumentError / *UsageError / *SchemaException: the run is set up wrong.',
  },
  {
    name: 'exception-name-dependency',
    category: C.DEPENDENCY,
    pattern: /\b\w*(?:ModuleNotFound|PackageNotFound|ClassNotFound|LibraryNotFound|PluginNotFound|DependencyNotFound|ArtifactNotFound|Import|Linkage|Resolution|Resolve)(?:Error|Exception)\b/,
    description: 'Any *ImportError / *ClassNotFoundException / *PackageNotFoundError / *ResolutionException.',
  },
  {
    name: 'exception-name-assertion',
    category: C.EXECUTION,
    pattern: /\b\w*(?:Assertion|Assert|Expectation|Comparison)\w*(?:Error|Exception|Failure|Failed)\b/,
    description: 'Any *AssertionError / *ExpectationFailed / *ComparisonFailure: a test assertion failed.',
  },
  {
    name: 'runner-report-failed',
    category: C.EXECUTION,
    pattern:
      /\b\d+ failed, \d+ passed\b|\b\d+ passed, \d+ failed\b|(?<!=)=+ \d+ failed\b|^FAIL\t|^FAIL[ \t]+\S+[ \t]+[\d.]+s[ \t]*$|^--- FAIL: |test result: FAILED|^test \S+ \.\.\. FAILED|Tests run: \d+, Failures: \d+, Errors: [1-9]|There (?:were|are) (?:test failures|failing tests)|\b\d+ examples?, [1-9]\d* failures?|Failure\/Error:|^[ \t]*expected:? [^\n]{0,200}\n[ \t]*got:|Test Run Failed|Total tests: \d+[^\n]{0,40}Failed: [1-9]|\bFailed: [1-9]\d*, Passed: \d+|Assert\.\w+ failed|\b\d+% tests? passed, [1-9]\d* tests? failed|The following tests FAILED|\*\*\*Failed\b|\b\d+ tests? FAILED\b|FAILED in \d+ out of \d+|tests pass and \d+ fails? locally|^FAIL: \/\/|FAIL! -- \d+ Passed \| [1-9]\d* Failed|Expected [^\n]{1,120} but (?:was|got|received)|RecursionError|maximum recursion depth exceeded|StackOverflowError|Summarizing \d+ Failures?|^[ \t]*Expected\b[^\n]{0,120}(?:\n[^\n]{0,120}){0,2}\n?[ \t]*(?:not )?to (?:be|equal|have|contain|match|succeed)\b|Difference exceeds tolerance|^not ok \d+|\b[1-9]\d* failing\b|Test Files\s+[1-9]\d* failed|There (?:was|were) [1-9]\d* failures?|Failed!\s+-\s+Failed:\s+[1-9]|\[FAIL\]|\[\s+FAILED\s+\]|\| [1-9]\d* failed\b|^FAILURES!$|not to have occurred|Expected\s*:\s*\S+\s+to be ==|Mismatched outputs|Pass Rate: 0\.0%|\.py [.sxE]*F[.FsxE]* *\[ *\d+%\]/m,
    description: "The runner's own report says tests failed: pytest, go test, cargo, Surefire/Gradle, RSpec, .NET, CTest, Bazel, Ginkgo.",
  },
  {
    name: 'service-exited-with-error',
    category: C.CRASH,
    pattern: /Main process exited, code=(?:exited|dumped|killed), status=\d+|control process exited, code=exited,? status=\d+|Failed with result 'exit-code'|entered failed state|Job for \S+ failed because (?:the control process exited|a fatal signal|the service did not)|Worker process \d+ was killed by (?:unknown )?signal|Worker process died unexpectedly/,
    description: 'A systemd unit exited with an error status (after the EXEC/NAMESPACE set-up failures above, which are configuration).',
  },
  {
    name: 'pytest-exit-usage-or-no-tests',
    category: C.CONFIGURATION,
    pattern: /pytest|py\.test|deselected|collected \d+ items?|test session starts|no tests ran|INTERNALERROR|usage:/,
    exitCodes: [2, 3, 4, 5],
    description: 'pytest exit 2 (interrupted), 3 (internal error), 4 (usage error) or 5 (no tests collected): the run is misconfigured.',
  },
  {
    name: 'pytest-exit-tests-failed',
    category: C.EXECUTION,
    pattern: /pytest|py\.test|test session starts|short test summary|(?<!=)=+ \d+ (?:passed|failed)\b/,
    exitCodes: [1],
    description: 'pytest exit 1: tests were collected and some failed.',
  },
  {
    name: 'jest-exit-tests-failed',
    category: C.EXECUTION,
    pattern: /\bjest\b|Test Suites:|\bvitest\b|\bmocha\b/,
    exitCodes: [1],
    description: 'Jest, Vitest or Mocha exit 1 after running: tests failed.',
  },
  {
    name: 'cargo-test-exit-101',
    category: C.EXECUTION,
    pattern: /cargo|test result|panicked|running \d+ tests?/,
    exitCodes: [101],
    description: 'cargo test exits 101 when a test panicked.',
  },
  {
    name: 'opaque-failure',
    category: C.UNKNOWN,
    pattern:
      /\bInternalError\b|Internal Server Error|internal error has occurred|encountered an internal error|Backend Error|\bELIFECYCLE\b|Exit handler never called|Process (?:completed|exited|finished) with (?:exit )?code [1-9](?!\d)|failed with exit code [1-9](?!\d)|\bChildFailedError\b|Command failed with exit code [1-9](?!\d)|returned non-zero exit status [1-9](?!\d)|exited with (?:code|status) [1-9](?!\d)|\bBackoffLimitExceeded\b|reached the specified backoff limit/,
    description: 'A wrapper says only that something failed (exit code 1, ELIFECYCLE, HTTP 500 InternalError) and nothing above recognised the cause: one retry, then the dead letter queue.',
  },
  {
    name: 'exit-sigill',
    category: C.HW_CAPABILITY,
    exitCodes: [132],
    description: 'Killed by SIGILL (exit 132): an unsupported CPU instruction.',
  },
  {
    name: 'exit-sigsegv',
    category: C.CRASH,
    exitCodes: [139],
    description: 'Killed by SIGSEGV (exit 139).',
  },
  {
    name: 'exit-sigabrt',
    category: C.CRASH,
    exitCodes: [134],
    description: 'Killed by SIGABRT (exit 134).',
  },
  {
    name: 'exit-sigfpe',
    category: C.CRASH,
    exitCodes: [136],
    description: 'SIGFPE (exit 136): an arithmetic fault, such as an integer division by zero in native code; deterministic.',
  },
  {
    name: 'exit-sigbus',
    category: C.CRASH,
    kind: 'resource',
    exitCodes: [135],
    description: 'Killed by SIGBUS (exit 135), often shared memory (/dev/shm) exhausted.',
  },
  {
    name: 'exit-sigkill',
    category: C.CRASH,
    kind: 'resource',
    exitCodes: [137],
    description: 'Killed by SIGKILL (exit 137): OOM killer or a supervisor; another host may succeed.',
  },
  {
    name: 'exit-sigterm',
    category: C.DISCONNECTION,
    exitCodes: [143],
    description: 'Terminated by SIGTERM (exit 143): the worker was shut down or preempted.',
  },
  {
    name: 'exit-sigint',
    category: C.DISCONNECTION,
    exitCodes: [130],
    description: 'Interrupted by SIGINT (exit 130).',
  },
  {
    name: 'exit-127-command-not-found',
    category: C.DEPENDENCY,
    exitCodes: [127],
    description: 'Exit 127: the shell could not find the command.',
  },
  {
    name: 'exit-126-not-executable',
    category: C.CONFIGURATION,
    exitCodes: [126],
    description: 'Exit 126: the command is not executable.',
  },
];

/** The built-in table, compiled once at load time. */
export const BUILT_IN_RULES: readonly CompiledRule[] = BUILT_IN_RULE_DEFINITIONS.map((def) =>
  compileRule(def, def.kind ?? DEFAULT_KIND[def.category as BuiltInCategory], 'built-in'),
);
