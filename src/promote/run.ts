// `tandem promote` (switchover and failover) and `tandem rejoin`, run against the hosts. The
// commands come from commands.ts, the decisions from gtid.ts and checks.ts; this file orders them
// and measures how long writes were unavailable. Nothing here prints: `say` tells the CLI.
import { readFile } from 'node:fs/promises';
import type { HostSpec, Inventory } from '../inventory/types.ts';
import type { Secrets } from '../secrets/store.ts';
import type { Redactor } from '../secrets/secret.ts';
import type { Connection } from '../ssh/connection.ts';
import type { Command } from '../engine/types.ts';
import { runCommand } from '../engine/commands.ts';
import { ValidationError } from '../errors.ts';
import { mysqlStateFact, parseMysqlState, type MysqlState } from '../facts/mysql.ts';
import { planAccount, requireTlsCommand } from '../ops/mysql/ops.ts';
import { primaryAccounts } from '../../recipes/database.ts';
import { HOST_FILE, hostFile } from '../../recipes/base.ts';
import { dbHosts, dialectOf, hasRole, primaryOf } from '../stack/roles.ts';
import { appDbFile } from '../stack/app-db.ts';
import { DB_CA_FILE, MYSQL_PORT, REPLICATION_USER, VERIFY_DB } from '../stack/names.ts';
import { serverTlsOn } from '../tls/settings.ts';
import { becomePrimary, catchUpAndTakeWrites, clearForSeed, follow, NOT_CAUGHT_UP, pointApp, resumeWrites, seriesOf, sqlCommand, stopReceiving, stopWritesScript, waitFor, type ReplicationTls } from './commands.ts';
import { checkCandidate, errantGtids, gtidText, parseGtidList, type ReplicaPosition } from './gtid.ts';
import { moveRoles, rewriteInventory, unfence } from './inventory-edit.ts';
import { checkTarget } from './checks.ts';

export interface PromoteDeps {
  inventory: Inventory;
  secrets: Secrets;
  redactor: Redactor;
  connect(host: HostSpec): Promise<Connection>;
  /** Take the run lock on these hosts (refused: throws RunLockedError). */
  lock(hosts: HostSpec[]): Promise<void>;
  say(line: string): void;
  /** ms, monotonic. */
  now(): number;
  /** How long the old primary gets to answer in a failover before it counts as down. */
  probeTimeoutMs?: number;
}

export interface PromoteReport {
  mode: 'switchover' | 'failover';
  from: string;
  to: string;
  /** From the moment writes stopped (switchover) or the promotion started (failover) to every reachable app writing to the new primary. */
  writeUnavailableMs: number;
  /** The GTID position the new primary had executed when it took writes. */
  gtid: string;
  /** App hosts pointed at the new primary; those that could not be are in `unreached`. */
  apps: string[];
  unreached: string[];
  /** Failover: the former primary, fenced in the inventory (db.fenced). */
  fenced?: string;
  /** Failover with --force: the replicas that had received more than the one promoted. */
  ahead?: string[];
  durationMs: number;
}

const host = (inv: Inventory, name: string) => inv.hosts.find((h) => h.name === name)!;

async function run(deps: PromoteDeps, h: HostSpec, cmd: Command): Promise<string> {
  return (await runCommand(await deps.connect(h), cmd, deps.redactor)).stdout;
}

async function readState(deps: PromoteDeps, h: HostSpec): Promise<MysqlState> {
  const d = dialectOf(deps.inventory);
  const fact = mysqlStateFact(d.showReplicaStatus);
  const res = await (await deps.connect(h)).exec({ script: fact.script, describe: 'read the database state' });
  return parseMysqlState(res.stdout, res.exitCode);
}

const lastLine = (s: string) => s.trim().split('\n').pop()?.trim() ?? '';

/** Whether replicas of `source` use TLS (decided by its MariaDB series, as apply decides). */
async function tlsTo(deps: PromoteDeps, source: HostSpec): Promise<ReplicationTls> {
  // With tandem's CA, exactly as apply's replication op points a replica, so plan finds nothing after.
  if (serverTlsOn(deps.inventory)) return { on: true, ca: DB_CA_FILE };
  const series = seriesOf(lastLine(await run(deps, source, sqlCommand('SELECT VERSION();', 'read the server version'))));
  return { on: series === undefined ? undefined : dialectOf(deps.inventory).replicationTls(series) };
}

function sourceOf(deps: PromoteDeps, primary: HostSpec) {
  return { name: primary.name, host: primary.address, port: MYSQL_PORT, user: REPLICATION_USER, password: deps.secrets.db_replication_password.reveal() };
}

/**
 * The accounts `primary` needs as the primary (the app's, its replicas', the verifier's), created
 * through `on` with binary logging, so every server that replicates from `on` gets them too.
 */
