// Rolling-deploy building blocks as tables: release lists, pruning, the lock, HAProxy commands.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { parseReleaseList, previousRelease, releasesToPrune, setServerState, switchCurrent } from '../../src/deploy/commands.ts';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { acquireScript, describeLock, LOCK_HELD, lockVerdict, parseLock, releaseScript, takeOverScript } from '../../src/deploy/lock.ts';
import { parseStatCsv } from '../../src/verify/haproxy.ts';

test('release list: newest first and where current and previous point', () => {
  const l = parseReleaseList('release c\nrelease b\nrelease a\ncurrent /srv/app/releases/b\nprevious /srv/app/releases/a\n');
  assert.equal(l, { releases: ['c', 'b', 'a'], current: 'b', previous: 'a' });
  assert.equal(parseReleaseList('current \nprevious \n'), { releases: [] });
});

const previousCases: Array<[string, { releases: string[]; current?: string; previous?: string }, string | undefined]> = [
  ['the release that was live before, not the newest older one', { releases: ['d', 'c', 'b', 'a'], current: 'd', previous: 'b' }, 'b'],
  ['after a rollback: the one rolled back from', { releases: ['d', 'c', 'b', 'a'], current: 'b', previous: 'd' }, 'd'],
  ['no previous link (an older server): the next older release', { releases: ['c', 'b', 'a'], current: 'b' }, 'a'],
  ['a previous link to a release that is gone: the next older release', { releases: ['c', 'b', 'a'], current: 'c', previous: 'x' }, 'b'],
  ['a previous link equal to current is no rollback target', { releases: ['b', 'a'], current: 'b', previous: 'b' }, 'a'],
  ['only one release: nothing', { releases: ['a'], current: 'a' }, undefined],
  ['no current: nothing', { releases: ['b', 'a'] }, undefined],
];
for (const [name, list, expected] of previousCases) {
  test(`rollback target: ${name}`, () => assert.is(previousRelease(list), expected));
}

test('pruning keeps the newest N and never current, the release before it, nor the rollback target', () => {
  const list = { releases: ['f', 'e', 'd', 'c', 'b', 'a'], current: 'f' };
  assert.equal(releasesToPrune(list, 3), ['c', 'b', 'a']);
  // After a rollback current is old: it and the one before it survive however old they are.
  assert.equal(releasesToPrune({ releases: ['f', 'e', 'd', 'c', 'b', 'a'], current: 'b' }, 2), ['d', 'c']);
  assert.equal(releasesToPrune({ releases: ['b', 'a'], current: 'b' }, 5), []);
  // The previous link protects the rollback target wherever it is in the list.
  assert.equal(releasesToPrune({ releases: ['f', 'e', 'd', 'c', 'b', 'a'], current: 'f', previous: 'a' }, 1), ['d', 'c', 'b']);
});

test('switching current is one rename onto a complete release, and records previous', () => {
  const s = switchCurrent('1.0.1-abc', '1.0.0-def');
  assert.match(s, /\[ -e \/srv\/app\/releases\/1\.0\.1-abc\/\.tandem-complete \]/);
  assert.match(s, /ln -sfn \/srv\/app\/releases\/1\.0\.1-abc \/srv\/app\/current\.tandem-new\nmv -Tf \/srv\/app\/current\.tandem-new \/srv\/app\/current/);
  assert.match(s, /ln -sfn \/srv\/app\/releases\/1\.0\.0-def \/srv\/app\/previous\.tandem-new\nmv -Tf \/srv\/app\/previous\.tandem-new \/srv\/app\/previous$/);
  assert.match(switchCurrent('1.0.1-abc', null), /rm -f \/srv\/app\/previous$/);
  assert.match(switchCurrent('1.0.1-abc', '1.0.1-abc'), /rm -f \/srv\/app\/previous$/, 'never previous = current');
});

test('HAProxy runtime commands go to the admin socket', () => {
  assert.is(setServerState('web', 'web-01', 'drain'), "echo 'set server web/web-01 state drain' | socat stdio UNIX-CONNECT:/run/haproxy/admin.sock");
});

test('stat CSV: server rows with status and sessions in flight', () => {
  const csv = '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status\nweb,web-01,0,0,2,5,,9,0,0,,0,,0,0,0,0,UP\nweb,web-02,0,0,0,5,,9,0,0,,0,,0,0,0,0,DRAIN\nweb,BACKEND,0,0,2,5,,9,0,0,,0,,0,0,0,0,UP\n';
  assert.equal(parseStatCsv(csv), [
    { backend: 'web', server: 'web-01', status: 'UP', current: 2 },
    { backend: 'web', server: 'web-02', status: 'DRAIN', current: 0 },
  ]);
});

