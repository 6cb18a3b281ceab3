// MariaDB GTID lists ("domain-server-seq,..."), read as data: which server is ahead of which,
// and which transactions one server holds that another never saw (errant transactions).
// gtid_strict_mode is on everywhere (src/ops/mysql/dialect.ts), so within a replication domain
// sequence numbers only grow, whichever server wrote them.

export interface Gtid {
  domain: number;
  server: number;
  seq: number;
}

export const gtidText = (g: Gtid) => `${g.domain}-${g.server}-${g.seq}`;

/** A GTID list as MariaDB prints it; an empty text is the empty list. Anything else is an error naming what it got. */
export function parseGtidList(text: string): Gtid[] {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed === 'NULL') return [];
  return trimmed.split(',').map((part) => {
    const m = /^(\d+)-(\d+)-(\d+)$/.exec(part.trim());
    if (!m) throw new Error(`not a MariaDB GTID list: ${JSON.stringify(text)}`);
    return { domain: Number(m[1]), server: Number(m[2]), seq: Number(m[3]) };
  });
}

/**
 * The GTIDs of `mine` (a server's gtid_binlog_state: the last GTID per domain and server) that
 * `theirs` does not hold: those of a (domain, server) pair `theirs` lacks, or with a higher
 * sequence number than its own. Empty: everything `mine` logged is in `theirs`' history.
 */
export function errantGtids(mine: readonly Gtid[], theirs: readonly Gtid[]): Gtid[] {
  return mine.filter((g) => !theirs.some((t) => t.domain === g.domain && t.server === g.server && t.seq >= g.seq));
}

/** The highest sequence number per domain of a position (gtid_binlog_pos, Gtid_IO_Pos). */
function lastSeqByDomain(pos: readonly Gtid[]): Map<number, number> {
  const last = new Map<number, number>();
  for (const g of pos) last.set(g.domain, Math.max(last.get(g.domain) ?? -1, g.seq));
  return last;
}

/** The domains where position `a` has transactions `b` has not reached, with both sequence numbers. */
export function aheadIn(a: readonly Gtid[], b: readonly Gtid[]): { domain: number; seq: number; otherSeq: number }[] {
  const lb = lastSeqByDomain(b);
  return [...lastSeqByDomain(a)].filter(([d, s]) => s > (lb.get(d) ?? -1)).map(([domain, seq]) => ({ domain, seq, otherSeq: lb.get(domain) ?? -1 }));
}

export interface ReplicaPosition {
  host: string;
  /** What it has received from the old primary (applied or not): what it will hold once it has applied its relay log. */
  received: Gtid[];
}

/**
 * Whether `chosen` may be promoted: refused when another replica has received transactions it
 * has not (promoting it would lose them), unless `force`. The message names who is ahead.
 */
export function checkCandidate(chosen: string, positions: readonly ReplicaPosition[], force: boolean): { ok: true; ahead: string[] } | { ok: false; message: string } {
  const mine = positions.find((p) => p.host === chosen);
  if (!mine) return { ok: false, message: `${chosen}: its replication position could not be read` };
  const ahead = positions
    .filter((p) => p.host !== chosen)
    .map((p) => ({ host: p.host, domains: aheadIn(p.received, mine.received) }))
    .filter((p) => p.domains.length > 0);
  if (ahead.length === 0 || force) return { ok: true, ahead: ahead.map((a) => a.host) };
  const said = ahead
    .map((a) => `${a.host} (${a.domains.map((d) => `domain ${d.domain}: ${d.seq} > ${d.otherSeq < 0 ? 'none' : d.otherSeq}`).join(', ')})`)
    .join(', ');
  return {
    ok: false,
    message:
      `${chosen} is behind ${said}: promoting it would lose what only ${ahead.length > 1 ? 'they have' : 'it has'}. ` +
      `Promote ${ahead[0]!.host} instead, or pass --force to promote ${chosen} anyway.`,
  };
}
