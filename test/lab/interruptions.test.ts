// Issue 14, "say what happened", on real lab servers, as an operator meets each fault: two applies
// started together (one refused, naming the holder), Ctrl-C during a fresh apply (tandem waits
// for apt/dpkg, nothing is left half-configured), a server crash mid-apply ("connection to HOST
// lost"), and a dpkg lock held by another process (the wait said while it lasts, bounded by
// apt.lock_wait). After each, a re-run converges and verify passes.
import { labTest as test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { labBoot, labCrash } from '../../src/lab/index.ts';
import { labSettings, resetHosts, sshExec, sshOk, until } from './harness.ts';
import { LAB, ROOT, tandemJson, type Ran } from './tandem.ts';
import { labVariant, withInventory } from './variants.ts';

/** The CLI in the background, its output readable while it runs. */
interface Running {
  child: ChildProcess;
  out(): string;
  err(): string;
  done: Promise<Ran>;
}

function start(args: string[]): Running {
  const t0 = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), ...withInventory(args)], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<Ran>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr, ms: Math.round(performance.now() - t0) }));
  });
  return { child, out: () => stdout, err: () => stderr, done };
}

/** What of apt/dpkg runs on a server now ('' when nothing). */
async function aptRunning(host: string): Promise<string> {
  return (await sshOk(host, "pgrep -a -x 'apt-get|dpkg' || true")).trim();
}

/** An install (apt-get install, or dpkg itself) running on a server now, or ''. */
async function installRunning(host: string): Promise<string> {
  return (await aptRunning(host)).split('\n').filter((l) => / install | dpkg /.test(` ${l} `)).join('\n');
}

async function convergesAndVerifies(): Promise<void> {
  const r = tandemJson(['apply']);
  assert.is(r.code, 0, `${r.stderr}\n${JSON.stringify(Object.values(r.json.hosts ?? {}).map((h: any) => h.error))}`);
  const again = tandemJson(['apply']);
  assert.is(again.json.summary.changed, 0, 'a second run changes nothing');
  const v = tandemJson(['verify']);
  const failed = v.json.checks.filter((c: any) => !c.ok);
  assert.equal(failed, [], JSON.stringify(failed));
  assert.is(v.code, 0);
}

const RUN_LOCK = '/run/tandem/run.lock';

test.before(async () => {
  await resetHosts(['web-01', 'web-02']);
});

let winner: Running | undefined;

test('two applies started together: one proceeds, the other is refused before changing anything, naming the holder; exit 75', async () => {
  const a = start(['apply']);
  const b = start(['apply']);
  const first = await Promise.race([a.done.then(() => a), b.done.then(() => b)]);
  winner = first === a ? b : a;
  const refused = await first.done;
  assert.is(refused.code, 75, `${refused.stdout}\n${refused.stderr}`);
  const pid = winner.child.pid!;
  assert.match(refused.stderr, new RegExp(`^error: web-0[12]: another tandem run holds the run lock: \\S+@\\S+ \\(apply, pid ${pid}\\) since \\S+ \\(expires \\S+\\)\\. Wait for it to finish, or pass --force-unlock if it is dead\\.\\n$`));
  assert.not.match(refused.stdout, /changed|==/, 'the refused run did nothing');
  // The winner goes on: it holds the lock on both servers. Started together, each run may have
  // taken one server's lock first; the refused one lets go of its server as it exits and the
  // winner takes it then (within its wait for an older run), so poll rather than read once.
  assert.is(winner.child.exitCode, null, 'the other run is still going');
  const mine = new RegExp(`"pid":${pid},"verb":"apply"`);
  for (const h of ['web-01', 'web-02']) {
    let seen = '';
    await until(`${h}: the run lock held by the remaining run (pid ${pid})`, async () => {
      seen = (await sshExec(h, `cat ${RUN_LOCK}`)).stdout;
      return mine.test(seen) || undefined;
    }, { timeoutMs: 30_000, everyMs: 250, seen: () => seen });
  }
});

test('Ctrl-C while apt runs: tandem says what still runs, waits for it, prints what was done, exits 130; dpkg is left clean', async () => {
  const run = winner!;
  let seen = '';
  await until('an install (apt-get install or dpkg) to run on a server', async () => {
    seen = `${await installRunning('web-01')} ${await installRunning('web-02')}`.trim();
    return seen || undefined;
  }, { timeoutMs: 300_000, everyMs: 300, seen: () => seen });
  run.child.kill('SIGINT');
  const r = await run.done;
  console.log(`    Ctrl-C while running: ${seen.replace(/\n/g, '; ')}\n    tandem said:\n${r.stdout.split('\n').filter((l) => /stopping|^  web-0|interrupted|done:|^web-0/.test(l)).map((l) => `      ${l}`).join('\n')}`);
  assert.is(r.code, 130, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /\nstopping: no new step starts, each host ends the step it is in(; waiting for what still runs \(each command within its own deadline; Ctrl-C again to abandon it\):\n(  web-0[12]: .+\n)+)?/);
  assert.match(r.stdout, /\n(done|FAILED): \d+ ok, \d+ changed, \d+ failed in /, 'the usual summary');
  assert.match(r.stdout, /\ninterrupted \(Ctrl-C\): nothing new was started after it, and what was running ended; the summary above says what was done\n$/);
  for (const h of ['web-01', 'web-02']) {
    assert.is(await aptRunning(h), '', `${h}: apt/dpkg ended before tandem did`);
    const audit = await sshExec(h, 'dpkg --audit');
    assert.equal([audit.code, audit.stdout], [0, ''], `${h}: dpkg --audit is clean`);
    // The lock ends with the connection that took it: its sshd session process is gone.
    const session = (await sshOk(h, `cat ${RUN_LOCK}`)).match(/"session":"(\d+) (\d+)"/);
    assert.ok(session, `${h}: the lock records its connection's process`);
    const stat = await sshExec(h, `cat /proc/${session![1]}/stat`);
    assert.ok(stat.code !== 0 || stat.stdout.replace(/^.*\) /s, '').split(' ')[19] !== session![2], `${h}: the run lock ended with its connection`);
  }
});

