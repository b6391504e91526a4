/** The rule table row by row, the precedence between rows, the kind conventions, user configuration and JSONL mode. */
import { ERROR_CATEGORIES } from '../../src/domain/categories';
import {
  BUILT_IN_RULES,
  BUILT_IN_RULE_DEFINITIONS,
  ClassifierConfigError,
  EXCERPT_LIMIT,
  JUNIT_FAILURES_RULE,
  UNRECOGNISED_RULE,
  classifyFailure,
  classifyJsonl,
  compileRules,
  junitRanNoTests,
  outputEvidence,
  OUTPUT_FULL_LIMIT,
  kindOf,
  parseClassifierConfig,
  parseJUnitFailures,
  type FailureObservation,
} from '../../src/domain/classification';

/** The rule table alone, without the learned fallback: what tests of rule precedence need. */
const RULES_ONLY = { model: null } as const;

/** One realistic observation per built-in rule; each must be decided by exactly that rule. */
const SAMPLES: Record<string, FailureObservation> = {
  'pcie-bus-errors': { message: 'pcieport 0000:00:01.0: AER: Corrected error received: 0000:01:00.0\npcieport 0000:00:01.0: PCIe Bus Error: severity=Corrected, type=Physical Layer, (Receiver ID)' },
  'accelerator-runtime-cannot-start': { message: 'jaxlib.xla_extension.XlaRuntimeError: NOT_FOUND: No ba16c7433 device found.' },
  'stack-overflow-abort': { message: "thread 'tests::deep_recursion' has overflowed its stack\nfatal runtime error: stack overflow" },
  'walltime-limit-exceeded': { message: '=>> PBS: job killed: walltime 7215 exceeded limit 7200' },
  'request-quota-exhausted': { message: '403 Forbidden: {"error": {"errors": [{"domain": "usageLimits", "reason": "dailyLimitExceeded"}]}}' },
  'scheduler-no-eligible-node': { message: 'Warning  FailedScheduling  12s  default-scheduler  0/4 nodes are available: 4 node(s) had untolerated taint {dedicated: infra}.' },
  'process-pool-worker-died': { message: 'concurrent.futures.process.BrokenProcessPool: A process in the process pool was terminated abruptly while the future was running or pending.' },
  'port-still-bound': { message: 'OSError: [Errno 98] Address already in use' },
  'volume-still-attached': { message: 'Warning  FailedAttachVolume  attachdetach-controller  Multi-Attach error for volume "pvc-1234" Volume is already exclusively attached to one node' },
  'open-handles-after-run': { message: 'Jest did not exit one second after the test run has completed.' },
  'cuda-teardown-after-driver-unload': { message: 'terminate called after throwing an instance of \'std::runtime_error\'\n  what():  cudaFree failed with: 4: driver shutting down\nAborted (core dumped)', exitCode: 134 },
  'destructor-or-finaliser-failed': { message: 'Exception ignored in: <function _MultiProcessingDataLoaderIter.__del__ at 0x7f7162a08af0>\nTraceback (most recent call last):' },
  'lock-held-by-another-process': { message: 'E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 2448 (unattended-upgr)' },
  'address-sanitizer-error': { message: '==4242==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x602000000011 at pc 0x55d1 bp 0x7ffc sp 0x7ffc' },
  'pod-kill-failed': { message: 'Warning  FailedKillPod  kubelet  error killing pod: failed to "KillPodSandbox" for "5f1c" with KillPodSandboxError: "rpc error: code = DeadlineExceeded"' },
  'shared-library-cannot-open': { message: 'Could not load library libcudnn_ops_infer.so.8. Error: libcudnn_ops_infer.so.8: cannot open shared object file: No such file or directory\nAborted (core dumped)' },
  'offline-mode-without-cache': { message: 'huggingface_hub.errors.OfflineModeIsEnabled: Cannot reach https://huggingface.co/api/models/gpt2: offline mode is enabled.' },
  'project-file-does-not-exist': { message: 'MSBUILD : error MSB1009: Project file does not exist.\nSwitch: ./app.sln' },
  'native-panic-surfaced': { message: "pyo3_runtime.PanicException: called `Option::unwrap()` on a `None` value" },
  'package-not-found': { message: "Package 'my_robot_bringup' not found: \"package 'my_robot_bringup' not found, searching: ['/opt/ros/humble']\"" },
  'data-file-not-found': { message: "FileNotFoundError: [Errno 2] No such file or directory: 'data/val_split.csv'" },
  'runtime-internal-error': { message: 'Fatal error. Internal CLR error. (0x80131506)\n   at System.Runtime.CompilerServices.AsyncMethodBuilderCore.Start' },
  'removal-refused-in-use': { message: 'Error response from daemon: remove my_volume: volume is in use - [3b1f0c]' },
  'nccl-heartbeat-monitor-timeout': { message: '[rank3]:[E ProcessGroupNCCL.cpp:1316] [PG 0 Rank 3] Heartbeat monitor timed out! Process will be terminated after dumping debug info.' },
  'ci-job-time-limit': { message: 'ERROR: Job failed: execution took longer than 1h0m0s seconds' },
  'ruby-gem-missing': { message: "Could not find gem 'rspec-core (~> 3.12)' in any of the gem sources listed in your Gemfile." },
  'image-pull-access-denied': { message: "Error response from daemon: pull access denied for acme/test-runner, repository does not exist or may require 'docker login'" },
  'collective-stall': { message: 'W horovod/common/stall_inspector.cc:105] One or more tensors were submitted to be reduced by subset of ranks and are waiting for remainder of ranks for more than 60 seconds.' },
  'launcher-not-enough-slots': { message: 'There are not enough slots available in the system to satisfy the 16 slots that were requested by the application: ./train' },
  'jvm-main-class-not-found': { message: 'Error: Could not find or load main class com.example.Mian\nCaused by: java.lang.ClassNotFoundException: com.example.Mian' },
  'framework-config-assertion': { message: 'AssertionError: world_size (6) should be divisible by pipeline_model_parallel_size (4)' },
  'setting-advice': { message: 'ValueError: Cannot use offloading on this module. Either move the module to the CPU first or omit the device_id argument.' },
  'amdgpu-reset-or-hang': { message: 'amdgpu 0000:03:00.0: amdgpu: GPU reset begin!' },
  'device-op-unsupported': { message: "NotImplementedError: The operator 'aten::_fft_r2c' is not currently implemented for the MPS device." },
  'leftover-from-previous-run': { message: "fatal: Unable to create '/work/repo/.git/index.lock': File exists." },
  'tls-material-invalid': { message: 'Error: error:0B080074:x509 certificate routines:X509_check_private_key:key values mismatch' },
  'container-killed-137': { message: 'Last State:     Terminated\n  Reason:       Error\n  Exit Code:    137' },
  'interconnect-retry-exceeded': { message: 'NET/IB : Got completion from peer 10.0.0.2<44521> with status=IBV_WC_RETRY_EXC_ERR(12) opcode=0 len=0 vendor err 129' },
  'worker-lost-contact': { message: 'WARN TaskSetManager: Lost task 3.0 in stage 2.0: ExecutorLostFailure (executor 4 exited caused by one of the running tasks)' },
  'proxy-connect-failed': { message: "ProxyError('Cannot connect to proxy.', OSError('Tunnel connection failed: 503 Service Unavailable'))" },
  'certificate-chain-invalid': { message: 'Get "https://registry.internal/v2/": x509: certificate signed by unknown authority' },
  'dns-lookup-no-such-host': { message: 'dial tcp: lookup proxy.golang.org on 127.0.0.53:53: no such host' },
  'teardown-or-cleanup-failed': { message: "ERROR at teardown of test_upload: error during teardown of fixture 'bucket'" },
  'cli-argument-error': { message: 'flag provided but not defined: -runx' },
  'pod-configuration-error': { message: 'Warning  Failed  kubelet  Error: CreateContainerConfigError: secret "db-creds" not found' },
  'package-spec-invalid': { message: 'CondaValueError: invalid package specification: numpy==' },
  'grpc-status-configuration': { message: 'rpc error: code = FailedPrecondition desc = the cluster is not ready' },
  'exception-name-permission': { message: 'Azure::Storage::InsufficientPermissionsError raised by upload_blob' },
  'exception-name-connection': { message: 'Npgsql.NpgsqlException (0x80004005): Exception while connecting ---> System.Net.Sockets.SocketException' },
  'exception-name-configuration': { message: 'acme.settings.SettingsError: workers is a string' },
  'exception-name-dependency': { message: 'org.gradle.internal.resolve.ModuleVersionResolveException: could not find com.acme:lib:1.2' },
  'exception-name-assertion': { message: 'Minitest::ExpectationNotMetError raised in spec_helper' },
  'cleanup-generic': { message: "Error: failed to unmount /mnt/scratch/job-42: target still in use" },
  'gpu-oom-accelerator': { message: 'torch.OutOfMemoryError: HIP out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 63.98 GiB' },
  'image-pull-unauthorized': {
    message: 'Warning  Failed  kubelet  Error: ErrImagePull: rpc error: code = Unknown desc = failed to authorize: 401 Unauthorized',
  },
  'machine-check-error': { message: 'kernel: mce: [Hardware Error]: Machine check events logged' },
  'disk-io-error': { message: '[ 415.118808] blk_update_request: I/O error, dev sdb, sector 8192 op 0x0:(READ) flags 0x0' },
  'kernel-hung-task': { message: 'INFO: task jbd2/sda1-8:412 blocked for more than 120 seconds.' },
  'gpu-device-lost': { message: 'RuntimeError: level_zero backend failed with error: 20 (UR_RESULT_ERROR_DEVICE_LOST)' },
  'interconnect-completion-error': { message: 'NCCL WARN NET/IB : Got completion from peer 10.0.0.7<51234> with error 12, opcode 0, len 0, vendor err 129' },
  'scheduler-insufficient-gpu': { message: 'Warning  FailedScheduling  default-scheduler  0/3 nodes are available: 3 Insufficient nvidia.com/gpu.' },
  'accelerator-unavailable': { message: 'RuntimeError: No HIP GPUs are available' },
  'exec-format-error': { message: 'exec /usr/local/bin/entrypoint.sh: exec format error' },
  'kernel-shared-memory-limit': { message: 'triton.runtime.errors.OutOfResources: out of resource: shared memory, Required: 131072, Hardware limit: 101376.' },
  'cudnn-not-supported': { message: 'RuntimeError: cuDNN error: CUDNN_STATUS_NOT_SUPPORTED. This error may appear if you passed in a non-contiguous input.' },
  'cpu-lacks-instruction-set': { message: 'The TensorFlow library was compiled to use AVX instructions, but these aren\'t available on your machine.' },
  'out-of-memory-exception-hierarchy': { message: "redis.exceptions.ResponseError: OOM command not allowed when used memory > 'maxmemory'." },
  'scheduler-insufficient-resources': { message: '0/4 nodes are available: 4 Insufficient memory.' },
  'jvm-fatal-error': { message: '# A fatal error has been detected by the Java Runtime Environment:\n#\n# Problematic frame:\n# C  [libfoo.so+0x1234]' },
  'kernel-segfault-line': { message: '[30715.609705] python3[26932]: segfault at 0 ip 00007b439139d7fd sp 00007ffe8565dda8 error 4 in libc.so.6' },
  'crash-loop': { message: 'Back-off restarting failed container; pod is in CrashLoopBackOff' },
  'build-daemon-died': { message: 'Gradle build daemon disappeared unexpectedly (it may have been killed or may have crashed)' },
  'test-worker-crashed': { message: '[gw3] node down: Not properly terminated\nreplacing crashed worker gw3' },
  'node-not-ready': { message: 'Ready  Unknown  NodeStatusUnknown  Kubelet stopped posting node status.' },
  'message-size-limit': { message: 'grpc: received message larger than max (4977817 vs. 4194304)' },
  'cloud-throttling': { message: 'botocore.exceptions.ClientError: An error occurred (ThrottlingException) when calling the PutMetricData operation: Rate exceeded' },
  'collective-peer-exited': { message: 'torch.distributed.DistBackendError: NCCL error: remote process exited or there was a network error' },
  'teardown-leak': { message: 'Warning: WARNING: destroy_process_group() was not called before program exit, which can leak resources.' },
  'timeout-hierarchy': { message: 'asyncio.exceptions.CancelledError during shutdown: concurrent.futures._base.TimeoutError' },
  'connection-closed': { message: 'httpx.RemoteProtocolError: Server disconnected without sending a response.' },
  'test-file-not-loadable': { message: "cannot load such file -- spec_helper (LoadError)" },
  'container-image-not-found': { message: 'Error response from daemon: manifest for example/app:v9 not found: manifest unknown: manifest unknown' },
  'dependency-exception-hierarchy': { message: 'Exception in thread "main" java.lang.NoClassDefFoundError: org/example/Main' },
  'resolver-conflict': { message: 'UnsatisfiableError: The following specifications were found to be incompatible with each other:' },
  'native-build-failed': { message: 'collect2: error: ld returned 1 exit status' },
  'credentials-or-access': { message: 'botocore.exceptions.NoCredentialsError: Unable to locate credentials' },
  'no-tests-collected': { message: 'No tests found, exiting with code 1\nRun with `--passWithNoTests` to exit with code 0' },
  'invalid-configuration': { message: 'Error: Unknown config option "testPathPattern" with value "./src/**/spec/"' },
  'runner-report-failed': { message: 'test result: FAILED. 11 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out' },
  'service-exited-with-error': { message: 'systemd[1]: worker.service: Main process exited, code=exited, status=1/FAILURE' },
  'opaque-failure': { message: 'npm ERR! code ELIFECYCLE\nnpm ERR! errno 1\nnpm ERR! app@1.0.0 test: `node run.js`' },
  'pytest-exit-usage-or-no-tests': { message: '============ 12 deselected in 0.05s ============', exitCode: 5 },
  'pytest-exit-tests-failed': { message: '============ short test summary info ============', exitCode: 1 },
  'jest-exit-tests-failed': { message: '$ jest --ci\nerror Command failed.', exitCode: 1 },
  'cargo-test-exit-101': { message: 'error: test failed, to rerun pass `--lib`\nrunning 3 tests', exitCode: 101 },
  'gpu-fallen-off-bus': { message: 'NVRM: Xid (PCI:0000:3b:00): 79, pid=1234, name=python, GPU has fallen off the bus.' },
  'gpu-ecc-uncorrectable': { message: 'RuntimeError: CUDA error: uncorrectable ECC error encountered' },
  'xid-memory-error': {
    message: 'NVRM: Xid (PCI:0000:3b:00): 63, pid=2211, name=python3, Row Remapper: New row marked for remapping, reset gpu to activate.',
  },
  'xid-nvlink-error': {
    message: 'NVRM: Xid (PCI:0000:07:00): 74, pid=1234, name=python3, NVLink: fatal error detected on link 2(0x0, 0x0, 0x10000, 0x0)',
  },
  'xid-application-fault': {
    message:
      'NVRM: Xid (PCI:0000:65:00): 31, pid=4321, name=pytest, Ch 00000010, intr 10000000. MMU Fault: ENGINE GRAPHICS faulted @ 0x7f3c_00000000. Fault is of type FAULT_PDE ACCESS_TYPE_VIRT_READ',
  },
  'xid-other': { message: 'NVRM: Xid (PCI:0000:3b:00): 109, pid=1797828, name=pt_main_thread, Ch 00000008, errorString CTX SWITCH TIMEOUT' },
  'gpu-reset-required': { message: 'NVRM: nvAssertOkFailedNoLog: Assertion failed: Reset required [NV_ERR_RESET_REQUIRED] (0x00000062)' },
  'thermal-throttling': { message: 'CPU3: Package temperature above threshold, cpu clock throttled (total events = 164)' },
  'nvidia-driver-missing': {
    message:
      'nvidia-container-cli: initialization error: load library failed: libnvidia-ml.so.1: cannot open shared object file: no such file or directory: unknown.',
  },
  'nvml-unavailable': { message: 'Failed to initialize NVML: Driver/library version mismatch' },
  'no-cuda-device': { message: 'RuntimeError: No CUDA GPUs are available' },
  'gpu-busy-or-unavailable': { message: 'RuntimeError: CUDA error: CUDA-capable device(s) is/are busy or unavailable' },
  'cuda-library-version-mismatch': {
    message: 'Loaded runtime CuDNN library: 8.0.4 but source was compiled with: 8.1.0. CuDNN library needs to have matching major version.',
  },
  'jax-cuda-backend-failed': {
    message: "Unable to initialize backend 'cuda': module 'jaxlib.xla_extension' has no attribute 'GpuAllocatorConfig'",
  },
  'cuda-library-not-initialized': { message: 'RuntimeError: cuDNN error: CUDNN_STATUS_NOT_INITIALIZED' },
  'build-lacks-gpu-arch': { message: 'RuntimeError: CUDA error: no kernel image is available for execution on the device' },
  'gpu-compute-capability-too-low': { message: 'RuntimeError: FlashAttention only supports Ampere GPUs or newer.' },
  'cuda-driver-too-old': { message: 'RuntimeError: CUDA driver version is insufficient for CUDA runtime version' },
  'cpu-illegal-instruction': { message: 'Illegal instruction (core dumped)', exitCode: 132 },
  'gpu-oom-pytorch': {
    message: 'torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 15.77 GiB of which 1.12 GiB is free.',
  },
  'gpu-oom-exception-type': { message: 'allocation failed', exceptionType: 'torch.cuda.OutOfMemoryError' },
  'gpu-oom-cuda-driver': { message: 'RuntimeError: CUDA error: out of memory' },
  'gpu-oom-cuda-library-alloc': { message: 'RuntimeError: CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling `cublasCreate(handle)`' },
  'host-oom-tensorflow-cpu': {
    message:
      'ResourceExhaustedError: OOM when allocating tensor with shape[1024,1024,64] and type float on /job:localhost/replica:0/task:0/device:CPU:0 by allocator cpu',
  },
  'gpu-oom-tensorflow': {
    message:
      'ResourceExhaustedError: OOM when allocating tensor with shape[64,512,512] and type float on /job:localhost/replica:0/task:0/device:GPU:0 by allocator GPU_0_bfc',
  },
  'gpu-oom-xla': { message: 'jaxlib.xla_extension.XlaRuntimeError: RESOURCE_EXHAUSTED: Out of memory while trying to allocate 8589934592 bytes.' },
  'host-oom-kernel-killer': {
    message: '[12345.678] Out of memory: Killed process 4242 (python) total-vm:32000000kB, anon-rss:30000000kB, file-rss:0kB',
  },
  'host-oom-killed-sigkill': { message: './run_tests.sh: line 12:  4242 Killed                  python -m pytest tests/', exitCode: 137 },
  'host-oom-python-memoryerror': {
    message: 'numpy.core._exceptions._ArrayMemoryError: Unable to allocate 37.3 GiB for an array with shape (100000, 50000) and data type float64',
  },
  'host-oom-exception-type': { exceptionType: 'MemoryError' },
  'runtime-heap-limit': { message: 'Exception in thread "main" java.lang.OutOfMemoryError: Java heap space' },
  'evicted-low-on-resource': { message: 'The node was low on resource: memory. Threshold quantity: 100Mi, available: 91524Ki.' },
  'shared-memory-exhausted': {
    message: 'ERROR: Unexpected bus error encountered in worker. This might be caused by insufficient shared memory (shm).',
  },
  'out-of-memory-generic': { message: "terminate called after throwing an instance of 'std::bad_alloc'\n  what():  std::bad_alloc" },
  'disk-full': { message: "OSError: [Errno 28] No space left on device: '/tmp/pytest-of-ci/pytest-3/ckpt.pt'" },
  'disk-quota-exceeded': { message: 'OSError: [Errno 122] Disk quota exceeded' },
  'read-only-file-system': { message: "OSError: [Errno 30] Read-only file system: '/workspace/out'" },
  'too-many-open-files': { message: "OSError: [Errno 24] Too many open files: '/proc/self/fd'" },
  'cuda-device-side-assert': {
    message:
      'IndexKernel.cu:92: operator(): block: [0,0,0], thread: [0,0,0] Assertion `index out of bounds` failed.\nRuntimeError: CUDA error: device-side assert triggered',
  },
  'cuda-illegal-memory-access': { message: 'RuntimeError: CUDA error: an illegal memory access was encountered' },
  'cuda-library-execution-failed': {
    message: 'RuntimeError: CUDA error: CUBLAS_STATUS_EXECUTION_FAILED when calling `cublasSgemm( handle, opa, opb, m, n, k, &alpha, a, lda)`',
  },
  'ray-worker-died': {
    message:
      'ray.exceptions.RayActorError: The actor died unexpectedly before finishing this task.\nThe actor is dead because its worker process has died. Worker exit type: SYSTEM_ERROR',
  },
  'ci-agent-offline': {
    message: 'Agent went offline during the build\nERROR: Connection was broken: java.io.IOException: Unexpected termination of the channel',
  },
  'heartbeat-timeout': { message: 'ActivityFailure: activity Heartbeat timeout (timeoutType: HEARTBEAT)' },
  'node-preempted': { message: 'slurmstepd: error: *** JOB 4242 ON gpu-07 CANCELLED AT 2024-05-01T10:00:00 DUE TO PREEMPTION ***' },
  'cluster-node-lost': { message: 'distributed.scheduler - INFO - Lost all workers' },
  'segmentation-fault': { message: 'Fatal Python error: Segmentation fault', exitCode: 139 },
  'go-runtime-fatal-signal': { message: 'fatal error: unexpected signal during runtime execution\n[signal SIGBUS: bus error code=0x2 addr=0x7f]' },
  'bus-error': { message: 'Bus error (core dumped)' },
  'aborted-core-dumped': {
    message: "python: malloc.c:2379: sysmalloc: Assertion `old_size == 0' failed.\nAborted (core dumped)",
    exitCode: 134,
  },
  'killed-by-sigkill': { message: 'error Command failed with signal "SIGKILL".' },
  'terminated-by-sigterm': { message: 'torch.distributed.elastic.multiprocessing.api.SignalException: Process 4242 got signal: 15' },
  'interrupted-sigint': { message: 'Traceback (most recent call last):\n  File "train.py", line 10, in <module>\n    time.sleep(1)\nKeyboardInterrupt' },
  'interrupted-exception-type': { message: 'interrupted', exceptionType: 'KeyboardInterrupt' },
  'http-429-too-many-requests': {
    message: 'requests.exceptions.HTTPError: 429 Client Error: Too Many Requests for url: https://huggingface.co/api/models/bert-base-uncased',
  },
  'rate-limited': { message: 'API rate limit exceeded for 203.0.113.7.' },
  'service-overloaded': { message: 'HTTPError: 503 Server Error: Service Unavailable for url: https://pypi.org/simple/torch/' },
  'grpc-resource-exhausted': {
    message: 'grpc._channel._InactiveRpcError: <_InactiveRpcError of RPC that terminated with:\n\tstatus = StatusCode.RESOURCE_EXHAUSTED\n\tdetails = "Quota exceeded"',
  },
  'queue-full': { message: 'Error: task queue is full, rejecting new work' },
  'nccl-watchdog-timeout': {
    message:
      '[Rank 3] Watchdog caught collective operation timeout: WorkNCCL(SeqNum=12, OpType=ALLREDUCE, NumelIn=1, NumelOut=1, Timeout(ms)=600000) ran for 600041 milliseconds before timing out.',
  },
  'nccl-system-error': {
    message:
      'torch.distributed.DistBackendError: NCCL error in: ../torch/csrc/distributed/c10d/ProcessGroupNCCL.cpp:1970, unhandled system error (run with NCCL_DEBUG=INFO for details), NCCL version 2.19.3',
  },
  'grpc-deadline-exceeded': { message: 'io.grpc.StatusRuntimeException: DEADLINE_EXCEEDED: deadline exceeded after 29.999s' },
  'connect-etimedout': { message: 'Error: connect ETIMEDOUT 10.0.0.12:5432' },
  'read-timeout': {
    message: "requests.exceptions.ReadTimeout: HTTPSConnectionPool(host='files.pythonhosted.org', port=443): Read timed out. (read timeout=15)",
  },
  'timeout-generic': { message: 'Error: Request timed out after 30000ms' },
  'timeout-exception-type': { message: 'waiting for the fixture', exceptionType: 'TimeoutError' },
  'connection-refused': { message: 'Error: connect ECONNREFUSED 127.0.0.1:7233' },
  'assertion-retried-until-timeout': { message: "CypressError: Timed out retrying after 4000ms: Expected to find element: '#submit', but never found it." },
  'ssh-auth-rejected': { message: 'fatal: [web1]: UNREACHABLE! => {"msg": "Failed to connect to the host via ssh: deploy@web1: Permission denied (publickey).", "unreachable": true}' },
  'connection-reset': { message: 'Error: read ECONNRESET\n    at TCP.onStreamRead (node:internal/stream_base_commons:217:20)' },
  'broken-pipe': { message: 'BrokenPipeError: [Errno 32] Broken pipe' },
  'dns-resolution-failure': { message: 'socket.gaierror: [Errno -3] Temporary failure in name resolution' },
  'tls-failure': {
    message: 'ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self signed certificate in certificate chain',
  },
  'grpc-unavailable': { message: 'Error: 14 UNAVAILABLE: Connection dropped' },
  'network-unreachable': { message: 'OSError: [Errno 101] Network is unreachable' },
  'connection-exception-type': { message: 'upload failed', exceptionType: 'requests.exceptions.ConnectionError' },
  'device-busy-on-cleanup': { message: "rm: cannot remove '/mnt/scratch/job-42': Device or resource busy" },
  'directory-not-empty': { message: "OSError: [Errno 39] Directory not empty: '/tmp/tmpa1b2c3/cache'" },
  'file-locked-on-delete': { message: "Error: EBUSY: resource busy or locked, unlink 'C:\\work\\out\\trace.log'" },
  'cleanup-failed': { message: 'UserWarning: resource_tracker: There appear to be 6 leaked semaphore objects to clean up at shutdown' },
  'python-module-not-found': { message: "ModuleNotFoundError: No module named 'transformers'" },
  'python-import-error': { message: "ImportError: cannot import name 'soft_unicode' from 'markupsafe'" },
  'dependency-exception-type': { message: 'import failed', exceptionType: 'ImportError' },
  'shared-library-missing': { message: "ImportError: /usr/lib/libstdc++.so.6: version `GLIBCXX_3.4.30' not found (required by torch/lib/libtorch.so)" },
  'pip-resolution-impossible': {
    message: 'ERROR: ResolutionImpossible: for help visit https://pip.pypa.io/en/latest/topics/dependency-resolution/#dealing-with-dependency-conflicts',
  },
  'pip-no-matching-distribution': {
    message:
      'ERROR: Could not find a version that satisfies the requirement torch==9.9.9 (from versions: 2.2.0, 2.2.1)\nERROR: No matching distribution found for torch==9.9.9',
  },
  'npm-eresolve': { message: 'npm ERR! code ERESOLVE\nnpm ERR! ERESOLVE could not resolve' },
  'npm-package-not-found': { message: 'npm ERR! code E404\nnpm ERR! 404 Not Found - GET https://registry.npmjs.org/@acme%2fmissing - Not found' },
  'node-module-not-found': { message: "Cannot find module '@/utils/date' from 'src/components/Calendar.test.ts'" },
  'shell-command-not-found': { message: 'bash: nvcc: command not found', exitCode: 127 },
  'shell-exit-127-no-such-file': { message: "/usr/bin/env: 'python': No such file or directory", exitCode: 127 },
  'cli-unrecognized-arguments': { message: 'pytest: error: unrecognized arguments: --timeout=600' },
  'pytest-fixture-not-found': { message: "E       fixture 'benchmark' not found" },
  'pytest-config-file-error': { message: "ERROR: /repo/pytest.ini:4: unexpected line: 'addopts = -ra'" },
  'pytest-collection-error': { message: '___ ERROR collecting tests/test_api.py ___\n!!!!!!! Interrupted: 1 error during collection !!!!!!!' },
  'yaml-syntax-error': { message: 'yaml.scanner.ScannerError: mapping values are not allowed here\n  in "config.yaml", line 3, column 9' },
  'config-validation-error': {
    message: 'pydantic_core._pydantic_core.ValidationError: 1 validation error for TrainConfig\nbatch_size\n  Input should be greater than 0',
  },
  'invalid-option-value': { message: "Error: Invalid value for '--device': 'tpu' is not one of 'cpu', 'cuda'." },
  'config-key-missing': { message: "KeyError: 'model_config'" },
  'config-exception-type': { message: 'bad spec', exceptionType: 'jsonschema.exceptions.ValidationError' },
  'permission-denied-exec': { message: '/bin/sh: 1: ./run_tests.sh: Permission denied', exitCode: 126 },
  'eacces-permission-denied': { message: "Error: EACCES: permission denied, mkdir '/usr/local/lib/node_modules/.staging'" },
  'pytest-failed-assertion': { message: 'FAILED tests/test_math.py::test_add - assert 3 == 4', exitCode: 1 },
  'assertion-error': { message: 'AssertionError: Tensor-likes are not close!', exitCode: 1 },
  'assertion-exception-type': { message: 'check failed', exceptionType: 'AssertionError' },
  'jest-expectation-failed': { message: 'expect(received).toBe(expected) // Object.is equality\n\nExpected: 4\nReceived: 5' },
  'rust-assertion-panic': { message: "thread 'tests::parses' panicked at src/lib.rs:42:9:\nassertion `left == right` failed\n  left: 1\n right: 2" },
  'junit-style-failure': { message: 'testParse(com.acme.ParserTest)  Time elapsed: 0.01 sec  <<< FAILURE!' },
  'unittest-failure': { message: 'FAIL: test_roundtrip (tests.test_codec.CodecTest)\n----------------------------------------\nFAILED (failures=1)' },
  'array-mismatch': { message: 'Not equal to tolerance rtol=1e-07, atol=0\n\nMismatched elements: 3 / 10 (30%)' },
  'test-summary-failed': { message: 'Tests:       2 failed, 14 passed, 16 total' },
  'exit-sigill': { exitCode: 132 },
  'exit-sigsegv': { signal: 'SIGSEGV' },
  'exit-sigabrt': { exitCode: 134 },
  'exit-sigfpe': { exitCode: 136 },
  'floating-point-exception': { message: 'Floating point exception (core dumped)' },
  'exit-sigbus': { exitCode: 135 },
  'exit-sigkill': { signal: 'SIGKILL' },
  'exit-sigterm': { exitCode: 143 },
  'exit-sigint': { signal: 'INT' },
  'exit-127-command-not-found': { message: '', exitCode: 127 },
  'exit-126-not-executable': { exitCode: 126 },
};

