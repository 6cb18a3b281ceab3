// Rolling-deploy building blocks as tables: release lists, pruning, the lock, HAProxy commands.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseReleaseList, releasesToPrune, setServerState, switchCurrent } from '../../src/deploy/commands.ts';
import { describeLock, parseLock } from '../../src/deploy/lock.ts';
import { parseStatCsv } from '../../src/verify/haproxy.ts';

test('release list: newest first and where current points', () => {
  const l = parseReleaseList('release c\nrelease b\nrelease a\ncurrent /srv/app/releases/b\n');
  assert.equal(l, { releases: ['c', 'b', 'a'], current: 'b' });
  assert.equal(parseReleaseList('current \n'), { releases: [] });
});

test('pruning keeps the newest N and never current nor the release before it', () => {
  const list = { releases: ['f', 'e', 'd', 'c', 'b', 'a'], current: 'f' };
  assert.equal(releasesToPrune(list, 3), ['c', 'b', 'a']);
  // After a rollback current is old: it and the one before it survive however old they are.
  assert.equal(releasesToPrune({ releases: ['f', 'e', 'd', 'c', 'b', 'a'], current: 'b' }, 2), ['d', 'c']);
  assert.equal(releasesToPrune({ releases: ['b', 'a'], current: 'b' }, 5), []);
});

test('switching current is one rename onto a complete release', () => {
  const s = switchCurrent('1.0.1-abc');
  assert.match(s, /\[ -e \/srv\/app\/releases\/1\.0\.1-abc\/\.tandem-complete \]/);
  assert.match(s, /ln -sfn \/srv\/app\/releases\/1\.0\.1-abc \/srv\/app\/current\.tandem-new/);
  assert.match(s, /mv -Tf \/srv\/app\/current\.tandem-new \/srv\/app\/current/);
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

test.run();