async function primaryAccountsOn(deps: PromoteDeps, on: HostSpec, primary: HostSpec): Promise<void> {
  for (const args of primaryAccounts(deps.inventory, deps.secrets, primary)) {
    const change = planAccount(args, { exists: false, plugin: '', auth: Buffer.alloc(0), grants: [] });
    for (const cmd of change?.commands ?? []) await run(deps, on, cmd);
  }
}

/**
 * TLS required of the accounts that need it on `primary` as apply sets it there: an account that
 * existed before (the app's of the old primary's own host, which was local to it) got none from
 * CREATE USER IF NOT EXISTS, and apply's change is kept out of the binary log, so it is made here.
 */
async function requireTlsOn(deps: PromoteDeps, primary: HostSpec): Promise<void> {
  const accounts = primaryAccounts(deps.inventory, deps.secrets, primary).filter((a) => a.requireSsl);
  if (accounts.length) await run(deps, primary, requireTlsCommand(accounts));
}

/** The roles each host has once `primary` is the primary: db-primary and db-replica swap places. */
export function rolesAfter(inv: Inventory, primary: string, former: string): Map<string, HostSpec> {
  const swap = (h: HostSpec, from: string, to: string) => ({ ...h, roles: h.roles.map((r) => (r === from ? to : r)) as HostSpec['roles'] });
  return new Map([
    [primary, swap(host(inv, primary), 'db-replica', 'db-primary')],
    [former, swap(host(inv, former), 'db-primary', 'db-replica')],
  ]);
}

/** /etc/tandem/host on the hosts whose roles moved and that answer, as apply would write it. */
async function recordRoles(deps: PromoteDeps, moved: Map<string, HostSpec>, skip: string[] = []): Promise<void> {
  for (const h of moved.values()) {
    if (skip.includes(h.name)) continue;
    await run(deps, h, { kind: 'put', path: HOST_FILE, content: hostFile(deps.inventory, h), mode: '0644', owner: 'root', group: 'root' });
  }
}

/** Point every reachable app at the new primary (its database file, then SIGHUP). */
async function pointApps(deps: PromoteDeps, primary: HostSpec, skip: string[] = []): Promise<{ apps: string[]; unreached: string[] }> {
  const apps = deps.inventory.hosts.filter((h) => hasRole(h, 'app') && !skip.includes(h.name));
  const results = await Promise.allSettled(apps.map((a) => run(deps, a, pointApp(appDbFile(a, primary)))));
  const unreached = apps.filter((_, i) => results[i]!.status === 'rejected');
  results.forEach((r, i) => r.status === 'rejected' && deps.say(`! ${apps[i]!.name}: the app could not be pointed at ${primary.name} (${(r.reason as Error).message}); run apply once it answers`));
  return { apps: apps.filter((a) => !unreached.includes(a)).map((a) => a.name), unreached: [...unreached.map((a) => a.name), ...skip] };
}

/** Hosts the promotion acts on: every database server (the fenced ones and `except` aside) and every app server. */
function involved(inv: Inventory, except: string[] = []): HostSpec[] {
  return inv.hosts.filter((h) => (hasRole(h, 'app') || dbHosts(inv).includes(h)) && !except.includes(h.name) && !inv.db.fenced.includes(h.name));
}

/** What every promotion starts from: the inventory's dialect and primary, and the checked target. */
function begin(deps: PromoteDeps, target: string) {
  const inv = deps.inventory;
  checkTarget(inv, target);
  return { inv, d: dialectOf(inv), old: primaryOf(inv), next: host(inv, target), started: deps.now() };
}