const ruleNamed = (name: string) => {
  const rule = BUILT_IN_RULES.find((r) => r.name === name);
  if (!rule) throw new Error(`no built-in rule ${name}`);
  return rule;
};

describe('the built-in rule table', () => {
  it('has a sample for every rule, and no sample for a rule that does not exist', () => {
    const names = BUILT_IN_RULES.map((r) => r.name);
    expect(names.filter((n) => !(n in SAMPLES))).toEqual([]);
    expect(Object.keys(SAMPLES).filter((n) => !names.includes(n))).toEqual([]);
  });

  it('has unique kebab-case names, built-in categories, a description and at least one condition per row', () => {
    const names = BUILT_IN_RULE_DEFINITIONS.map((r) => r.name);
    expect(new Set(names).size).toBe(names.length);
    for (const rule of BUILT_IN_RULE_DEFINITIONS) {
      expect(rule.name).toMatch(/^[a-z0-9]+(?:-[a-z0-9]+)*$/);
      expect(ERROR_CATEGORIES).toContain(rule.category);
      expect(rule.description.length).toBeGreaterThan(10);
      expect(Boolean(rule.pattern || rule.exitCodes || rule.signals || rule.exceptionTypes)).toBe(true);
      // Stateful flags would make a shared rule match differently on every call.
      expect(rule.pattern?.global ?? false).toBe(false);
      expect(rule.pattern?.sticky ?? false).toBe(false);
    }
  });

  it('puts exit-code and signal-only rows after every row that reads text', () => {
    const firstBare = BUILT_IN_RULE_DEFINITIONS.findIndex((r) => !r.pattern && !r.exceptionTypes);
    expect(firstBare).toBeGreaterThan(0);
    expect(BUILT_IN_RULE_DEFINITIONS.slice(firstBare).every((r) => !r.pattern && !r.exceptionTypes)).toBe(true);
  });

  describe.each(BUILT_IN_RULES.map((r) => [r.name]))('rule %s', (name) => {
    it('decides its sample', () => {
      const sample = SAMPLES[name];
      if (!sample) throw new Error(`no sample for ${name}`);
      const result = classifyFailure(sample);
      const rule = ruleNamed(name);
      expect(result).toMatchObject({ rule: name, category: rule.category, kind: rule.kind });
    });
  });
});

