// The platform check: a host runs a release tandem knows, with the database engine the inventory
// asks for, and a replica runs the same or a newer MariaDB than its primary. It only looks: it
// runs in the check phase, so a host that fails it stops the run before anything changes.
import { peerFact } from '../engine/facts.ts';
import type { Op } from '../engine/types.ts';
import { ValidationError } from '../errors.ts';
import { compareSeries, KNOWN_RELEASES, knownRelease, mariadbSeries, platformFact, type Platform } from '../facts/platform.ts';

export interface PlatformArgs {
  /** The database engine, on a database host. */
  engine?: 'mariadb' | 'mysql';
  /** On a replica: its primary, whose platform it reads as a peer fact. */
  primary?: string;
}

const known = () => KNOWN_RELEASES.map((r) => r.name).join(' and ');

/** Pure: what stops this host, or undefined. The primary's platform is undefined when it is not part of the run. */
export function platformProblem(args: PlatformArgs, have: Platform, primary?: Platform): string | undefined {
  const release = knownRelease(have.os);
  if (!release) {
    const runs = have.os ? `this server runs ${have.os.prettyName}` : 'this server has no /etc/os-release to tell its release';
    return `${runs}; tandem knows ${known()} (docs/platforms.md). Nothing was changed on any server.`;
  }
  if (args.engine === 'mysql') {
    return `db.engine is mysql, but ${release.name} has no MySQL server package (its database is MariaDB): use db.engine: mariadb. Nothing was changed on any server.`;
  }
  const mine = mariadbSeries(have);
  const theirs = primary && mariadbSeries(primary);
  if (args.primary && mine && theirs && compareSeries(mine, theirs) < 0) {
    return (
      `this replica would run MariaDB ${mine} and its primary ${args.primary} runs MariaDB ${theirs}: ` +
      `a replica must run the same or a newer MariaDB than its primary. Upgrade the replicas first, then the primary ` +
      `(docs/platforms.md). Nothing was changed on any server.`
    );
  }
  return undefined;
}

export function platformCheck(args: PlatformArgs): Op {
  const primary = args.primary === undefined ? undefined : peerFact(args.primary, platformFact);
  return {
    id: 'platform',
    facts: [platformFact, ...(primary ? [primary] : [])],
    plan: (f) => {
      const problem = platformProblem(args, f.get(platformFact), primary && f.get(primary));
      if (problem) throw new ValidationError(problem);
      return null;
    },
  };
}