/** Planned: the primary answers. Writes stop there, the target catches up, takes writes, the apps follow, the old primary replicates from it. */
export async function switchover(deps: PromoteDeps, target: string): Promise<PromoteReport> {
  const { inv, d, old, next, started } = begin(deps, target);
  await deps.lock(involved(inv));
  const st = await readState(deps, next);
  const r = st.replica;
  if (r[d.status.sourceHost] !== old.address || r[d.status.ioRunning] !== 'Yes' || r[d.status.sqlRunning] !== 'Yes') {
    throw new ValidationError(
      `${target} does not replicate from ${old.name} with both threads running (source ${r[d.status.sourceHost] ?? 'none'}, IO ${r[d.status.ioRunning] ?? '-'}, SQL ${r[d.status.sqlRunning] ?? '-'}): nothing was changed. ` +
        `Run apply (or verify) to see why; if ${old.name} is down, use --failover.`,
      { host: target },
    );
  }
  const followers = dbHosts(inv).filter((h) => h.name !== next.name && !inv.db.fenced.includes(h.name));
  const tls = await tlsTo(deps, next);
  deps.say(`creating the accounts ${target} needs as the primary (through ${old.name}, so both have them)`);
  await primaryAccountsOn(deps, old, next);
  // Catch up before writes stop, so the window holds only the last few transactions.
  await run(deps, next, waitFor(d, lastLine(await run(deps, old, sqlCommand(`${d.primaryGtidQuery};`, 'read the GTID position'))), 30));
  deps.say(`stopping writes on ${old.name}`);
  const stopped = deps.now();
  const gtid = lastLine(await run(deps, old, stopWritesScript(d, inv.db.user)));
  // The inventory names the new primary before it takes writes: a run cut short from here on
  // leaves no inventory under which `apply` would make the old primary writable beside the new
  // one (a primary that still replicates stays read-only; see src/ops/mysql/writable.ts).
  const before = await readFile(inv.file, 'utf8');
  await rewriteInventory(inv.file, (text) => moveRoles(text, inv.file, { primary: next.name, former: old.name }));
  const caughtUp = await runCommand(await deps.connect(next), catchUpAndTakeWrites(d, gtid, 30), deps.redactor);
  if (caughtUp.exitCode === NOT_CAUGHT_UP) {
    await rewriteInventory(inv.file, () => before);
    await run(deps, old, resumeWrites(d));
    throw new ValidationError(`${target} did not execute ${old.name}'s position ${gtid} within 30 s: writes went back to ${old.name}, nothing else was changed.`, { host: target });
  }
  deps.say(`${target} has executed ${gtid}: it takes writes now`);
  // Replicas first: the apps' first writes then find a semi-sync replica to acknowledge them.
  await Promise.all(followers.map((f) => run(deps, f, follow(d, sourceOf(deps, next), tls, f.name === old.name))));
  const { apps, unreached } = await pointApps(deps, next);
  const writeUnavailableMs = Math.round(deps.now() - stopped);
  deps.say(`${followers.map((f) => f.name).join(', ')} replicate${followers.length === 1 ? 's' : ''} from ${target}; apps point at it (${apps.join(', ')}): writes were unavailable for ${writeUnavailableMs} ms`);
  await requireTlsOn(deps, next);
  await recordRoles(deps, rolesAfter(inv, next.name, old.name));
  return { mode: 'switchover', from: old.name, to: target, writeUnavailableMs, gtid, apps, unreached, durationMs: Math.round(deps.now() - started) };
}