describe('precedence', () => {
  const pytestRun = (failureLine: string) =>
    [
      '============================= test session starts ==============================',
      'collected 12 items',
      'tests/test_model.py ....F.......                                         [100%]',
      '=================================== FAILURES ===================================',
      '_________________________________ test_forward _________________________________',
      failureLine,
      'E       assert False',
      '=========================== short test summary info ============================',
      `FAILED tests/test_model.py::test_forward - ${failureLine}`,
      '========================= 1 failed, 11 passed in 41.02s =========================',
    ].join('\n');

  it('a CUDA OOM inside a failed pytest test is a resource problem, not a test failure', () => {
    const result = classifyFailure({
      message: 'Process exited with code 1',
      exitCode: 1,
      outputTail: pytestRun('torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 20.00 MiB'),
    });
    expect(result).toMatchObject({ category: 'RESOURCE_ALLOCATION_ERROR', kind: 'resource', rule: 'gpu-oom-pytorch' });
  });

  it('a GPU that fell off the bus beats the assertion that failed because of it', () => {
    const result = classifyFailure({
      exitCode: 1,
      outputTail: `${pytestRun('RuntimeError: CUDA error: unspecified launch failure')}\nNVRM: Xid (PCI:0000:3b:00): 79, GPU has fallen off the bus.`,
    });
    expect(result.rule).toBe('gpu-fallen-off-bus');
  });

  it('the ECC line wins over the device-side-assertions boilerplate every CUDA error carries', () => {
    const result = classifyFailure({
      message:
        'RuntimeError: CUDA error: uncorrectable ECC error encountered\nCompile with `TORCH_USE_CUDA_DSA` to enable device-side assertions.',
    });
    expect(result.rule).toBe('gpu-ecc-uncorrectable');
  });

  it('a missing kernel image is a capability error even though the process then dumped core', () => {
    const result = classifyFailure({ message: 'failed: no kernel image is available for execution on the device\nAborted (core dumped)', exitCode: 134 });
    expect(result).toMatchObject({ category: 'HARDWARE_CAPABILITY_ERROR', kind: 'validation' });
  });

  it('"Found no NVIDIA driver" raised as an AssertionError is a hardware problem', () => {
    const result = classifyFailure({ message: 'AssertionError: Found no NVIDIA driver on your system.' });
    expect(result.category).toBe('HARDWARE_AVAILABILITY_ERROR');
  });

  it('a short exception name matches any module, a dotted one only that class', () => {
    expect(classifyFailure({ exceptionType: 'torch.cuda.OutOfMemoryError' }).rule).toBe('gpu-oom-exception-type');
    expect(classifyFailure({ exceptionType: 'java.lang.OutOfMemoryError' }, BUILT_IN_RULES, RULES_ONLY).rule).toBe(UNRECOGNISED_RULE);
    expect(classifyFailure({ exceptionType: 'numpy.core._exceptions._ArrayMemoryError' }).rule).toBe('host-oom-exception-type');
  });

  it('"not found" is a missing command only in the shell\'s own format', () => {
    expect(classifyFailure({ message: 'sh: 1: nvcc: not found', exitCode: 127 }).rule).toBe('shell-command-not-found');
    expect(classifyFailure({ message: 'HTTPError: 404 Client Error: Not Found', exitCode: 1 }, BUILT_IN_RULES, RULES_ONLY).category).not.toBe(
      'TEST_DEPENDENCY_ERROR',
    );
  });

  it('a missing driver library is the host, a missing CUDA runtime library is a dependency', () => {
    expect(classifyFailure({ message: 'OSError: libcuda.so.1: cannot open shared object file: No such file or directory' }).category).toBe(
      'HARDWARE_AVAILABILITY_ERROR',
    );
    expect(classifyFailure({ message: 'OSError: libcudart.so.12: cannot open shared object file: No such file or directory' }).category).toBe(
      'TEST_DEPENDENCY_ERROR',
    );
  });

  it('an agent that went offline is a disconnection even when the cause is a reset connection', () => {
    const result = classifyFailure({
      message: 'Agent went offline during the build\nCaused by: java.io.IOException: Connection reset by peer',
    });
    expect(result.category).toBe('WORKER_DISCONNECTION_ERROR');
  });

  it('a 503 that says "overloaded" is overload, not an unavailable connection', () => {
    const result = classifyFailure({ message: "503 UNAVAILABLE. {'message': 'The model is overloaded. Please try again later.'}" });
    expect(result.category).toBe('WORKER_OVERLOAD_ERROR');
  });

  it('gRPC RESOURCE_EXHAUSTED about memory is an OOM, otherwise overload', () => {
    expect(classifyFailure({ message: 'XlaRuntimeError: RESOURCE_EXHAUSTED: Out of memory while trying to allocate 1024 bytes.' }).rule).toMatch(
      /^gpu-oom-/,
    );
    expect(classifyFailure({ message: 'io.grpc.StatusException: RESOURCE_EXHAUSTED: quota exceeded' }).category).toBe('WORKER_OVERLOAD_ERROR');
  });

  it('a pytest collection error caused by a missing module is a dependency error', () => {
    const result = classifyFailure({
      message: "ERROR collecting tests/test_io.py\nE   ModuleNotFoundError: No module named 'h5py'\n!!! Interrupted: 1 error during collection !!!",
    });
    expect(result.category).toBe('TEST_DEPENDENCY_ERROR');
  });

  it('text beats the bare exit code: exit 137 with an explicit OOM-killer line is host OOM', () => {
    expect(classifyFailure({ message: 'Memory cgroup out of memory: Killed process 31 (python)', exitCode: 137 }).rule).toBe('host-oom-kernel-killer');
    expect(classifyFailure({ message: 'npm run build exited', exitCode: 137 }).rule).toBe('exit-sigkill');
  });

  it('an explicit refused connection beats the timeout wrapper that reports it', () => {
    expect(classifyFailure({ message: 'pymongo.errors.ServerSelectionTimeoutError: localhost:27017: [Errno 111] Connection refused' }, BUILT_IN_RULES, RULES_ONLY).rule).toBe(
      'connection-refused',
    );
  });

  it('a timeout parameter in a stack frame or the Node timer frame is not a timeout', () => {
    const frames = 'Traceback (most recent call last):\n  File "client.py", line 198, in drain_events\n    self._basic_recv(timeout)\nChannelError: Bad frame read';
    expect(classifyFailure({ message: frames }, BUILT_IN_RULES, RULES_ONLY).category).not.toBe('NETWORK_TIMEOUT_ERROR');
    expect(classifyFailure({ message: 'SomeError: boom\n    at Timeout._onTimeout (lib/topology.js:285:38)' }, BUILT_IN_RULES, RULES_ONLY).category).not.toBe('NETWORK_TIMEOUT_ERROR');
    expect(classifyFailure({ message: '33 - UNIT_ign_TEST (Timeout)' }, BUILT_IN_RULES, RULES_ONLY).category).toBe('NETWORK_TIMEOUT_ERROR');
  });

  it('a JVM flag that names OutOfMemoryError is not an out-of-memory error', () => {
    const result = classifyFailure({ message: "Unrecognized VM option 'ExitOnOutOfMemoryError'\nError: Could not create the Java Virtual Machine." }, BUILT_IN_RULES, RULES_ONLY);
    expect(result).toMatchObject({ category: 'TEST_CONFIGURATION_ERROR', rule: 'cli-argument-error' });
  });

  it('a heartbeat timeout with a long worker id between the words is still a disconnection', () => {
    expect(classifyFailure({ message: 'java.util.concurrent.TimeoutException: Heartbeat of TaskManager with id 172.18.0.3:33783-3e38f6 timed out.' }).rule).toBe('heartbeat-timeout');
  });

  it('reads the output tail, not only the message', () => {
    const result = classifyFailure({ message: 'Process exited with code 1', exitCode: 1, outputTail: 'connecting to db...\nError: connect ECONNREFUSED 10.1.2.3:5432\n' });
    expect(result.rule).toBe('connection-refused');
  });

  it('searches only the last 64 KiB of the output tail', () => {
    const filler = 'INFO step ok\n'.repeat(8000); // ~100 KiB
    expect(classifyFailure({ outputTail: `RuntimeError: CUDA out of memory.\n${filler}`, exitCode: 1 }, BUILT_IN_RULES, RULES_ONLY).rule).toBe(
      UNRECOGNISED_RULE,
    );
    expect(classifyFailure({ outputTail: `${filler}RuntimeError: CUDA out of memory.\n`, exitCode: 1 }).rule).toBe('gpu-oom-pytorch');
  });

  it('reads the last 4 KiB in full and, before them, the lines that look like errors', () => {
    const filler = 'INFO step ok\n'.repeat(2000); // ~26 KiB
    const log = `${filler}RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB\n${filler}`;
    expect(classifyFailure({ outputTail: log, exitCode: 1 }).rule).toBe('gpu-oom-pytorch');
    expect(outputEvidence(log).length).toBeLessThan(OUTPUT_FULL_LIMIT + 200);
    expect(outputEvidence('short log\n')).toBe('short log\n');
  });
});

