// Database checks through mysql2 over SSH-forwarded streams: no database port is opened to us.
import mysql from 'mysql2/promise';
import type { Connection } from '../ssh/connection.ts';
import type { Secret } from '../secrets/secret.ts';
import { MYSQL_PORT } from '../stack/names.ts';
import { expireAfter } from '../ssh/deadline.ts';

export type Db = mysql.Connection;

/**
 * `tls`: TLS, the server's certificate checked against `ca` (mysql2 checks no name for an address:
 * it would compare "localhost"; the replica's own link checks it, MASTER_SSL_VERIFY_SERVER_CERT).
 */
export async function openDb(conn: Connection, address: string, user: string, password: Secret, database?: string, tls?: { ca: string }): Promise<Db> {
  const stream = await conn.forward(address, MYSQL_PORT);
  const ssl = tls && { ssl: { ca: tls.ca } };
  return mysql.createConnection({ stream, user, password: password.reveal(), database, connectTimeout: 5000, ...ssl } as mysql.ConnectionOptions);
}

/** Close politely, but never wait on a server that stopped answering: then drop the stream. */
export async function closeDb(db: Db): Promise<void> {
  await expireAfter(db.end(), 5000, () => new Error('no answer to quit')).catch(() => db.destroy());
}

export async function scalar(db: Db, sql: string, params: unknown[] = []): Promise<unknown> {
  const [rows] = await db.query({ sql, rowsAsArray: true }, params);
  return (rows as unknown[][])[0]?.[0];
}

export async function row(db: Db, sql: string): Promise<Record<string, unknown> | undefined> {
  const [rows] = await db.query(sql);
  return (rows as Record<string, unknown>[])[0];
}
