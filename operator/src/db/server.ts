import pg from 'pg';

const { escapeIdentifier: ident } = pg;

/**
 * What the operator checks about the server it runs on, at every start: which other databases its tenants could
 * connect to, and whether the connection limits leave room for the operator itself. The queries are here with
 * the pure functions that turn their rows into decisions and messages, so the messages are tested without a
 * server.
 */

/** Another database of the server that a tenant may connect to, and who could close that door. */
export interface OpenDatabase {
  name: string;
  /** PUBLIC holds CONNECT (else the tenant group was granted it). */
  public: boolean;
  /** The operator has its owner's privileges, so it may revoke. */
  mine: boolean;
}

/**
 * `$1`: the tenant group. Databases that refuse connections (template0) are no door, nor is a database of the
 * operator's own that it granted to the group (a restore, a second instance sharing the group): PUBLIC's CONNECT
 * is what it revokes there.
 */
export const OPEN_DATABASES_SQL = `
  SELECT d.datname AS name,
         pg_catalog.has_database_privilege('public', d.oid, 'CONNECT') AS public,
         pg_catalog.pg_has_role(d.datdba, 'USAGE') AS mine
    FROM pg_catalog.pg_database d
   WHERE d.datallowconn AND d.datname <> pg_catalog.current_database()
     AND pg_catalog.has_database_privilege($1, d.oid, 'CONNECT')
     AND (NOT pg_catalog.pg_has_role(d.datdba, 'USAGE')
          OR pg_catalog.has_database_privilege('public', d.oid, 'CONNECT'))
   ORDER BY d.datname`;

/** The statement that closes the door: run by the operator where it owns the database, else by an admin. */
export function revokeConnect(db: OpenDatabase, tenantGroup: string): string {
  return `REVOKE CONNECT, TEMPORARY ON DATABASE ${ident(db.name)} FROM ${db.public ? 'PUBLIC' : ident(tenantGroup)}`;
}

/** Why the operator will not start while tenants can reach other databases, and how to fix it. */
export function sharedDatabasesMessage(open: OpenDatabase[], tenantGroup: string): string {
  const names = open.map((d) => d.name).join(', ');
  const fixes = open.map((d) => `${revokeConnect(d, tenantGroup)};`).join(' ');
  return (
    `workspace roles could connect to other databases of this server (${names}), which the operator does not ` +
    `own and cannot close: as a superuser or their owner run ${fixes} ` +
    `or set DATABASE_ALLOW_SHARED_DATABASES=true to start anyway`
  );
}

export interface ConnectionFacts {
  /** The operator's role. */
  role: string;
  maxConnections: number;
  superuserReserved: number;
  /** PostgreSQL 16's reserved_connections; 0 before 16. */
  reserved: number;
  version: number;
  /** The operator holds pg_use_reserved_connections (PostgreSQL 16 and later). */
  operatorReserved: boolean;
  /** May grant pg_use_reserved_connections to itself (it holds it WITH ADMIN OPTION, or is superuser). */
  operatorMayReserve: boolean;
  /** Members of the tenant group but the creators of tenant roles (creators.ts), which never log in. */
  tenants: number;
}

export const CONNECTION_FACTS_SQL = `
  SELECT current_user AS role,
         pg_catalog.current_setting('max_connections')::int AS "maxConnections",
         pg_catalog.current_setting('superuser_reserved_connections')::int AS "superuserReserved",
         coalesce(pg_catalog.current_setting('reserved_connections', true)::int, 0) AS reserved,
         pg_catalog.current_setting('server_version_num')::int AS version,
         EXISTS (SELECT FROM pg_catalog.pg_roles r WHERE r.rolname = 'pg_use_reserved_connections'
                   AND pg_catalog.pg_has_role(r.oid, 'USAGE')) AS "operatorReserved",
         EXISTS (SELECT FROM pg_catalog.pg_roles r WHERE r.rolname = 'pg_use_reserved_connections'
                   AND pg_catalog.pg_has_role(r.oid, 'MEMBER WITH ADMIN OPTION')) AS "operatorMayReserve",
         (SELECT count(*)::int FROM pg_catalog.pg_auth_members m
            JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
            JOIN pg_catalog.pg_roles t ON t.oid = m.member
           WHERE g.rolname = $1 AND NOT t.rolcreaterole) AS tenants`;

export interface ConnectionSizing {
  /** Connections left for tenants once the reserved slots and the operator's pools are taken. */
  forTenants: number;
  /** Tenants that can all use their whole limit at once. */
  tenantsAtLimit: number;
  /** Whether the tenants that exist can, together, take every connection the operator could use. */
  exhaustible: boolean;
  message: string;
}

/**
 * The sizing rule: tenants × limit ≤ max_connections − reserved slots − the operator's pools (two replicas, as
 * during a rolling update). Per-role limits bound one tenant, never their sum; only reserved_connections
 * (PostgreSQL 16) keeps slots for the operator whatever tenants do.
 */
export function connectionSizing(facts: ConnectionFacts, limit: number, poolSize: number): ConnectionSizing {
  const operatorPools = 2 * poolSize;
  const forTenants = Math.max(
    0,
    facts.maxConnections - facts.superuserReserved - facts.reserved - operatorPools,
  );
  const tenantsAtLimit = Math.floor(forTenants / limit);
  const kept = facts.operatorReserved && facts.reserved > 0;
  const exhaustible = !kept && facts.tenants * limit > forTenants;
  const figures =
    `max_connections ${facts.maxConnections}, superuser_reserved_connections ${facts.superuserReserved}, ` +
    `reserved_connections ${facts.reserved}, operator pools ${operatorPools}: ${forTenants} connections for ` +
    `tenants, ${tenantsAtLimit} tenants at their limit of ${limit}; ${facts.tenants} tenants exist`;
  if (kept) {
    return {
      forTenants,
      tenantsAtLimit,
      exhaustible,
      message: `${figures}; the operator may use the ${facts.reserved} reserved connections`,
    };
  }
  const remedy =
    facts.version >= 160000
      ? `set reserved_connections to at least ${poolSize} and GRANT pg_use_reserved_connections TO ${ident(facts.role)}`
      : `PostgreSQL 16's reserved_connections would keep slots for the operator; on this server only a lower ` +
        `DATABASE_TENANT_CONNECTION_LIMIT or a higher max_connections`;
  return {
    forTenants,
    tenantsAtLimit,
    exhaustible,
    message: exhaustible
      ? `tenants together can take every connection and lock the operator out (${figures}): ${remedy}`
      : `${figures}; nothing keeps connections for the operator beyond that: ${remedy}`,
  };
}
