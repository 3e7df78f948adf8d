import { describe, expect, it } from 'vitest';
import { connectionSizing, sharedDatabasesMessage, type ConnectionFacts } from './server.js';

const stock: ConnectionFacts = {
  role: 'workspace_operator',
  maxConnections: 100,
  superuserReserved: 3,
  reserved: 0,
  version: 150010,
  operatorReserved: false,
  operatorMayReserve: false,
  tenants: 0,
};

describe('sharedDatabasesMessage', () => {
  it('names each open database and the statement that closes it, and the setting that starts anyway', () => {
    const message = sharedDatabasesMessage(
      [
        { name: 'postgres', public: true, mine: false },
        { name: 'other db', public: false, mine: false },
      ],
      'workspace_tenants',
    );
    expect(message).toContain('REVOKE CONNECT, TEMPORARY ON DATABASE "postgres" FROM PUBLIC;');
    expect(message).toContain('REVOKE CONNECT, TEMPORARY ON DATABASE "other db" FROM "workspace_tenants";');
    expect(message).toContain('DATABASE_ALLOW_SHARED_DATABASES=true');
  });
});

describe('connectionSizing', () => {
  it('leaves for tenants what the reserved slots and two operator pools do not take', () => {
    const sizing = connectionSizing({ ...stock, tenants: 10 }, 5, 10);
    expect(sizing.forTenants).toBe(100 - 3 - 20);
    expect(sizing.tenantsAtLimit).toBe(15);
    expect(sizing.exhaustible).toBe(false);
  });

  it('warns that tenants can lock the operator out once tenants times limit exceeds what is left', () => {
    const sizing = connectionSizing({ ...stock, tenants: 16 }, 5, 10);
    expect(sizing.exhaustible).toBe(true);
    expect(sizing.message).toMatch(/lock the operator out/);
    expect(sizing.message).toMatch(/reserved_connections/);
  });

  it('tells a PostgreSQL 16 server to reserve connections for the operator role', () => {
    const sizing = connectionSizing({ ...stock, version: 160004, tenants: 100 }, 5, 10);
    expect(sizing.message).toContain('GRANT pg_use_reserved_connections TO "workspace_operator"');
  });

  it('counts the operator safe when it may use reserved connections, however many tenants exist', () => {
    const sizing = connectionSizing(
      { ...stock, version: 160004, reserved: 12, operatorReserved: true, tenants: 1000 },
      5,
      10,
    );
    expect(sizing.exhaustible).toBe(false);
    expect(sizing.message).toMatch(/may use the 12 reserved connections/);
  });
});
