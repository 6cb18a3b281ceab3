// The platform fact (os-release and package versions, as the host prints them) and the check
// that stops a run on a release tandem does not know, as tables.
import { test } from '../fixtures/uvu.ts';
import * as assert from 'uvu/assert';
import { compareSeries, KNOWN_RELEASES, knownRelease, mariadbSeries, parseOsRelease, parsePlatform, platformFact, upstreamSeries, type Platform } from '../../src/facts/platform.ts';
import { platformCheck, platformProblem } from '../../src/ops/platform.ts';
import { LAB_RELEASES } from '../../src/inventory/types.ts';
import { releaseInfo } from '../../src/lab/base-recipe.ts';
import { peerFact } from '../../src/engine/facts.ts';
import type { FactValues } from '../../src/engine/types.ts';

const TRIXIE_OS_RELEASE = `PRETTY_NAME="Debian GNU/Linux 13 (trixie)"
NAME="Debian GNU/Linux"
VERSION_ID="13"
VERSION="13 (trixie)"
VERSION_CODENAME=trixie
DEBIAN_VERSION_FULL=13.8
ID=debian
HOME_URL="https://www.debian.org/"
`;

const platform = (os: string, dpkg = ''): Platform => parsePlatform(`${os}-- packages\n${dpkg}`);

test('os-release: quoted and bare values, escapes; nothing without an ID', () => {
  assert.equal(parseOsRelease(TRIXIE_OS_RELEASE), { id: 'debian', versionId: '13', codename: 'trixie', prettyName: 'Debian GNU/Linux 13 (trixie)' });
  assert.equal(parseOsRelease(`ID=ubuntu\nVERSION_ID='24.04'\nPRETTY_NAME="Ubuntu \\"Noble\\" 24.04"\n`), {
    id: 'ubuntu', versionId: '24.04', codename: '', prettyName: 'Ubuntu "Noble" 24.04',
  });
  assert.is(parseOsRelease('NAME=nothing\n'), undefined);
});

test('platform fact: installed packages only ("rc" is removed), with epoch and revision kept', () => {
  const p = platform(TRIXIE_OS_RELEASE, 'haproxy 3.0.11-1+deb13u5 ii \nmariadb-server 1:11.8.9+ds-0+deb13u1 ii \nnginx 1.26.3-3+deb13u11 rc \n');
  assert.equal(p.packages, { haproxy: '3.0.11-1+deb13u5', 'mariadb-server': '1:11.8.9+ds-0+deb13u1' });
  assert.is(p.os?.codename, 'trixie');
  assert.equal(parsePlatform(''), { packages: {} });
  assert.match(platformFact.script, /dpkg-query -W .*mariadb-server/);
});

test('versions: upstream series from Debian versions, compared as numbers', () => {
  assert.is(upstreamSeries('1:11.8.9+ds-0+deb13u1'), '11.8');
  assert.is(upstreamSeries('1:10.11.19-0+deb12u1'), '10.11');
  assert.is(upstreamSeries('3.0.11-1+deb13u5'), '3.0');
  assert.is(upstreamSeries('garbage'), undefined);
  assert.ok(compareSeries('10.11', '11.8') < 0);
  assert.ok(compareSeries('11.8', '11.4') > 0);
  assert.is(compareSeries('10.11', '10.11'), 0);
  assert.ok(compareSeries('10.9', '10.11') < 0, 'not compared as text');
});

test('known releases: Debian 13 and 12; the MariaDB a host runs or will run', () => {
  assert.equal(KNOWN_RELEASES.map((r) => r.name), ['Debian 13 (trixie)', 'Debian 12 (bookworm)']);
  assert.is(knownRelease(parseOsRelease('ID=debian\nVERSION_ID=12\n'))?.codename, 'bookworm');
  assert.is(knownRelease(parseOsRelease('ID=debian\nVERSION_CODENAME=forky\nPRETTY_NAME="Debian GNU/Linux forky/sid"\n')), undefined);
  assert.is(mariadbSeries(platform(TRIXIE_OS_RELEASE)), '11.8', 'not installed yet: the release default');
  assert.is(mariadbSeries(platform('ID=debian\nVERSION_ID=12\n', 'mariadb-server 1:11.4.2+maria~deb12 ii \n')), '11.4', 'installed wins');
  assert.is(mariadbSeries(platform('ID=ubuntu\nVERSION_ID=24.04\n')), undefined);
  for (const r of LAB_RELEASES) assert.is(releaseInfo(r).codename, r, `the lab's ${r} is a release tandem knows`);
});

const BOOKWORM = platform('ID=debian\nVERSION_ID=12\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n');
const TRIXIE = platform(TRIXIE_OS_RELEASE);

test('platform check: what stops a host, in words that say what to do', () => {
  const table: [Parameters<typeof platformProblem>, RegExp | undefined][] = [
    [[{}, TRIXIE], undefined],
    [[{ engine: 'mariadb' }, BOOKWORM], undefined],
    [[{}, platform('ID=ubuntu\nVERSION_ID=24.04\nPRETTY_NAME="Ubuntu 24.04.3 LTS"\n')], /^this server runs Ubuntu 24\.04\.3 LTS; tandem knows Debian 13 \(trixie\) and Debian 12 \(bookworm\) .*Nothing was changed on any server\.$/],
    [[{}, platform('ID=debian\nVERSION_CODENAME=forky\nPRETTY_NAME="Debian GNU/Linux forky/sid"\n')], /runs Debian GNU\/Linux forky\/sid; tandem knows/],
    [[{}, parsePlatform('')], /no \/etc\/os-release/],
    [[{ engine: 'mysql' }, TRIXIE], /db\.engine is mysql, but Debian 13 \(trixie\) has no MySQL server package.*use db\.engine: mariadb/],
    // Replicas: the upgrade direction only.
    [[{ engine: 'mariadb', primary: 'web-01' }, TRIXIE, BOOKWORM], undefined],
    [[{ engine: 'mariadb', primary: 'web-01' }, BOOKWORM, BOOKWORM], undefined],
    [[{ engine: 'mariadb', primary: 'web-01' }, BOOKWORM, TRIXIE], /this replica would run MariaDB 10\.11 and its primary web-01 runs MariaDB 11\.8: a replica must run the same or a newer MariaDB.*Upgrade the replicas first/],
    [[{ engine: 'mariadb', primary: 'web-01' }, BOOKWORM, undefined], undefined],
  ];
  for (const [args, expected] of table) {
    const problem = platformProblem(...args);
    if (expected) assert.match(problem ?? '(none)', expected);
    else assert.is(problem, undefined, JSON.stringify(args[0]));
  }
});

test('platform check op: reads its own platform and, on a replica, the primary one as a peer fact', () => {
  const op = platformCheck({ engine: 'mariadb', primary: 'web-01' });
  const peer = peerFact('web-01', platformFact);
  assert.equal(op.facts.map((f) => f.id), ['platform', peer.id]);
  const values = (own: Platform, primary?: Platform): FactValues => ({
    get: <T>(f: { id: string }) => (f.id === peer.id ? primary : own) as T,
  });
  assert.is(op.plan(values(TRIXIE, BOOKWORM)), null);
  assert.throws(() => op.plan(values(BOOKWORM, TRIXIE)), /a replica must run the same or a newer MariaDB/);
});

test.run();
