// verify's check of the replication link's TLS (MariaDB with tandem's CA): the replica is set to
// use TLS and to check the primary's certificate against the CA, and a connection made like the
// replica's own (from the replica, as the replication account, the same CA) shows its cipher.
// MariaDB shows no cipher for the replication thread itself: this connection stands in for it.
import type { HostSpec } from '../inventory/types.ts';
import type { Connection } from '../ssh/connection.ts';
import type { Secret } from '../secrets/secret.ts';
import type { Dialect } from '../ops/mysql/dialect.ts';
import { DB_CA_FILE, REPLICATION_USER } from '../stack/names.ts';
import { closeDb, row, type openDb as OpenDb } from './database.ts';

export interface ReplicationTlsInput {
  replica: HostSpec;
  primary: HostSpec;
  replicaConn: Connection;
  /** The replica's SHOW SLAVE STATUS row. */
  status: Record<string, unknown> | undefined;
  dialect: Dialect;
  caPem: string;
  password: Secret;
  openDb: typeof OpenDb;
}

export async function replicationTlsCheck(input: ReplicationTlsInput): Promise<{ ok: boolean; figure: string; detail?: string }> {
  const s = input.dialect.status;
  const st = input.status ?? {};
  const problems = [
    st[s.tls] !== 'Yes' && `${s.tls} is ${String(st[s.tls] ?? 'unset')}`,
    st[s.tlsCa] !== DB_CA_FILE && `${s.tlsCa} is ${String(st[s.tlsCa] || 'unset')}, not ${DB_CA_FILE}`,
    st.Master_SSL_Verify_Server_Cert !== undefined && st.Master_SSL_Verify_Server_Cert !== 'Yes' && 'the primary\'s certificate is not verified',
  ].filter((p): p is string => typeof p === 'string');
  const db = await input.openDb(input.replicaConn, input.primary.address, REPLICATION_USER, input.password, undefined, { ca: input.caPem });
  try {
    const cipher = String((await row(db, "SHOW SESSION STATUS LIKE 'Ssl_cipher'"))?.Value ?? '');
    const version = String((await row(db, "SHOW SESSION STATUS LIKE 'Ssl_version'"))?.Value ?? '');
    if (!cipher) problems.push('the connection from the replica has no cipher');
    return {
      ok: problems.length === 0,
      figure: `${version || 'no TLS'} ${cipher || ''}`.trim() + (problems.length ? '' : `, ${input.primary.name}'s certificate checked against tandem's CA`),
      ...(problems.length && { detail: problems.join('; ') }),
    };
  } finally {
    await closeDb(db);
  }
}
