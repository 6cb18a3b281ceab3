// Connection over node-ssh: one SSH connection per host for the whole run; every command is a
// channel on it. Host keys are checked against the pinned known_hosts before authentication.
import { Readable, type Duplex } from 'node:stream';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { NodeSSH } from 'node-ssh';
import type { HostSpec, SshSettings } from '../inventory/types.ts';
import { AuthenticationError, ConnectionError, ConnectionLostError, HostKeyError, UnreachableError, type ServerAfterLoss } from '../errors.ts';
import { atomicPutScript, BACKUP_ROOT, PROGRESS_TAG, splitProgress, type Connection, type ExecRequest, type ExecResult, type ProgressSink, type PutOptions } from './connection.ts';
import { checkHostKey, hostPattern, keysForHost, pinHostKey, readKnownHosts, type PinnedKey } from './known-hosts.ts';
import { describeRequest, remoteCommandLine } from './shell.ts';
import { DEFAULT_DEADLINES, execWithDeadline, expireAfter, type Deadlines } from './deadline.ts';

export interface ConnectOptions {
  ssh: SshSettings;
  /** Pin the key of a host seen for the first time instead of refusing it. */
  acceptNewHostKeys?: boolean;
  /** Seconds each kind of remote command may take (default: DEFAULT_DEADLINES). */
  deadlines?: Deadlines;
  /** Hears the progress lines of running commands (see PROGRESS_TAG). */
  progress?: ProgressSink;
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
  return new SshConnection(host, ssh, opts.ssh.user !== 'root', opts.deadlines ?? DEFAULT_DEADLINES, opts.progress, () => connect(host, opts));
}

/** Seconds the check "does the server still answer?" waits, after a lost connection. */
const PROBE_SECONDS = 5;

/**
 * After a lost connection: does the server's SSH port still greet us? Decided by whether a new
 * TCP connection gets the server's banner in time, not by what the lost one said.
 */
export function serverAnswers(address: string, port: number, seconds = PROBE_SECONDS): Promise<ServerAfterLoss> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port });
    const done = (verdict: ServerAfterLoss) => {
      socket.destroy();
      resolve(verdict);
    };
    socket.setTimeout(seconds * 1000, () => done('silent'));
    socket.once('data', () => done('answers'));
    socket.once('error', () => done('silent'));
    socket.once('close', () => done('silent'));
  });
}

class SshConnection implements Connection {
  #roundTrips = 0;
  readonly backupRoot = BACKUP_ROOT;
  readonly #running = new Set<{ command: string }>();
  /** Set once the SSH connection ended (the server closed it, the link broke, or close()). */
  #ended = false;
  /** Settles when the connection ends: a command still waiting for its channel then stops waiting. */
  readonly #endedSignal: Promise<'ended'>;
  constructor(
    readonly host: HostSpec,
    private readonly ssh: NodeSSH,
    private readonly sudo: boolean,
    private readonly deadlines: Deadlines,
    private readonly progress?: ProgressSink,
    /** Opens another connection like this one (see Connection.reopen). */
    readonly reopen?: () => Promise<Connection>,
  ) {
    this.#endedSignal = new Promise((resolve) => {
      const ended = () => {
        this.#ended = true;
        resolve('ended');
      };
      ssh.connection?.once('close', ended);
      // Without a listener an 'error' event (a reset link, keepalives unanswered) would throw;
      // the command it cuts off reports it as a lost connection.
      ssh.connection?.on('error', ended);
    });
  }

  get roundTrips(): number {
    return this.#roundTrips;
  }

  running(): string[] {
    return [...this.#running].map((r) => r.command);
  }

  lost?: ConnectionLostError;

  /** The connection is gone: the command's fate depends on whether the server still answers. */
  async #lost(command: string, cause?: unknown): Promise<ConnectionLostError> {
    const server = await serverAnswers(this.host.address, this.host.port);
    const err = new ConnectionLostError({ host: this.host.name, command, server, cause });
    this.lost ??= err;
    return err;
  }

  /** Hands each complete progress line of stderr over as it arrives. */
  #progressReader(command: string): ((chunk: Buffer) => void) | undefined {
    const sink = this.progress;
    if (!sink) return undefined;
    let pending = '';
    return (chunk) => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) if (line.startsWith(PROGRESS_TAG)) sink({ host: this.host.name, command, message: line.slice(PROGRESS_TAG.length) });
    };
  }

  async exec(req: ExecRequest): Promise<ExecResult> {
    const seconds = this.deadlines[req.deadline ?? 'default'];
    const command = remoteCommandLine(req, { sudo: this.sudo, timeoutSeconds: seconds });
    this.#roundTrips++;
    const what = { host: this.host.name, command: req.describe ?? describeRequest(req), seconds };
    if (this.#ended) throw await this.#lost(what.command);
    const entry = { command: what.command };
    this.#running.add(entry);
    try {
      return await execWithDeadline(what, async (onAbandon) => {
        const started = performance.now();
        let res;
        try {
          res = await Promise.race([
            this.ssh.execCommand(command, {
              noTrim: true,
              stdin: req.stdin === undefined ? undefined : Readable.from([Buffer.from(req.stdin)]),
              // A server that stopped answering: give up the channel (the remote `timeout` ends the command).
              onChannel: (channel) => onAbandon(() => channel.close()),
              onStderr: this.#progressReader(what.command),
            }),
            this.#endedSignal,
          ]);
        } catch (err) {
          throw await this.#lost(what.command, err);
        }
        if (res === 'ended') throw await this.#lost(what.command);
        // A channel that closed with neither an exit status nor a signal: the connection under it
        // ended (an abandoned channel is the deadline's, which has already answered).
        if (res.code === null && !res.signal) throw await this.#lost(what.command);
        return {
          exitCode: res.code ?? 128,
          stdout: res.stdout,
          stderr: splitProgress(res.stderr).rest,
          durationMs: performance.now() - started,
        };
      });
    } finally {
      this.#running.delete(entry);
    }
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
    this.#ended = true;
    this.ssh.dispose();
  }
}
