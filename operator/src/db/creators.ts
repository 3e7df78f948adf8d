import { createHash } from 'node:crypto';
import pg from 'pg';

const { escapeIdentifier: ident, escapeLiteral: literal } = pg;

/**
 * Creator roles: on PostgreSQL 16 and newer, a role with CREATEROLE that creates a role receives an ADMIN grant of
 * it, and PostgreSQL walks the memberships a role holds for every ADMIN check it makes (ALTER ROLE, DROP ROLE, a
 * GRANT of the role) and, after any change to pg_auth_members, for the first SET ROLE too. An operator that created
 * every tenant role itself held one grant per tenant, and its tenant DDL slowed as tenants accumulated (4–16 ms a
 * statement at 2,000 tenants on 18, issue 12).
 *
 * So the operator creates tenant roles through a fixed set of NOLOGIN CREATEROLE roles, the one a tenant's name
 * hashes to: each holds the ADMIN grants of a 64th of the tenants. The operator reaches a creator through one
 * SECURITY DEFINER function the creator owns (it runs the statement it is given as the creator), not through
 * membership: a SET ROLE would make PostgreSQL walk every creator's grants, all tenants together, after each new
 * tenant. The operator holds only the ADMIN grant PostgreSQL gave it of each creator (neither inherited nor
 * usable for SET ROLE); only it may execute the functions; nobody logs in as a creator, and no tenant is a member
 * of one.
 *
 * Tenant roles the operator created itself (before this, or while it could not set creators up) stay with it: it
 * keeps their ADMIN grants, and their DDL runs as the operator as before. On 15 and older, and for a superuser
 * operator, no creator exists: there a CREATEROLE role holds no grant of what it creates.
 */
export const CREATOR_COUNT = 64;

/** Marks a creator's function as this version's: one with another body is replaced at bootstrap. */
const FUNCTION_VERSION = 'workspace-operator creator function v1';

/** The creators' names, derived from the tenant group's so that two installs on one server keep theirs apart. */
export function creatorNames(tenantGroup: string): string[] {
  // `_creator_63` is 11 bytes: a group name longer than 52 is shortened, with a hash of it kept to stay distinct.
  const base =
    tenantGroup.length <= 52
      ? tenantGroup
      : `${tenantGroup.slice(0, 43)}_${createHash('sha256').update(tenantGroup).digest('hex').slice(0, 8)}`;
  return Array.from({ length: CREATOR_COUNT }, (_, i) => `${base}_creator_${String(i).padStart(2, '0')}`);
}

/** The creator of a tenant role: the same on every replica and every start. */
export function creatorOf(creators: readonly string[], role: string): string | undefined {
  if (creators.length === 0) return undefined;
  const n = createHash('sha256').update(role).digest().readUInt32BE(0);
  return creators[n % creators.length];
}

const creatorFunction = (schema: string, creator: string) => `${ident(schema)}.${ident(creator)}`;

/**
 * PL/pgSQL that runs `body` (PL/pgSQL statements) as the tenant's creator when that creator holds the role's
 * ADMIN grant, or when the role does not exist yet and `creating` (the creator is the one to create it); as the
 * operator otherwise. Just `body` when there are no creators.
 */
export function asCreator(
  creators: readonly string[],
  schema: string,
  role: string,
  creating: boolean,
  body: string,
): string {
  const creator = creatorOf(creators, role);
  if (creator === undefined) return body;
  const holdsAdmin = `EXISTS (SELECT FROM pg_catalog.pg_auth_members m
                      JOIN pg_catalog.pg_roles t ON t.oid = m.roleid
                      JOIN pg_catalog.pg_roles c ON c.oid = m.member
                     WHERE t.rolname = ${literal(role)} AND c.rolname = ${literal(creator)} AND m.admin_option)`;
  const absent = `NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = ${literal(role)})`;
  const block = `DO $creator$ BEGIN ${body} END $creator$`;
  return `IF ${creating ? `${absent} OR ` : ''}${holdsAdmin} THEN
             PERFORM ${creatorFunction(schema, creator)}(${literal(block)});
           ELSE
             ${body}
           END IF;`;
}

/**
 * The creators that are ready: NOLOGIN CREATEROLE, each may add members to the tenant group and create schemas in
 * the database, and owns this version's function, which the operator may execute; the operator holds no grant of
 * a creator but the one PostgreSQL made (grantor the bootstrap superuser, OID 10).
 */
export const READY_CREATORS_SQL = `
  SELECT c.rolname AS name
    FROM pg_catalog.pg_roles c
   WHERE c.rolname = ANY($1) AND c.rolcreaterole AND NOT c.rolcanlogin AND NOT c.rolsuper
     AND EXISTS (SELECT FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
                  WHERE g.rolname = $2 AND m.member = c.oid AND m.admin_option)
     AND pg_catalog.has_database_privilege(c.oid, $3, 'CREATE')
     AND EXISTS (SELECT FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
                  WHERE n.nspname = $4 AND p.proname = c.rolname AND p.proowner = c.oid AND p.prosecdef
                    AND pg_catalog.obj_description(p.oid, 'pg_proc') = ${literal(FUNCTION_VERSION)}
                    AND pg_catalog.has_function_privilege(p.oid, 'EXECUTE'))
     AND NOT EXISTS (SELECT FROM pg_catalog.pg_auth_members m
                      WHERE m.roleid = c.oid AND m.grantor <> 10
                        AND m.member = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user))`;

/**
 * The statements that make one creator ready, whatever part of it exists. The operator may SET ROLE to the creator
 * only while they run, to create the function as its owner.
 */
export function setUpCreator(creator: string, tenantGroup: string, database: string, schema: string): string {
  const fn = creatorFunction(schema, creator);
  const c = ident(creator);
  return `DO $wsop$ BEGIN
            IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = ${literal(creator)}) THEN
              CREATE ROLE ${c} NOLOGIN CREATEROLE;
            ELSE
              ALTER ROLE ${c} NOLOGIN CREATEROLE;
            END IF;
          END $wsop$;
          GRANT ${ident(tenantGroup)} TO ${c} WITH ADMIN OPTION;
          GRANT CREATE ON DATABASE ${ident(database)} TO ${c};
          GRANT USAGE, CREATE ON SCHEMA ${ident(schema)} TO ${c};
          GRANT ${c} TO CURRENT_USER WITH INHERIT FALSE, SET TRUE;
          SET LOCAL ROLE ${c};
          CREATE OR REPLACE FUNCTION ${fn}(statement text) RETURNS void
            LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $fn$
          BEGIN
            EXECUTE statement;
          EXCEPTION WHEN OTHERS THEN
            -- Raised again without the statement, whose text (password verifiers) the error's context would carry.
            RAISE EXCEPTION USING ERRCODE = SQLSTATE, MESSAGE = SQLERRM;
          END $fn$;
          COMMENT ON FUNCTION ${fn}(text) IS ${literal(FUNCTION_VERSION)};
          REVOKE ALL ON FUNCTION ${fn}(text) FROM PUBLIC;
          GRANT EXECUTE ON FUNCTION ${fn}(text) TO SESSION_USER;
          RESET ROLE;
          REVOKE ${c} FROM CURRENT_USER`;
}
