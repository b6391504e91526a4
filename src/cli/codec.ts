/** `dtf codec-key` and `dtf codec-server`, and the global `--codec-key-file` that turns the payload codec on. */
import { Command, InvalidArgumentError } from 'commander';
import path from 'node:path';
import { AesGcmCodec } from '../codec/aes-gcm-codec';
import { DEFAULT_CODEC_SERVER_PORT, DEFAULT_CORS_ORIGINS, startCodecServer } from '../codec/codec-server';
import { CODEC_KEY_FILE_ENV, codecKeyFileFrom } from '../codec/data-converter';
import { KeyId, addKeyToFile, createKeyFile, loadKeyFile, setCurrentKey } from '../codec/key-file';

/** Bad use of a codec command; the CLI exits 2. */
class CodecUsageError extends Error {
  readonly exitCode = 2;
}

const keyIdArg = (value: string) => {
  const parsed = KeyId.safeParse(value);
  if (!parsed.success) throw new InvalidArgumentError(`--id "${value}": ${parsed.error.issues[0].message}`);
  return parsed.data;
};

const portArg = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`--port must be 0-65535, got "${value}"`);
  return n;
};

const originArg = (value: string, previous: string[] = []) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(`--cors-origin "${value}": expected an origin such as http://localhost:8233`);
  }
  if (url.origin === 'null' || url.pathname !== '/' || url.search || url.hash) throw new InvalidArgumentError(`--cors-origin "${value}": expected an origin (scheme://host[:port]) with no path`);
  return [...previous, url.origin];
};

export function registerCodecCommands(program: Command): void {
  program.option('--codec-key-file <file>', `encrypt payloads with this key file (AES-256-GCM; default: $${CODEC_KEY_FILE_ENV})`);
  // Through the environment, so that every client and worker this process makes or starts (the demo's workers) uses it.
  program.hook('preAction', (root) => {
    const file = (root.opts() as { codecKeyFile?: string }).codecKeyFile;
    if (file) process.env[CODEC_KEY_FILE_ENV] = path.resolve(file);
  });

  const keys = program.command('codec-key').description('make and rotate the payload codec\'s key files');
  keys
    .command('new')
    .description('a new AES-256 key: in a new file (--out), or added to a file as its current key (--add-to; old keys stay for old histories)')
    .option('--out <file>', 'create this key file (mode 0600; never overwritten)')
    .option('--add-to <file>', 'add the key to this key file and make it current')
    .option('--id <id>', 'key id (default: the month, e.g. 2026-12)', keyIdArg)
    .option('--keep-current', 'with --add-to: add the key but keep encrypting with the current one (stage it on every process first)')
    .action((o: { out?: string; addTo?: string; id?: string; keepCurrent?: boolean }) => {
      if (!o.out === !o.addTo) throw new CodecUsageError('dtf codec-key new: give exactly one of --out FILE or --add-to FILE');
      if (o.out) {
        const id = createKeyFile(o.out, o.id);
        console.log(`created ${path.resolve(o.out)} with key "${id}" (current); point every dtf process at it: --codec-key-file or ${CODEC_KEY_FILE_ENV}`);
      } else {
        const id = addKeyToFile(o.addTo!, { id: o.id, makeCurrent: !o.keepCurrent });
        console.log(`added key "${id}" to ${path.resolve(o.addTo!)}${o.keepCurrent ? '' : ' as the current key'}; restart workers and codec servers to use it`);
      }
    });
  keys
    .command('current <file> <id>')
    .description('make a key already in the file the one that encrypts (after staging it with --keep-current)')
    .action((file: string, id: string) => {
      setCurrentKey(file, keyIdArg(id));
      console.log(`key "${id}" of ${path.resolve(file)} is current; restart workers and codec servers to use it`);
    });
  keys
    .command('show <file>')
    .description('check a key file and list its key ids (never the keys)')
    .action((file: string) => {
      const loaded = loadKeyFile(file);
      console.log(`${loaded.file}: ${loaded.keys.size} key(s), current "${loaded.currentId}"`);
      for (const id of loaded.keys.keys()) console.log(`  ${id}${id === loaded.currentId ? '  (current)' : ''}`);
    });

  program
    .command('codec-server')
    .description('serve Temporal\'s codec-server protocol (POST /encode, /decode) so that the Web UI and `temporal --codec-endpoint` decrypt payloads')
    .option('--port <port>', 'port to listen on', portArg, DEFAULT_CODEC_SERVER_PORT)
    .option('--bind <host>', 'address to listen on (whoever reaches it can decrypt: keep it local or put it behind auth)', '127.0.0.1')
    .option('--key-file <file>', `key file (default: --codec-key-file or $${CODEC_KEY_FILE_ENV})`)
    .option('--cors-origin <url>', `browser origin allowed to call it, repeatable (default: ${DEFAULT_CORS_ORIGINS.join(', ')})`, originArg)
    .option('--auth-token-env <var>', 'require "Authorization: Bearer <token>", the token read from this environment variable')
    .action(async (o: { port: number; bind: string; keyFile?: string; corsOrigin?: string[]; authTokenEnv?: string }, cmd: Command) => {
      const file = o.keyFile ?? codecKeyFileFrom((cmd.optsWithGlobals() as { codecKeyFile?: string }).codecKeyFile);
      if (!file) throw new CodecUsageError(`dtf codec-server: no key file; pass --key-file FILE, --codec-key-file FILE or set ${CODEC_KEY_FILE_ENV}`);
      const keysLoaded = loadKeyFile(file);
      let authToken: string | undefined;
      if (o.authTokenEnv) {
        authToken = process.env[o.authTokenEnv];
        if (!authToken) throw new CodecUsageError(`dtf codec-server --auth-token-env ${o.authTokenEnv}: that environment variable is not set or empty`);
      }
      const server = await startCodecServer({
        codec: new AesGcmCodec(keysLoaded),
        port: o.port,
        host: o.bind,
        corsOrigins: o.corsOrigin,
        authToken,
        log: (line) => console.error(`${new Date().toISOString()} ${line}`),
      });
      console.log(`codec server on ${server.url} (keys ${[...keysLoaded.keys.keys()].join(', ')}; encrypting with "${keysLoaded.currentId}")`);
      console.log(`CORS origins: ${(o.corsOrigin ?? DEFAULT_CORS_ORIGINS).join(', ')}${authToken ? `; bearer token required ($${o.authTokenEnv})` : ''}`);
      console.log(`decode with: temporal workflow show --codec-endpoint ${server.url} -w ID${authToken ? ' --codec-auth "Bearer $TOKEN"' : ''}`);
      await new Promise<void>((resolve) => {
        const stop = () => void server.close().then(resolve);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
