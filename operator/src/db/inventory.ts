import type { Database } from './database.js';
import type { TenantNames } from './names.js';

/**
 * Which tenant schemas and roles exist, loaded with one query at start and refreshed on the drift-check interval.
 * With it, a reconcile of a provisioned workspace needs no SQL at all: a restart re-reads 10,000 workspaces with
 * one SELECT and no DDL, and an idle operator sends nothing to the database between drift checks.
 */
export class TenantInventory {
  private schemas = new Set<string>();
  private roles = new Set<string>();
  private loaded = false;

  constructor(
    private readonly db: Database,
    private readonly prefix: string,
  ) {}

  get isLoaded(): boolean {
    return this.loaded;
  }

  async refresh(): Promise<void> {
    const { schemas, roles } = await this.db.listTenants(this.prefix);
    this.schemas = schemas;
    this.roles = roles;
    this.loaded = true;
  }

  has(names: TenantNames): boolean {
    return this.schemas.has(names.schema) && this.roles.has(names.role);
  }

  record(names: TenantNames): void {
    this.schemas.add(names.schema);
    this.roles.add(names.role);
  }

  forget(names: TenantNames): void {
    this.schemas.delete(names.schema);
    this.roles.delete(names.role);
  }
}