describe('exit codes and signals', () => {
  it('treats a signal and the shell exit code 128+n as the same fact', () => {
    expect(classifyFailure({ exitCode: 137 }).rule).toBe('exit-sigkill');
    expect(classifyFailure({ signal: 'SIGKILL' }).rule).toBe('exit-sigkill');
    expect(classifyFailure({ signal: 'kill' }).rule).toBe('exit-sigkill');
    expect(classifyFailure({ signal: '9' }).rule).toBe('exit-sigkill');
    expect(classifyFailure({ exitCode: 139 }).rule).toBe('exit-sigsegv');
  });

  it('a "Killed" line needs the SIGKILL evidence to count as host OOM', () => {
    expect(classifyFailure({ message: 'Killed', signal: 'SIGKILL' }).rule).toBe('host-oom-killed-sigkill');
    expect(classifyFailure({ message: 'Killed', exitCode: 1 }, BUILT_IN_RULES, RULES_ONLY).rule).toBe(UNRECOGNISED_RULE);
  });

  it('anything unrecognisable is UNKNOWN_ERROR, transient', () => {
    expect(classifyFailure({ message: 'something went wrong', exitCode: 1 }, BUILT_IN_RULES, RULES_ONLY)).toEqual({
      category: 'UNKNOWN_ERROR',
      kind: 'transient',
      rule: UNRECOGNISED_RULE,
      decidedBy: 'rule',
      confidence: 0,
    });
    expect(classifyFailure({})).toMatchObject({ category: 'UNKNOWN_ERROR', kind: 'transient', decidedBy: 'rule', confidence: 0 });
  });
});