/** Resolves when the host answers (its database included), rejects when it does not within `ms`. */
async function answers(deps: PromoteDeps, h: HostSpec, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const probe = (async () => {
    const conn = await deps.connect(h);
    const res = await conn.exec({ script: "mysql -N -B -e 'SELECT 1'", describe: 'does the database answer?' });
    return res.exitCode === 0;
  })().catch(() => false);
  try {
    return await Promise.race([probe, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Unplanned: the primary does not answer. The most advanced replica applies what it received, takes writes; the old primary is fenced. */
export async function failover(deps: PromoteDeps, target: string, force: boolean): Promise<PromoteReport> {
  const { inv, d, old, next, started } = begin(deps, target);
  const probeMs = deps.probeTimeoutMs ?? 5000;
  if (await answers(deps, old, probeMs)) {
    throw new ValidationError(`${old.name} answers, its database included: a failover would leave two primaries. Use \`tandem promote ${target}\` (a switchover) instead; nothing was changed.`, { host: old.name });
  }
  deps.say(`${old.name} does not answer within ${probeMs} ms: failing over to ${target}`);
  const candidates = dbHosts(inv).filter((h) => h.name !== old.name && !inv.db.fenced.includes(h.name));
  await deps.lock(involved(inv, [old.name]));
  const positions: ReplicaPosition[] = [];
  for (const c of candidates) {
    const st = await readState(deps, c).catch(() => undefined);
    if (!st?.up) {
      deps.say(`! ${c.name}: its database does not answer, so its position is unknown`);
      continue;
    }
    positions.push({ host: c.name, received: parseGtidList(st.replica[d.status.receivedGtid] ?? '') });
  }
  const verdict = checkCandidate(target, positions, force);
  if (!verdict.ok) throw new ValidationError(`${verdict.message} Nothing was changed.`, { host: target });
  const received = positions.find((p) => p.host === target)!.received.map(gtidText).join(',');
  await run(deps, next, stopReceiving());
  const waited = lastLine(await run(deps, next, waitFor(d, received, 120)));
  if (waited !== '0') throw new ValidationError(`${target} did not apply what it had received (${received}) within 120 s; it still replicates nothing and takes no writes. See SHOW SLAVE STATUS there.`, { host: target });
  await run(deps, next, becomePrimary(d));
  const gtid = lastLine(await run(deps, next, sqlCommand(`${d.primaryGtidQuery};`, 'read the GTID position')));
  deps.say(`${target} has applied ${received || '(nothing)'} and takes writes`);
  // Its replicas-to-be, the fenced former primary included (for `rejoin`).
  const followers = dbHosts(inv).filter((h) => h.name !== next.name);
  await primaryAccountsOn(deps, next, next);
  await rewriteInventory(inv.file, (text) =>
    moveRoles(text, inv.file, { primary: next.name, former: old.name, fence: { note: `${old.name}: fenced by \`tandem promote ${target} --failover\` at ${new Date().toISOString()}; \`tandem rejoin ${old.name}\` brings it back` } }),
  );
  deps.say(`${old.name} is fenced in ${inv.file} (db.fenced): tandem will not use it until \`tandem rejoin ${old.name}\``);
  const tls = await tlsTo(deps, next);
  const others = followers.filter((h) => h.name !== old.name && positions.some((p) => p.host === h.name));
  await Promise.all(others.map((f) => run(deps, f, follow(d, sourceOf(deps, next), tls, false))));
  for (const f of others) deps.say(`${f.name} replicates from ${target}`);
  const { apps, unreached } = await pointApps(deps, next, [old.name].filter((n) => hasRole(host(inv, n), 'app')));
  const writeUnavailableMs = Math.round(deps.now() - started);
  deps.say(`apps point at ${target} (${apps.join(', ')}): ${writeUnavailableMs} ms after the failover started`);
  await requireTlsOn(deps, next);
  await recordRoles(deps, rolesAfter(inv, next.name, old.name), [old.name]);
  return {
    mode: 'failover',
    from: old.name,
    to: target,
    writeUnavailableMs,
    gtid,
    apps,
    unreached,
    fenced: old.name,
    ...(verdict.ahead.length && { ahead: verdict.ahead }),
    durationMs: Math.round(deps.now() - started),
  };
}

export interface RejoinReport {
  host: string;
  primary: string;
  /** Transactions the host logged that the primary never saw. */
  errant: string[];
  /** The host was emptied for a re-seed (apply then loads a dump of the primary). */
  reseed: boolean;
  /** Where the host's databases were dumped before the re-seed. */
  backup?: string;
}

/**
 * Bring a former primary (or any replica that stopped following) back as a replica of the
 * inventory's primary. Diverged (errant transactions): its databases are dumped aside and emptied,
 * which is the evidence the replica seed needs to load a dump of the primary. Otherwise it
 * continues from its own position. Apply (run by the CLI right after) converges the rest.
 */
export async function rejoinHost(deps: PromoteDeps, name: string): Promise<RejoinReport> {
  const inv = deps.inventory;
  const d = dialectOf(inv);
  const h = inv.hosts.find((x) => x.name === name);
  if (!h || !hasRole(h, 'db-replica')) throw new ValidationError(`${name}: not a db-replica host of ${inv.file}; rejoin brings a database server back as a replica`);
  const primary = primaryOf(inv);
  await deps.lock([h, primary]);
  const st = await readState(deps, h);
  if (!st.up) throw new ValidationError(`${name}: the database does not answer; start it (systemctl start ${d.service}), then run rejoin again. Nothing was changed.`, { host: name });
  const gtidState = async (x: HostSpec) => parseGtidList(lastLine(await run(deps, x, sqlCommand(`${d.gtidStateQuery};`, 'read the GTID history'))));
  const errant = errantGtids(await gtidState(h), await gtidState(primary)).map(gtidText);
  let backup: string | undefined;
  if (errant.length) {
    backup = `/var/lib/tandem/rejoin/${inv.db.name}-${new Date().toISOString().replace(/[:.]/g, '-')}.sql`;
    deps.say(
      `${name} holds ${errant.length} transaction group(s) ${primary.name} never saw (${errant.join(', ')}): its history diverged. ` +
        `Re-seeding it from a dump of ${primary.name}; what it holds now is kept in ${backup} on ${name}.`,
    );
    await run(deps, h, clearForSeed(d, [inv.db.name, VERIFY_DB], backup));
  } else if (st.replica[d.status.sourceHost] !== primary.address) {
    await primaryAccountsOn(deps, primary, primary);
    const ownHistory = st.replica[d.status.sourceHost] === undefined;
    await run(deps, h, follow(d, sourceOf(deps, primary), await tlsTo(deps, primary), ownHistory));
    deps.say(`${name} holds nothing ${primary.name} lacks: it replicates from ${primary.name}, from its own position`);
  } else {
    deps.say(`${name} already replicates from ${primary.name}`);
  }
  await rewriteInventory(inv.file, (text) => unfence(text, inv.file, name));
  return { host: name, primary: primary.name, errant, reseed: errant.length > 0, ...(backup && { backup }) };
}
