// Pure: the Ansible inventory of bench/ansible/site.yml, from tandem's inventory. Groups are
// tandem's roles (dashes become underscores: Ansible group names cannot hold them); every value
// the playbook needs is a variable here, so the playbook holds no address, name or package.
import type { Inventory } from '../src/inventory/types.ts';
import { ROLES } from '../src/inventory/types.ts';
import { hasRole, primaryOf } from '../src/stack/roles.ts';
import { monitorPrivileges, dialectFor } from '../src/ops/mysql/dialect.ts';
import { serverId } from '../recipes/database.ts';

export interface AnsibleInputs {
  /** Each host's package list (bench/packages.ts). */
  packages: ReadonlyMap<string, readonly string[]>;
  release: { id: string; tarball: string };
  /** Whether replicas connect to their primary with TLS (MariaDB 11.4+ on the primary, as tandem decides). */
  replicationTls: boolean;
}

export const groupName = (role: string) => role.replace(/-/g, '_');

type Doc = Record<string, unknown>;

export function ansibleInventory(inv: Inventory, input: AnsibleInputs): Doc {
  if (inv.db.engine !== 'mariadb') throw new Error(`${inv.file}: db.engine: the Ansible playbook of bench/ansible covers MariaDB only`);
  const hostVars = (name: string, address: string, port: number, roles: string[], id: number) => {
    const packages = input.packages.get(name);
    if (!packages) throw new Error(`no package list for ${name}`);
    return { ansible_host: address, ansible_port: port, server_id: id, roles_csv: roles.join(','), packages: [...packages] };
  };
  const hosts = Object.fromEntries(inv.hosts.map((h) => [h.name, hostVars(h.name, h.address, h.port, h.roles, serverId(h))]));
  // The playbook covers the stack's core roles; monitoring is not part of the comparison.
  const children = Object.fromEntries(
    ROLES.filter((role) => role !== 'monitor').map((role) => [groupName(role), { hosts: Object.fromEntries(inv.hosts.filter((h) => hasRole(h, role)).map((h) => [h.name, null])) }]),
  );
  return {
    all: {
      vars: {
        ansible_user: inv.ssh.user,
        ansible_ssh_private_key_file: inv.ssh.key,
        ansible_ssh_common_args: `-o UserKnownHostsFile=${inv.ssh.knownHosts} -o StrictHostKeyChecking=yes -o ConnectTimeout=${Math.ceil(inv.ssh.connectTimeoutMs / 1000)}`,
        ansible_python_interpreter: '/usr/bin/python3',
        inventory_name: inv.name,
        domain: inv.domain,
        timezone: inv.timezone,
        apt_proxy: inv.apt.proxy ?? '',
        lb_algorithm: inv.lb.algorithm,
        app_port: inv.app.port,
        app_entry: inv.app.entry,
        db_name: inv.db.name,
        db_user: inv.db.user,
        db_primary_address: primaryOf(inv).address,
        monitor_privileges: monitorPrivileges(dialectFor(inv.db.engine)).join(','),
        mariadb_replication_tls: input.replicationTls,
        release_id: input.release.id,
        release_tarball: input.release.tarball,
      },
      hosts,
      children,
    },
  };
}