describe('kind conventions', () => {
  it('GPU OOM rules are named gpu-oom-*, RESOURCE_ALLOCATION_ERROR and resource', () => {
    const gpuOom = BUILT_IN_RULES.filter((r) => r.name.startsWith('gpu-oom'));
    expect(gpuOom.length).toBeGreaterThanOrEqual(4);
    for (const rule of gpuOom) expect([rule.category, rule.kind]).toEqual(['RESOURCE_ALLOCATION_ERROR', 'resource']);
  });

  it('host OOM rules are named host-oom-*, RESOURCE_ALLOCATION_ERROR and resource', () => {
    const hostOom = BUILT_IN_RULES.filter((r) => r.name.startsWith('host-oom'));
    expect(hostOom.map((r) => r.name)).toEqual(expect.arrayContaining(['host-oom-kernel-killer', 'host-oom-killed-sigkill']));
    for (const rule of hostOom) expect([rule.category, rule.kind]).toEqual(['RESOURCE_ALLOCATION_ERROR', 'resource']);
  });

  it('assertion and mismatch failures are validation', () => {
    for (const rule of BUILT_IN_RULES.filter((r) => r.category === 'TEST_EXECUTION_ERROR')) expect(rule.kind).toBe('validation');
  });

  it('capability: validation when the build lacks the target, resource when the device is too old', () => {
    expect(ruleNamed('build-lacks-gpu-arch').kind).toBe('validation');
    expect(ruleNamed('gpu-compute-capability-too-low').kind).toBe('resource');
    expect(ruleNamed('cpu-illegal-instruction').kind).toBe('resource');
    expect(classifyFailure({ message: 'NVIDIA A100 with CUDA capability sm_80 is not compatible with the current PyTorch installation.' }).kind).toBe(
      'validation',
    );
    expect(classifyFailure({ message: 'ValueError: Bfloat16 is only supported on GPUs with compute capability of at least 8.0.' }).kind).toBe('resource');
  });

  it('deterministic crashes are permanent; SIGKILL and the OOM killer are resource', () => {
    for (const name of ['segmentation-fault', 'cuda-illegal-memory-access', 'cuda-device-side-assert', 'exit-sigsegv']) {
      expect([name, ruleNamed(name).kind]).toEqual([name, 'permanent']);
    }
    for (const name of ['exit-sigkill', 'killed-by-sigkill', 'ray-worker-died', 'host-oom-killed-sigkill', 'host-oom-kernel-killer']) {
      expect([name, ruleNamed(name).kind]).toEqual([name, 'resource']);
    }
  });

  it('a package that does not exist is permanent; a resolver conflict is validation', () => {
    expect(ruleNamed('pip-no-matching-distribution').kind).toBe('permanent');
    expect(ruleNamed('npm-package-not-found').kind).toBe('permanent');
    expect(ruleNamed('pip-resolution-impossible').kind).toBe('validation');
  });
});

