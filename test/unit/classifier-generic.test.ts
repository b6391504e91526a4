/**
 * The generic evidence of the rule table, one phrasing per signal: exception names by their parts in any language
 * (Java, .NET, Go, Python), gRPC status names, Kubernetes event reasons, CLI-framework argument errors, proxies,
 * certificates, teardown and worker-contact vocabulary. Written from the tools' message formats, not copied from
 * the corpus, and checked with the rules alone (model off), so each case shows a rule carrying over. Labels follow
 * the labelling conventions of issue 3.
 */
import { classifyFailure } from '../../src/domain/classification';
import { exitCodeInText } from '../../src/domain/classification/classify';

const GENERIC: ReadonlyArray<readonly [string, string]> = [
  ["TEST_CONFIGURATION_ERROR", "train.py: error: the following arguments are required: --deepspeed_config"],
  ["TEST_CONFIGURATION_ERROR", "error: no test target named `integration` in default-run packages"],
  ["TEST_CONFIGURATION_ERROR", "Finished in 0.00012 seconds (files took 0.1 seconds to load)\n0 examples, 0 failures"],
  ["TEST_CONFIGURATION_ERROR", "AssertionError: Check batch related parameters. train_batch_size is not equal to micro_batch_per_gpu * gradient_acc_step * world_size 16 != 2 * 4 * 1"],
  ["TEST_CONFIGURATION_ERROR", "RuntimeError: feature_pre_filter cannot be changed after the Dataset is built. You need to set feature_pre_filter=false when constructing it."],
  ["TEST_CONFIGURATION_ERROR", "Exception in thread \"main\" java.lang.NoClassDefFoundError: app/Main\nCould not find the main class: app.Main. Program will exit."],
  ["TEST_CONFIGURATION_ERROR", "AssertionError: num_attention_heads (12) must be divisible by tensor_model_parallel_size (5)"],
  ["RESOURCE_ALLOCATION_ERROR", "There are not enough slots available in the system to satisfy the 8 slots that were requested by the application"],
  ["NETWORK_TIMEOUT_ERROR", "Stalled ranks:\n0: [allreduce.grad_3, allreduce.grad_4]"],
  ["TEST_CONFIGURATION_ERROR", "rpc error: code = PermissionDenied desc = the caller does not have permission"],
  ["TEST_CONFIGURATION_ERROR", "grpc._channel._InactiveRpcError: <_InactiveRpcError of RPC that terminated with: status = StatusCode.UNAUTHENTICATED details = \"Request had invalid authentication credentials\">"],
  ["TEST_CONFIGURATION_ERROR", "rpc error: code = FailedPrecondition desc = cluster is not ready"],
  ["RESOURCE_ALLOCATION_ERROR", "Warning  FailedScheduling  default-scheduler  0/4 nodes are available: 4 Insufficient memory."],
  ["RESOURCE_ALLOCATION_ERROR", "Warning  FailedScheduling  default-scheduler  0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available"],
  ["RESOURCE_ALLOCATION_ERROR", "Last State:     Terminated\n      Reason:       OOMKilled\n      Exit Code:    137"],
  ["TEST_CONFIGURATION_ERROR", "Warning  Failed     kubelet  Error: CreateContainerConfigError: secret \"db-creds\" not found"],
  ["TEST_CONFIGURATION_ERROR", "Warning  FailedMount  kubelet  MountVolume.SetUp failed for volume \"data\" : configmap \"app-config\" not found"],
  ["UNKNOWN_ERROR", "Job has reached the specified backoff limit (BackoffLimitExceeded)"],
  ["NETWORK_CONNECTION_ERROR", "Caused by: java.net.ConnectException: Connection refused (Connection refused)"],
  ["NETWORK_TIMEOUT_ERROR", "java.net.SocketTimeoutException: Read timed out"],
  ["NETWORK_CONNECTION_ERROR", "java.net.UnknownHostException: repo.maven.apache.org"],
  ["NETWORK_CONNECTION_ERROR", "javax.net.ssl.SSLHandshakeException: PKIX path building failed: sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid certification path to requested target"],
  ["RESOURCE_ALLOCATION_ERROR", "Exception in thread \"main\" java.lang.OutOfMemoryError: Java heap space"],
  ["RESOURCE_ALLOCATION_ERROR", "java.lang.OutOfMemoryError: Metaspace"],
  ["NETWORK_CONNECTION_ERROR", "System.Net.Http.HttpRequestException: No connection could be made because the target machine actively refused it. (localhost:5000)"],
  ["NETWORK_TIMEOUT_ERROR", "System.TimeoutException: The operation has timed out."],
  ["RESOURCE_ALLOCATION_ERROR", "System.IO.IOException: No space left on device : '/tmp/test-results'"],
  ["TEST_DEPENDENCY_ERROR", "System.IO.FileNotFoundException: Could not load file or assembly 'Newtonsoft.Json, Version=13.0.0.0'. The system cannot find the file specified."],
  ["NETWORK_CONNECTION_ERROR", "Get \"https://registry-1.docker.io/v2/\": dial tcp: lookup registry-1.docker.io on 127.0.0.53:53: no such host"],
  ["NETWORK_TIMEOUT_ERROR", "Get \"https://proxy.golang.org/github.com/x/y/@v/list\": dial tcp 142.250.1.1:443: i/o timeout"],
  ["NETWORK_TIMEOUT_ERROR", "panic: context deadline exceeded"],
  ["RESOURCE_ALLOCATION_ERROR", "failed to create inotify watcher: too many open files"],
  ["RESOURCE_ALLOCATION_ERROR", "OSError: [Errno 28] inotify watch limit reached"],
  ["RESOURCE_CLEANUP_ERROR", "error: failed to remove temporary directory /tmp/pytest-of-ci/pytest-3: Directory not empty"],
  ["RESOURCE_CLEANUP_ERROR", "WARNING: leaked semaphore objects to clean up at shutdown"],
  ["RESOURCE_CLEANUP_ERROR", "Error during teardown of fixture 'db_session': connection already closed"],
  ["RESOURCE_CLEANUP_ERROR", "Error response from daemon: could not remove container 3f2a: container is running: stop the container before removing"],
  ["WORKER_CRASH_ERROR", "distributed.nanny - WARNING - Worker process 1234 was killed by unknown signal"],
  ["WORKER_DISCONNECTION_ERROR", "distributed.scheduler - WARNING - Removing worker 'tcp://10.0.0.5:40123' caused the cluster to lose already computed task(s)"],
  ["WORKER_DISCONNECTION_ERROR", "The self-hosted runner: gpu-runner-3 lost communication with the server. Verify the machine is running and has a healthy network connection."],
  ["WORKER_DISCONNECTION_ERROR", "horovod.common.exceptions.HorovodInternalError: Horovod has been shut down. This was caused by an exception on one of the ranks or an attempt to allreduce, allgather or broadcast a tensor after one of the ranks finished execution."],
  ["TEST_DEPENDENCY_ERROR", "ERROR: Could not find a version that satisfies the requirement torch==9.9.9 (from versions: 2.0.0, 2.1.0)"],
  ["TEST_DEPENDENCY_ERROR", "Because no versions of foo match >2.0 and project depends on foo>2.0, version solving failed."],
  ["TEST_CONFIGURATION_ERROR", "error: unexpected argument '--no-capture' found\n\n  tip: a similar argument exists: '--nocapture'"],
  ["TEST_CONFIGURATION_ERROR", "flag provided but not defined: -runx"],
  ["TEST_CONFIGURATION_ERROR", "Error: Unknown option '--watchAl'"],
  ["TEST_CONFIGURATION_ERROR", "error: the following required arguments were not provided:\n  --config <FILE>"],
  ["WORKER_OVERLOAD_ERROR", "An error occurred (ThrottlingException) when calling the DescribeInstances operation (reached max retries: 4): Rate exceeded"],
  ["WORKER_OVERLOAD_ERROR", "google.api_core.exceptions.TooManyRequests: 429 Quota exceeded for quota metric 'Read requests'"],
  ["NETWORK_CONNECTION_ERROR", "fatal: unable to access 'https://github.com/org/repo.git/': Could not resolve host: github.com"],
  ["TEST_DEPENDENCY_ERROR", "fatal: repository 'https://github.com/org/missing.git/' not found"],
  ["TEST_CONFIGURATION_ERROR", "fatal: Authentication failed for 'https://github.com/org/private.git/'"],
  ["NETWORK_CONNECTION_ERROR", "error: RPC failed; curl 56 GnuTLS recv error (-9): A TLS packet with unexpected length was received."],
  ["NETWORK_CONNECTION_ERROR", "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self signed certificate in certificate chain"],
  ["NETWORK_CONNECTION_ERROR", "x509: certificate signed by unknown authority"],
  ["NETWORK_CONNECTION_ERROR", "ProxyError('Cannot connect to proxy.', OSError('Tunnel connection failed: 503 Service Unavailable'))"],
  ["HARDWARE_AVAILABILITY_ERROR", "srun: error: Unable to allocate resources: Requested node configuration is not available"],
  ["RESOURCE_ALLOCATION_ERROR", "slurmstepd: error: *** JOB 1234 ON node12 CANCELLED AT 2024-01-01T00:00:00 DUE TO TIME LIMIT ***"],
  ["RESOURCE_ALLOCATION_ERROR", "slurmstepd: error: Detected 1 oom_kill event in StepId=1234.0. Some of the step tasks have been OOM Killed."],
  ["HARDWARE_AVAILABILITY_ERROR", "docker: Error response from daemon: could not select device driver \"\" with capabilities: [[gpu]]."],
  ["HARDWARE_AVAILABILITY_ERROR", "nvidia-container-cli: initialization error: nvml error: driver not loaded"],
  ["HARDWARE_AVAILABILITY_ERROR", "RuntimeError: No HIP GPUs are available"],
  ["RESOURCE_ALLOCATION_ERROR", "RuntimeError: MPS backend out of memory (MPS allocated: 17.00 GB, other allocations: 1.2 GB, max allowed: 18.13 GB)"],
  ["RESOURCE_ALLOCATION_ERROR", "jaxlib.xla_extension.XlaRuntimeError: RESOURCE_EXHAUSTED: Out of memory while trying to allocate 8589934592 bytes."],
  ["HARDWARE_CAPABILITY_ERROR", "triton.runtime.errors.OutOfResources: out of resource: shared memory, Required: 98304, Hardware limit: 65536"],
  ["RESOURCE_ALLOCATION_ERROR", "[TRT] [E] 1: [defaultAllocator.cpp::allocate::20] Error Code 1: Cuda Runtime (out of memory)"],
  ["TEST_EXECUTION_ERROR", "thread 'tests::it_works' panicked at src/lib.rs:10:9:\nassertion `left == right` failed\n  left: 4\n right: 5"],
  ["TEST_EXECUTION_ERROR", "--- FAIL: TestParse (0.00s)\n    parse_test.go:12: got 3, want 4\nFAIL\nexit status 1"],
  ["TEST_EXECUTION_ERROR", "[ERROR] Tests run: 12, Failures: 1, Errors: 0, Skipped: 0, Time elapsed: 0.5 s <<< FAILURE! - in com.example.AppTest"],
  ["TEST_EXECUTION_ERROR", "Failures:\n\n  1) Calculator adds numbers\n     Failure/Error: expect(sum).to eq(5)\n\n       expected: 5\n            got: 4"],
  ["TEST_CONFIGURATION_ERROR", "no tests ran in 0.01s"],
  ["TEST_DEPENDENCY_ERROR", "mamba: command not found"],
  ["TEST_CONFIGURATION_ERROR", "error: externally-managed-environment\n\n\u00d7 This environment is externally managed"],
  ["TEST_CONFIGURATION_ERROR", "CondaValueError: invalid package specification: numpy=="],
  ["WORKER_CRASH_ERROR", "Job for myservice.service failed because the control process exited with error code."],
  ["HARDWARE_PERFORMANCE_ERROR", "kernel: [12345.678] EXT4-fs error (device nvme0n1p1): ext4_find_entry:1455: inode #2: comm ls: reading directory lblock 0"],
  ["WORKER_DISCONNECTION_ERROR", "dask worker lost heartbeat: Worker tcp://10.0.0.3:33455 failed to heartbeat within 300 seconds. Closing worker."],
  ["NETWORK_CONNECTION_ERROR", "UCX  ERROR  ep 0x7f: error 'Connection reset by remote peer' will not be handled since no error callback is installed"],
  ["WORKER_CRASH_ERROR", "--------------------------------------------------------------------------\nmpirun noticed that process rank 3 with PID 0 on node gpu-2 exited on signal 9 (Killed)."],
];