test('after Ctrl-C, a re-run converges and verify passes', async () => {
  await convergesAndVerifies();
});

test('a server crash during apply: "connection to web-02 lost" with the command and the server silent; web-01 completes; after boot a re-run converges', async () => {
  const config = await labSettings();
  await resetHosts(['web-02']);
  const run = start(['apply', '--json']);
  let seen = '';
  await until('an install (apt-get install or dpkg) to run on web-02', async () => {
    seen = await installRunning('web-02');
    return seen || undefined;
  }, { timeoutMs: 300_000, everyMs: 300, seen: () => seen });
  await labCrash(config, 'web-02', () => {});
  try {
    const r = await run.done;
    let json: any;
    try {
      json = JSON.parse(r.stdout);
    } catch {
      throw new Error(`no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
    }
    const web02 = json.hosts['web-02'];
    console.log(`    crashed web-02 while running: ${seen.replace(/\n/g, '; ')}\n    web-02: ${web02.error}\n    web-01: ${json.hosts['web-01'].error ?? 'no error'}`);
    assert.is(r.code, 1, r.stderr);
    assert.match(web02.error, /connection to web-02 lost while running `[^`]+`: the server does not answer \(down or cut off\)/);
    // web-01 goes through every phase of its own: it depends on nothing of web-02's but, with an
    // ACME certificate, the certificate when one must be issued (the CA validates through whichever
    // load balancer DNS names, and the fresh web-02 went down before serving the challenge).
    const web01 = json.hosts['web-01'];
    const web01Failed = web01.ops.filter((o: any) => o.status === 'failed').map((o: any) => o.op);
    if (web01Failed.length === 0) {
      assert.is(json.error.kind, 'connection-lost');
    } else {
      assert.ok(LAB.tls?.source.kind === 'acme' && web01Failed.length === 1 && web01Failed[0].startsWith('certificate '), `web-01 failed ${web01Failed.join(', ')}: ${web01.error}`);
      assert.match(web01.error, /^web-01: certificate \/etc\/haproxy\/tls\/site\.pem: web-02 does not serve the ACME challenge: it failed (earlier in this run|while tandem waited for it to answer)/);
    }
    assert.ok(web01.ops.some((o: any) => o.phase === 'lb'), 'web-01 reached its last phase');
  } finally {
    await labBoot(config, 'web-02', () => {});
  }
  await convergesAndVerifies();
});

test('a dpkg lock held on web-02: the wait is said while it lasts, naming the holder; the run ends after apt.lock_wait; web-01 completes', async () => {
  const WAIT = 15;
  const inventory = labVariant('lock-wait', (doc) => (doc.apt = { ...doc.apt, lock_wait: WAIT }));
  // Work for apt on web-02 (curl, of the base packages: nothing else depends on it), and a
  // process holding dpkg's lock the way apt does (fcntl).
  await sshOk('web-02', 'DEBIAN_FRONTEND=noninteractive apt-get -q -y remove curl >/dev/null');
  const holder = (
    await sshOk(
      'web-02',
      `nohup perl -e 'use Fcntl; open(my $f, ">>", "/var/lib/dpkg/lock-frontend") or die; my $s = pack("s s x4 q q i x4", F_WRLCK, 0, 0, 0, 0); fcntl($f, F_SETLKW, $s) or die; sleep 600' >/dev/null 2>&1 & echo $!`,
    )
  ).trim();
  try {
    const run = start(['apply', '-i', inventory]);
    const waiting = new RegExp(`\\[web-02\\] … waiting: the dpkg lock is held by pid ${holder} \\(perl -e use Fcntl;[^\\n]*\\) \\(waited \\d+ s of ${WAIT}\\)`);
    await until('the wait to be reported', async () => (waiting.test(run.out()) ? true : undefined), { timeoutMs: 120_000, seen: () => run.out().slice(-500) });
    assert.is(run.child.exitCode, null, 'said while the run waits');
    const r = await run.done;
    console.log(`    ${r.stdout.split('\n').filter((l) => l.includes('waiting:') || l.includes('still held')).join('\n    ')}\n    apply took ${(r.ms / 1000).toFixed(1)} s with apt.lock_wait ${WAIT} s`);
    assert.is(r.code, 1, r.stderr);
    assert.match(r.stdout, new RegExp(`\\[web-02\\] ✖ failed packages [a-z -]*curl[a-z -]*: \`[^\`]+ install curl \\(after waiting up to ${WAIT} s for the dpkg lock\\)\` exited with 75: the dpkg lock is still held after ${WAIT} s \\(apt.lock_wait\\) by pid ${holder} \\(perl `));
    assert.match(r.stdout, /\nweb-01: \d+ ok, 0 changed, 0 failed/, 'web-01 completes');
  } finally {
    await sshExec('web-02', `kill ${holder}`);
  }
  await convergesAndVerifies();
});

test.run();