describe('excerpts', () => {
  it('returns the matched text, at most 200 characters', () => {
    const result = classifyFailure({ message: `prefix ${'x'.repeat(50)} No space left on device` });
    expect(result.excerpt).toBe('No space left on device');
    const long = classifyFailure({ message: `rm: cannot remove '/mnt/${'d/'.repeat(140)}': Device or resource busy` });
    expect(long.rule).toBe('device-busy-on-cleanup');
    expect(long.excerpt?.length).toBeLessThanOrEqual(EXCERPT_LIMIT);
  });

  it('has no excerpt when only the exit code decided', () => {
    expect(classifyFailure({ exitCode: 143 }).excerpt).toBeUndefined();
  });
});

describe('JUnit reports', () => {
  const report = (body: string) =>
    `<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="0" failures="1" tests="2">` +
    `<testcase classname="tests.test_a" name="test_ok" time="0.01"/>` +
    `<testcase classname="tests.test_a" name="test_bad" time="0.02">${body}</testcase></testsuite></testsuites>`;

  it('extracts failures and errors with decoded attributes and text', () => {
    const failures = parseJUnitFailures(
      report(`<failure message="assert 1 == 2&#10;where x &lt; y" type="AssertionError">def test_bad():&#10;&gt;  assert 1 == 2</failure>`) +
        `<error message="setup failed"/><error type="RuntimeError"><![CDATA[boom <raw>]]></error>`,
    );
    expect(failures).toEqual([
      { element: 'failure', message: 'assert 1 == 2\nwhere x < y', type: 'AssertionError', text: 'def test_bad():\n>  assert 1 == 2' },
      { element: 'error', message: 'setup failed', text: '' },
      { element: 'error', type: 'RuntimeError', text: 'boom <raw>' },
    ]);
  });

  it('a JUnit assertion failure is a test failure', () => {
    const result = classifyFailure({ exitCode: 1, junitXml: report('<failure message="assert 1 == 2" type="AssertionError">E   assert 1 == 2</failure>') });
    expect(result).toMatchObject({ category: 'TEST_EXECUTION_ERROR', kind: 'validation' });
  });

  it('infrastructure text inside a JUnit failure still wins', () => {
    const result = classifyFailure({
      exitCode: 1,
      junitXml: report('<failure message="RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB" type="RuntimeError">trace</failure>'),
    });
    expect(result.rule).toBe('gpu-oom-pytorch');
  });

  it('a JUnit report with failures and nothing recognisable is a test failure', () => {
    const result = classifyFailure({ exitCode: 1, junitXml: report('<failure message="values differ" type="CustomCheck">got 3</failure>') });
    expect(result).toEqual({
      category: 'TEST_EXECUTION_ERROR',
      kind: 'validation',
      rule: JUNIT_FAILURES_RULE,
      decidedBy: 'rule',
      confidence: 1,
      excerpt: 'values differ',
    });
  });

  it('a JUnit report without failures adds nothing', () => {
    expect(classifyFailure({ exitCode: 1, junitXml: report('') }).rule).toBe(UNRECOGNISED_RULE);
  });

  it('pytest exit 5 (no tests ran, -k selected nothing) is TEST_CONFIGURATION_ERROR/validation, from its text or its JUnit report', () => {
    const empty = '<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="0" failures="0" skipped="0" tests="0" time="0.01"/></testsuites>';
    const expected = { category: 'TEST_CONFIGURATION_ERROR', kind: 'validation', decidedBy: 'rule' };
    expect(classifyFailure({ message: '============ 25 deselected in 0.12s ============', exitCode: 5 })).toMatchObject(expected);
    expect(classifyFailure({ message: 'collected 25 items / 25 deselected\n\n=== no tests ran in 0.12s ===', exitCode: 5 })).toMatchObject(expected);
    expect(classifyFailure({ message: 'Error: Process completed with exit code 5.', exitCode: 5, junitXml: empty })).toMatchObject(expected);
    expect(classifyFailure({ message: 'Error: Process completed with exit code 1.', exitCode: 1 })).toMatchObject({ category: 'UNKNOWN_ERROR', rule: 'opaque-failure' });
  });

  it('a JUnit report that ran no test is a configuration error (pytest exit 5, -k selected nothing)', () => {
    const empty = '<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="0" failures="0" skipped="0" tests="0" time="0.01"/></testsuites>';
    expect(junitRanNoTests(empty)).toBe(true);
    expect(junitRanNoTests(report(''))).toBe(false);
    expect(classifyFailure({ message: 'pytest exited with code 5', exitCode: 5, junitXml: empty }, BUILT_IN_RULES, RULES_ONLY)).toMatchObject({
      category: 'TEST_CONFIGURATION_ERROR',
      kind: 'validation',
      decidedBy: 'rule',
    });
  });
});

