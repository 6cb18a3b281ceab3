// Prometheus's and Alertmanager's HTTP APIs as seen from the monitor host itself: they listen on
// its loopback only, so status and verify ask with curl over the SSH connection they already
// have. Commands are built here as data; parsers are pure and say what they could not read.
import { parse } from 'yaml';
import type { Command } from '../engine/types.ts';
import type { Inventory } from '../inventory/types.ts';
import { renderTemplate } from '../ops/template.ts';
import { ALERTMANAGER_PORT, PROMETHEUS_PORT } from '../stack/names.ts';
import { rulesVars } from './rules.ts';

/** GET a path of the monitor host's Prometheus or Alertmanager; a refused connection exits non-zero. */
export function apiGet(service: 'prometheus' | 'alertmanager', path: string): Command {
  const port = service === 'prometheus' ? PROMETHEUS_PORT : ALERTMANAGER_PORT;
  return { kind: 'exec', argv: ['curl', '-sS', '--fail', '--max-time', '10', `http://127.0.0.1:${port}${path}`] };
}

export const ALERTS = apiGet('prometheus', '/api/v1/alerts');
export const TARGETS = apiGet('prometheus', '/api/v1/targets?state=active');
export const RULES = apiGet('prometheus', '/api/v1/rules?type=alert');
export const ALERTMANAGER_STATUS = apiGet('alertmanager', '/api/v2/status');

export interface Alert {
  name: string;
  /** The host the alert concerns (every rule sets it). */
  host: string;
  state: 'firing' | 'pending';
  summary: string;
  since: string;
}

export interface TargetHealth {
  job: string;
  host: string;
  instance: string;
  health: 'up' | 'down' | 'unknown';
  lastError: string;
}

function dataOf(stdout: string, what: string): any {
  let doc: any;
  try {
    doc = JSON.parse(stdout);
  } catch {
    throw new Error(`Prometheus answered ${what} with something that is not JSON`);
  }
  if (doc?.status !== 'success' || typeof doc.data !== 'object') throw new Error(`Prometheus answered ${what} with status ${String(doc?.status)}`);
  return doc.data;
}

/** The list under data[key] of an answer. */
function listOf(stdout: string, what: string, key: string): any[] {
  const list = dataOf(stdout, `the ${what}`)[key];
  if (!Array.isArray(list)) throw new Error(`Prometheus answered the ${what} without a list of ${what}`);
  return list;
}

export function parseAlerts(stdout: string): Alert[] {
  return listOf(stdout, 'alerts', 'alerts').map((a: any) => ({
    name: String(a.labels?.alertname ?? '?'),
    host: String(a.labels?.host ?? '?'),
    state: a.state === 'firing' ? 'firing' : 'pending',
    summary: String(a.annotations?.summary ?? ''),
    since: String(a.activeAt ?? ''),
  }));
}

export function parseTargets(stdout: string): TargetHealth[] {
  return listOf(stdout, 'targets', 'activeTargets').map((t: any) => ({
    job: String(t.labels?.job ?? '?'),
    host: String(t.labels?.host ?? '?'),
    instance: String(t.labels?.instance ?? '?'),
    health: t.health === 'up' || t.health === 'down' ? t.health : 'unknown',
    lastError: String(t.lastError ?? ''),
  }));
}

/** Alert rules Prometheus has loaded, by name, with their health ("ok", "err", "unknown"). */
export function parseRules(stdout: string): { name: string; health: string }[] {
  return listOf(stdout, 'rules', 'groups').flatMap((g: any) => (Array.isArray(g.rules) ? g.rules : []).map((r: any) => ({ name: String(r.name), health: String(r.health ?? 'unknown') })));
}

/** The alert names the inventory's rule file holds (rendered as the recipe renders it). */
export function expectedAlertNames(inv: Inventory): string[] {
  const doc = parse(renderTemplate('monitor/rules.yml.ejs', rulesVars(inv))) as { groups: { rules: { alert: string }[] }[] };
  return doc.groups.flatMap((g) => g.rules.map((r) => r.alert));
}