test('lock: parsed and described with holder, since and until; garbage is no lock', () => {
  const l = parseLock('{"holder":"root@ctl (pid 7)","since":"2026-01-01T00:00:00Z","until":"2026-01-01T00:30:00Z"}')!;
  assert.is(describeLock(l), 'root@ctl (pid 7) since 2026-01-01T00:00:00Z (expires 2026-01-01T00:30:00Z)');
  assert.is(parseLock('not json'), undefined);
  assert.is(parseLock('{"holder":"x"}'), undefined);
});

const LOCK = (until: string) => JSON.stringify({ holder: 'ci@ctl (pid 9)', since: '2026-01-01T00:00:00Z', until });
const NOW = new Date('2026-01-01T00:10:00Z');

const verdicts: Array<[string, string, boolean, string, RegExp]> = [
  ['a live lock is refused, naming its holder', LOCK('2026-01-01T00:30:00Z'), false, 'refuse',
    /^another deploy holds the lock: ci@ctl \(pid 9\) since 2026-01-01T00:00:00Z \(expires 2026-01-01T00:30:00Z\)\. Wait .*--force-unlock/],
  ['an expired lock is taken over with a warning', LOCK('2026-01-01T00:05:00Z'), false, 'take-over', /^taking over an expired deploy lock: ci@ctl/],
  ['an unreadable lock is refused: it may be a deploy running now', '', false, 'refuse', /holds the lock: an unreadable lock \(""\)/],
  ['a lock with a bad date is refused as unreadable', LOCK('soon'), false, 'refuse', /an unreadable lock/],
  ['--force-unlock takes over a live lock', LOCK('2026-01-01T00:30:00Z'), true, 'take-over', /^taking over a deploy lock \(--force-unlock\): ci@ctl/],
  ['--force-unlock takes over an unreadable lock', 'garbage', true, 'take-over', /unreadable lock \("garbage"\)/],
];
for (const [name, text, force, action, message] of verdicts) {
  test(`lock verdict: ${name}`, () => {
    const v = lockVerdict(text, NOW, force);
    assert.is(v.action, action);
    assert.match(v.action === 'refuse' ? v.reason : v.warning, message);
  });
}

function sh(script: string, stdin = ''): { code: number; stdout: string } {
  const r = spawnSync('sh', ['-c', script], { input: stdin, encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout };
}

test('lock scripts: first taker wins with its whole content, the second sees it; take-over and release check ownership', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tandem-lock-'));
  try {
    const file = path.join(dir, 'sub/deploy.lock');
    assert.is(sh(acquireScript(file), 'first').code, 0);
    assert.is(readFileSync(file, 'utf8'), 'first');
    const second = sh(acquireScript(file), 'second');
    assert.is(second.code, LOCK_HELD);
    assert.is(second.stdout, 'first');
    assert.equal(readdirSync(path.dirname(file)), ['deploy.lock'], 'no temporary file left behind');
    assert.is(sh(takeOverScript('not-what-is-there', file), 'third').code, LOCK_HELD);
    assert.is(sh(takeOverScript('first', file), 'third').code, 0);
    assert.is(readFileSync(file, 'utf8'), 'third');
    sh(releaseScript('first', file));
    assert.is(readFileSync(file, 'utf8'), 'third', 'a lock that is not ours stays');
    sh(releaseScript('third', file));
    assert.equal(readdirSync(path.dirname(file)), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('lock scripts: of 8 deploys racing for the lock exactly one wins, and every loser reads a whole lock', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tandem-lock-'));
  try {
    const file = path.join(dir, 'deploy.lock');
    writeFileSync(path.join(dir, 'acquire.sh'), acquireScript(file));
    // Each racer pipes a large body, so a non-atomic create would be seen half-written.
    const out = execFileSync('sh', ['-c', `
      for i in 1 2 3 4 5 6 7 8; do
        ( head -c 200000 /dev/zero | tr '\\0' "$i" | sh acquire.sh > out.$i; echo $? > rc.$i ) &
      done; wait; cat rc.*`], { cwd: dir, encoding: 'utf8' });
    const codes = out.trim().split('\n').map(Number).sort();
    assert.equal(codes, [0, 3, 3, 3, 3, 3, 3, 3]);
    const lock = readFileSync(file, 'utf8');
    assert.is(lock.length, 200000);
    const seen = [1, 2, 3, 4, 5, 6, 7, 8].map((i) => readFileSync(path.join(dir, `out.${i}`), 'utf8'));
    assert.is(seen.filter((s) => s === '').length, 1, 'only the winner prints nothing');
    for (const s of seen) assert.ok(s === '' || s === lock, `a loser read ${s.length} of ${lock.length} bytes`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
