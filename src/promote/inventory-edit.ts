// Rewriting the inventory after a promotion, as a person would edit it: only the roles that moved
// (and the fencing record) change; every other byte stays, comments, quoting, spacing and flow or
// block style included. The yaml package's Document API finds each node's place in the text
// (its source range), the edit replaces just those characters, and the result is parsed again
// and checked to say what was meant before it is written.
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { isMap, isScalar, isSeq, parseDocument, type Document, type Node, type Pair, type YAMLMap } from 'yaml';
import { InventoryError } from '../errors.ts';

export interface RoleMove {
  /** Becomes db-primary. */
  primary: string;
  /** The former primary: becomes db-replica. */
  former: string;
  /** Record the former primary in db.fenced (a failover), with why as a comment where the layout allows one. */
  fence?: { note: string };
}

interface Edit {
  at: number;
  end: number;
  text: string;
}

const apply = (text: string, edits: Edit[]) => [...edits].sort((a, b) => b.at - a.at).reduce((t, e) => t.slice(0, e.at) + e.text + t.slice(e.end), text);

const lineStart = (text: string, at: number) => text.lastIndexOf('\n', at - 1) + 1;
const lineEnd = (text: string, at: number) => (text.indexOf('\n', at) < 0 ? text.length : text.indexOf('\n', at));
const range = (n: Node | null | undefined) => n?.range ?? [0, 0, 0];

function parsed(text: string, file: string): Document {
  const doc = parseDocument(text);
  if (doc.errors.length) throw new InventoryError([`${file}: ${doc.errors[0]!.message}`]);
  return doc;
}

function roleEdit(doc: Document, file: string, host: string, from: string, to: string): Edit {
  const roles = doc.getIn(['hosts', host, 'roles'], true);
  if (!isSeq(roles)) throw new InventoryError([`${file}: hosts.${host}.roles: not a list, so it was not rewritten`]);
  const item = roles.items.find((i) => isScalar(i) && i.value === from);
  if (!isScalar(item) || !item.range) throw new InventoryError([`${file}: hosts.${host}.roles: has no ${from}, so it was not rewritten`]);
  return { at: item.range[0], end: item.range[1], text: to };
}

function fencedPair(doc: Document): { db?: YAMLMap; pair?: Pair } {
  const db = doc.get('db', true);
  if (!isMap(db)) return {};
  return { db, pair: db.items.find((p) => isScalar(p.key) && p.key.value === 'fenced') };
}

/** Where to add `host` to db.fenced, creating the key (or the db section) in the style around it. */
function fenceEdit(doc: Document, text: string, host: string, note: string): Edit | undefined {
  const { db, pair } = fencedPair(doc);
  if (!db) {
    const end = text.endsWith('\n') || text === '' ? text.length : text.length;
    return { at: end, end, text: `${text.endsWith('\n') || text === '' ? '' : '\n'}db:\n  fenced: [${host}] # ${note}\n` };
  }
  if (pair && isSeq(pair.value)) {
    const seq = pair.value;
    if (seq.items.some((i) => isScalar(i) && i.value === host)) return undefined;
    const [start, valueEnd] = range(seq);
    if (seq.flow) {
      const close = text.lastIndexOf(']', valueEnd);
      return { at: close, end: close, text: seq.items.length ? `, ${host}` : host };
    }
    const last = seq.items[seq.items.length - 1] as Node;
    const indent = range(last)[0] - lineStart(text, range(last)[0]);
    const eol = lineEnd(text, range(last)[1]);
    return { at: eol, end: eol, text: `\n${' '.repeat(indent - 2)}- ${host}` };
  }
  if (pair) throw new InventoryError(['db.fenced: not a list, so it was not rewritten']);
  const [dbStart, dbEnd] = range(db);
  if (db.flow) {
    // Right after the last entry, before any space that pads the closing brace.
    const close = text.lastIndexOf('}', dbEnd);
    const at = close - (text.slice(0, close).match(/\s*$/)?.[0].length ?? 0);
    return { at, end: at, text: `${db.items.length ? ', ' : ''}fenced: [${host}]` };
  }
  const firstKey = db.items[0]?.key as Node | undefined;
  const indent = firstKey ? range(firstKey)[0] - lineStart(text, range(firstKey)[0]) : 2;
  const lastValue = (db.items[db.items.length - 1]?.value ?? db.items[db.items.length - 1]?.key) as Node | undefined;
  const eol = lineEnd(text, lastValue ? range(lastValue)[1] : dbStart);
  return { at: eol, end: eol, text: `\n${' '.repeat(indent)}fenced: [${host}] # ${note}` };
}