describe('generic evidence carries over to phrasings the rules do not name', () => {
  it('each is classified in its category by a rule, with the model off', () => {
    const wrong: string[] = [];
    for (const [category, message] of GENERIC) {
      const got = classifyFailure({ message }, undefined, { model: null });
      if (got.category !== category || got.decidedBy !== 'rule') wrong.push(`${category} <- ${got.category} (${got.rule}): ${message.slice(0, 100)}`);
    }
    expect(wrong).toEqual([]);
  });

  it('an InfiniBand retry-exceeded completion is a transport timeout, other completion errors stay hardware', () => {
    expect(classifyFailure({ message: 'mlx5: got completion with error: status=IBV_WC_RETRY_EXC_ERR' }).category).toBe('NETWORK_TIMEOUT_ERROR');
    expect(classifyFailure({ message: 'Got completion from peer 10.0.0.2 with error 12, status=IBV_WC_REM_ACCESS_ERR' }).category).toBe('HARDWARE_PERFORMANCE_ERROR');
  });

  it('an unmount during teardown is cleanup, a mount that cannot be set up is configuration', () => {
    expect(classifyFailure({ message: 'UnmountVolume.TearDown failed for volume "data": device or resource busy' }, undefined, { model: null }).category).toBe('RESOURCE_CLEANUP_ERROR');
    expect(classifyFailure({ message: 'MountVolume.SetUp failed for volume "cfg" : configmap "app" not found' }, undefined, { model: null }).category).toBe('TEST_CONFIGURATION_ERROR');
  });

  it('reads an exit code the text reports, when none was observed, only where its meaning is fixed by convention', () => {
    expect(exitCodeInText('srun: error: node12: task 0: Exited with exit code 139')).toBe(139);
    expect(exitCodeInText('make: *** [Makefile:12: test] Error 134')).toBe(134);
    expect(exitCodeInText('ERROR: process "/bin/sh -c make" did not complete successfully: exit code: 137')).toBe(137);
    expect(exitCodeInText('bash: line 1: exited with 127')).toBe(127);
    // Codes without a fixed meaning, and numbers that are not exit codes, are not read.
    expect(exitCodeInText('Error: Process completed with exit code 1.')).toBeUndefined();
    expect(exitCodeInText('exit status 2')).toBeUndefined();
    expect(exitCodeInText('Error 139 bytes written')).toBeUndefined();
    const rulesOnly = { model: null } as const;
    expect(classifyFailure({ message: 'srun: error: node12: task 0: Exited with exit code 139' }, undefined, rulesOnly).rule).toBe('exit-sigsegv');
    expect(classifyFailure({ message: 'srun: error: cpu-node-80: task 0: Exited with exit code 136' }, undefined, rulesOnly).rule).toBe('exit-sigfpe');
    expect(classifyFailure({ message: 'make: *** [Makefile:12: test] Error 134' }, undefined, rulesOnly).rule).toBe('exit-sigabrt');
    // An observed exit code wins over the one in the text.
    expect(classifyFailure({ message: 'the previous step exited with exit code 139', exitCode: 137 }, undefined, rulesOnly).rule).toBe('exit-sigkill');
  });
});
