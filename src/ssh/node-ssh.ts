// Connection over node-ssh: one SSH connection per host for the whole run; every command is a
// channel on it. Host keys are checked against the pinned known_hosts before authentication.
import { Readable, type Duplex } from 'node:stream';
import { readFile } from 'node:fs/promises';
import { NodeSSH } from 'node-ssh';
import type { HostSpec, SshSettings } from '../inventory/types.ts';
import { AuthenticationError, ConnectionError, HostKeyError, UnreachableError } from '../errors.ts';
import { atomicPutScript, BACKUP_ROOT, type Connection, type ExecRequest, type ExecResult, type PutOptions } from './connection.ts';
import { checkHostKey, hostPattern, keysForHost, pinHostKey, readKnownHosts, type PinnedKey } from './known-hosts.ts';
import { describeRequest, remoteCommandLine } from './shell.ts';
import { DEFAULT_DEADLINES, execWithDeadline, expireAfter, type Deadlines } from './deadline.ts';

export interface ConnectOptions {
  ssh: SshSettings;
  /** Pin the key of a host seen for the first time instead of refusing it. */
  acceptNewHostKeys?: boolean;
  /** Seconds each kind of remote command may take (default: DEFAULT_DEADLINES). */
  deadlines?: Deadlines;
}

const HOST_KEY_ALGORITHMS: Record<string, string[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

/** Ask the server for a key type we have pinned, so a host with several keys is checked against ours. */
function preferredAlgorithms(pinned: PinnedKey[]): string[] | undefined {
  if (pinned.length === 0) return undefined;
  const first = pinned.flatMap((k) => HOST_KEY_ALGORITHMS[k.type] ?? []);
  const rest = Object.values(HOST_KEY_ALGORITHMS).flat().filter((a) => !first.includes(a));
  return [...first, ...rest];
}

export async function connect(host: HostSpec, opts: ConnectOptions): Promise<Connection> {
  const where = `${host.name} (${host.address}:${host.port})`;
  const pattern = hostPattern(host.address, host.port);
  const entries = await readKnownHosts(opts.ssh.knownHosts);
  const keys = keysForHost(entries, host.address, host.port);
  let keyProblem: HostKeyError | undefined;
  let newKey: Buffer | undefined;

  const hostVerifier = (key: Buffer): boolean => {
    const verdict = checkHostKey(keys, key, { where, host: host.name, file: opts.ssh.knownHosts, acceptNew: Boolean(opts.acceptNewHostKeys) });
    if (!verdict.accept) keyProblem = verdict.error;
    else if (verdict.pin) newKey = key;
    return verdict.accept;
  };

  let privateKey: string;
  try {
    privateKey = await readFile(opts.ssh.key, 'utf8');
  } catch (err) {
    throw new AuthenticationError(`${where}: cannot read the SSH key ${opts.ssh.key} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, {
      cause: err,
      host: host.name,
    });
  }

  const ssh = new NodeSSH();
  const serverHostKey = preferredAlgorithms(keys.pinned);
  try {
    await ssh.connect({
      host: host.address,
      port: host.port,
      username: opts.ssh.user,
      privateKey,
      readyTimeout: opts.ssh.connectTimeoutMs,
      keepaliveInterval: 15_000,
      hostVerifier,
      ...(serverHostKey ? { algorithms: { serverHostKey: serverHostKey as never } } : {}),
    });
  } catch (err) {
    if (keyProblem) throw keyProblem;
    const e = err as Error & { level?: string; code?: string };
    if (e.level === 'client-authentication') {
      throw new AuthenticationError(
        `${where}: authentication failed for user ${opts.ssh.user} with key ${opts.ssh.key}. Is the public key in ~${opts.ssh.user}/.ssh/authorized_keys?`,
        { cause: err, host: host.name },
      );
    }
    throw new UnreachableError(
      `${where} is unreachable: ${e.message}. Check that the server is up and that its address in the inventory is right.`,
      { cause: err, host: host.name },
    );
  }
  if (newKey) {
    try {
      await pinHostKey(opts.ssh.knownHosts, pattern, newKey, { hashed: entries.some((e) => e.hosts.startsWith('|')) });
    } catch (err) {
      ssh.dispose();
      throw err;
    }
  }
  return new SshConnection(host, ssh, opts.ssh.user !== 'root', opts.deadlines ?? DEFAULT_DEADLINES);
}

class SshConnection implements Connection {
  #roundTrips = 0;
  readonly backupRoot = BACKUP_ROOT;
  constructor(
    readonly host: HostSpec,
    private readonly ssh: NodeSSH,
    private readonly sudo: boolean,
    private readonly deadlines: Deadlines,
  ) {}

  get roundTrips(): number {
    return this.#roundTrips;
  }

  async exec(req: ExecRequest): Promise<ExecResult> {
    const seconds = this.deadlines[req.deadline ?? 'default'];
    const command = remoteCommandLine(req, { sudo: this.sudo, timeoutSeconds: seconds });
    this.#roundTrips++;
    const what = { host: this.host.name, command: req.describe ?? describeRequest(req), seconds };
    return execWithDeadline(what, async (onAbandon) => {
      const started = performance.now();
      try {
        const res = await this.ssh.execCommand(command, {
          noTrim: true,
          stdin: req.stdin === undefined ? undefined : Readable.from([Buffer.from(req.stdin)]),
          // A server that stopped answering: give up the channel (the remote `timeout` ends the command).
          onChannel: (channel) => onAbandon(() => channel.close()),
        });
        return {
          exitCode: res.code ?? (res.signal ? 128 : 255),
          stdout: res.stdout,
          stderr: res.stderr,
          durationMs: performance.now() - started,
        };
      } catch (err) {
        throw new ConnectionError(`${this.host.name}: lost the connection while running a command: ${(err as Error).message}`, {
          cause: err,
          host: this.host.name,
        });
      }
    });
  }

  put(path: string, content: string | Buffer, opts: PutOptions): Promise<ExecResult> {
    return this.exec({ script: atomicPutScript(path, opts, this.backupRoot), stdin: content, describe: `write ${path}` });
  }

  async forward(toHost: string, toPort: number): Promise<Duplex> {
    const seconds = this.deadlines.default;
    try {
      return await expireAfter(this.ssh.forwardOut('127.0.0.1', 0, toHost, toPort), seconds * 1000, () => new Error(`no answer in ${seconds} s`));
    } catch (err) {
      throw new ConnectionError(`${this.host.name}: cannot open a forwarded stream to ${toHost}:${toPort}: ${(err as Error).message}`, {
        cause: err,
        host: this.host.name,
      });
    }
  }

  async close(): Promise<void> {
    this.ssh.dispose();
  }
}