/** The inventory text with the primary role moved (and the former primary fenced). Pure. */
export function moveRoles(text: string, file: string, move: RoleMove): string {
  const doc = parsed(text, file);
  const edits = [roleEdit(doc, file, move.primary, 'db-replica', 'db-primary'), roleEdit(doc, file, move.former, 'db-primary', 'db-replica')];
  const fence = move.fence && fenceEdit(doc, text, move.former, move.fence.note);
  const out = apply(text, fence ? [...edits, fence] : edits);
  const check = parsed(out, file);
  const roles = (h: string) => (check.getIn(['hosts', h, 'roles']) as { toJSON(): string[] } | undefined)?.toJSON() ?? [];
  const fenced = ((check.getIn(['db', 'fenced']) as { toJSON(): string[] } | undefined)?.toJSON() ?? []) as string[];
  if (!roles(move.primary).includes('db-primary') || !roles(move.former).includes('db-replica') || (move.fence && !fenced.includes(move.former))) {
    throw new InventoryError([`${file}: the rewritten inventory did not read back as intended, so it was left as it was`]);
  }
  return out;
}

/** The inventory text without `host` in db.fenced (the key goes when its list empties). Pure. */
export function unfence(text: string, file: string, host: string): string {
  const doc = parsed(text, file);
  const { db, pair } = fencedPair(doc);
  if (!db || !pair || !isSeq(pair.value)) return text;
  const seq = pair.value;
  const item = seq.items.find((i) => isScalar(i) && i.value === host) as Node | undefined;
  if (!item) return text;
  let edit: Edit;
  if (seq.items.length > 1) {
    const [at, end] = range(item);
    if (seq.flow) {
      // The item and one comma beside it.
      const after = text.slice(end).match(/^\s*,\s*/);
      edit = after ? { at, end: end + after[0].length, text: '' } : { at: text.lastIndexOf(',', at), end, text: '' };
    } else {
      const start = lineStart(text, at);
      edit = { at: start, end: lineEnd(text, end) + 1, text: '' };
    }
  } else {
    const keyAt = range(pair.key as Node)[0];
    const valueEnd = range(seq)[1];
    if (db.flow) {
      const before = text.lastIndexOf(',', keyAt);
      const opening = text.lastIndexOf('{', keyAt);
      edit = before > opening ? { at: before, end: valueEnd, text: '' } : { at: keyAt, end: valueEnd + (text.slice(valueEnd).match(/^\s*,\s*/)?.[0].length ?? 0), text: '' };
    } else if (db.items.length === 1) {
      // `db:` with nothing under it would read as null: the section goes with its last key.
      const dbKey = (doc.contents as YAMLMap).items.find((p) => isScalar(p.key) && p.key.value === 'db')!.key as Node;
      edit = { at: lineStart(text, range(dbKey)[0]), end: lineEnd(text, valueEnd) + 1, text: '' };
    } else {
      edit = { at: lineStart(text, keyAt), end: lineEnd(text, valueEnd) + 1, text: '' };
    }
  }
  const out = apply(text, [edit]);
  const left = ((parsed(out, file).getIn(['db', 'fenced']) as { toJSON(): string[] } | undefined)?.toJSON() ?? []) as string[];
  if (left.includes(host)) throw new InventoryError([`${file}: db.fenced still names ${host} after the rewrite, so it was left as it was`]);
  return out;
}

/** Rewrite the file through `edit`, atomically (a temporary file renamed over it), keeping its mode. */
export async function rewriteInventory(file: string, edit: (text: string) => string): Promise<void> {
  const before = await readFile(file, 'utf8');
  const after = edit(before);
  if (after === before) return;
  const tmp = `${file}.tandem-${process.pid}.tmp`;
  await writeFile(tmp, after, { mode: (await stat(file)).mode & 0o777 });
  await rename(tmp, file);
}