describe('user configuration', () => {
  const config = {
    categories: [{ name: 'LICENSE_SERVER_ERROR', kind: 'transient' as const, description: 'the FlexLM server is down' }],
    rules: [
      { name: 'flexlm-unreachable', category: 'LICENSE_SERVER_ERROR', pattern: 'FLEXnet Licensing error:-(?:15|96)', flags: 'i' },
      { name: 'our-sim-oom', category: 'RESOURCE_ALLOCATION_ERROR', kind: 'permanent' as const, pattern: 'SIM_ALLOC_FAIL' },
      { name: 'sim-watchdog', category: 'WORKER_CRASH_ERROR', exitCodes: [77], signals: ['ABRT'] },
    ],
  };

  it('adds a category and a rule that is tried before the built-in table', () => {
    const rules = compileRules(parseClassifierConfig(config));
    expect(rules.slice(0, 3).map((r) => r.source)).toEqual(['config', 'config', 'config']);
    expect(classifyFailure({ message: 'flexnet licensing error:-15,10. System Error: 111 "Connection refused"' }, rules)).toMatchObject({
      category: 'LICENSE_SERVER_ERROR',
      kind: 'transient',
      rule: 'flexlm-unreachable',
    });
  });

  it('lets a user rule override a built-in decision, kind included', () => {
    const rules = compileRules(parseClassifierConfig(config));
    const obs = { message: 'SIM_ALLOC_FAIL: out of memory' };
    expect(classifyFailure(obs).rule).toBe('out-of-memory-generic');
    expect(classifyFailure(obs, rules)).toMatchObject({ rule: 'our-sim-oom', category: 'RESOURCE_ALLOCATION_ERROR', kind: 'permanent' });
  });

  it('ANDs exit code and signal conditions of a user rule', () => {
    const rules = compileRules(parseClassifierConfig(config));
    expect(classifyFailure({ exitCode: 77, signal: 'SIGABRT' }, rules).rule).toBe('sim-watchdog');
    expect(classifyFailure({ exitCode: 77 }, rules).rule).toBe(UNRECOGNISED_RULE);
  });

  it('compileRules without config is the built-in table', () => {
    expect(compileRules().map((r) => r.name)).toEqual(BUILT_IN_RULES.map((r) => r.name));
  });

  it('kindOf: built-in default, declared kind, and unknown-as-UNKNOWN_ERROR', () => {
    const parsed = parseClassifierConfig(config);
    expect(kindOf('WORKER_CRASH_ERROR', parsed)).toBe('permanent');
    expect(kindOf('LICENSE_SERVER_ERROR', parsed)).toBe('transient');
    expect(kindOf('LICENSE_SERVER_ERROR')).toBe('transient');
    expect(kindOf('NOBODY_DECLARED_ERROR', parsed)).toBe('transient');
  });

  const errorsOf = (input: unknown): string => {
    try {
      parseClassifierConfig(input);
    } catch (e) {
      expect(e).toBeInstanceOf(ClassifierConfigError);
      return (e as Error).message;
    }
    throw new Error('expected the config to be rejected');
  };

  it('rejects a rule whose category is neither built in nor declared, naming the field', () => {
    const message = errorsOf({
      rules: [
        { name: 'a', category: 'WORKER_CRASH_ERROR', exitCodes: [1] },
        { name: 'b', category: 'TEST_EXECUTION_ERROR', pattern: 'x' },
        { name: 'c', category: 'FOO_ERROR', pattern: 'foo' },
      ],
    });
    expect(message).toBe('rules[2].category: unknown category "FOO_ERROR"; declare it under categories');
  });

  it('rejects an invalid regular expression, naming the field', () => {
    expect(errorsOf({ rules: [{ name: 'bad-regex', category: 'UNKNOWN_ERROR', pattern: '(unclosed' }] })).toMatch(
      /^rules\[0\]\.pattern: invalid regular expression: .*\(unclosed/,
    );
  });

  it('rejects stateful flags, empty rules, duplicate and built-in names, unknown signals and redeclared categories', () => {
    expect(errorsOf({ rules: [{ name: 'g-flag', category: 'UNKNOWN_ERROR', pattern: 'x', flags: 'gi' }] })).toMatch(/^rules\[0\]\.flags: /);
    expect(errorsOf({ rules: [{ name: 'empty', category: 'UNKNOWN_ERROR' }] })).toBe(
      'rules[0]: a rule needs at least one condition: pattern, exitCodes, signals or exceptionTypes',
    );
    expect(
      errorsOf({
        rules: [
          { name: 'twice', category: 'UNKNOWN_ERROR', pattern: 'a' },
          { name: 'twice', category: 'UNKNOWN_ERROR', pattern: 'b' },
        ],
      }),
    ).toBe('rules[1].name: rule "twice" is defined twice (first at rules[0])');
    expect(errorsOf({ rules: [{ name: 'gpu-oom-pytorch', category: 'UNKNOWN_ERROR', pattern: 'a' }] })).toMatch(/^rules\[0\]\.name: /);
    expect(errorsOf({ rules: [{ name: 'sig', category: 'UNKNOWN_ERROR', signals: ['SIGWHATEVER'] }] })).toMatch(/^rules\[0\]\.signals\[0\]: unknown signal/);
    expect(errorsOf({ categories: [{ name: 'UNKNOWN_ERROR', kind: 'permanent' }] })).toMatch(/^categories\[0\]\.name: "UNKNOWN_ERROR" is a built-in category/);
    expect(errorsOf({ categories: [{ name: 'lower_case', kind: 'transient' }] })).toMatch(/^categories\[0\]\.name: expected an UPPER_SNAKE_CASE/);
    expect(errorsOf({ rules: [{ name: 'Not Kebab', category: 'UNKNOWN_ERROR', pattern: 'x' }] })).toMatch(/^rules\[0\]\.name: expected a kebab-case/);
    expect(errorsOf({ rules: [], extra: true })).toMatch(/Unrecognized key/);
  });

  it('compileRules re-validates what it is given', () => {
    expect(() => compileRules({ rules: [{ name: 'x', category: 'FOO_ERROR', pattern: 'x' }] })).toThrow(ClassifierConfigError);
  });
});

describe('classifyJsonl', () => {
  it('classifies each non-empty line in order and reports malformed lines without stopping', () => {
    const input = [
      '{"message": "RuntimeError: CUDA out of memory. Tried to allocate 1.00 GiB", "exit_code": 1}',
      '',
      'not json',
      '{"exit_code": 1}',
      '{"message": "", "exit_code": null, "signal": "SIGKILL", "category": "ignored"}',
      '   ',
      '{"message": "FAILED tests/test_x.py::test_y - assert 1 == 2"}',
    ].join('\n');
    const out = classifyJsonl(input).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(out).toHaveLength(5);
    expect(out[0]).toMatchObject({ category: 'RESOURCE_ALLOCATION_ERROR', kind: 'resource', rule: 'gpu-oom-pytorch' });
    expect(String(out[1]?.error)).toMatch(/^line 3: invalid JSON/);
    expect(String(out[2]?.error)).toMatch(/^line 4: message: Required/);
    expect(out[3]).toMatchObject({ category: 'WORKER_CRASH_ERROR', kind: 'resource', rule: 'exit-sigkill' });
    expect(out[4]).toMatchObject({ category: 'TEST_EXECUTION_ERROR', kind: 'validation' });
  });

  it('uses the rules it is given', () => {
    const rules = compileRules({ rules: [{ name: 'mine', category: 'WORKER_OVERLOAD_ERROR', pattern: 'busy busy' }] });
    expect(JSON.parse(classifyJsonl('{"message": "busy busy"}', rules)[0] ?? '{}')).toMatchObject({ rule: 'mine' });
  });
});
