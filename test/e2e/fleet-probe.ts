// A harmless expand-only tenant migration that tests and the fleet benchmark append to the bundle
// (EXTRA_TENANT_MIGRATIONS, or FORGE_EXTRA_TENANT_MIGRATIONS for the local forge): it adds a table
// and one row per application, so a migration applied twice would show as two rows.
export const PROBE_TAG = "9000_fleet_probe";
export const PROBE_TABLE = "_fleet_probe";

export const probeMigration = {
  tag: PROBE_TAG,
  statements: [
    `CREATE TABLE IF NOT EXISTS ${PROBE_TABLE} (applied_at TEXT NOT NULL)`,
    `INSERT INTO ${PROBE_TABLE} (applied_at) VALUES (strftime('%Y-%m-%dT%H:%M:%fZ','now'))`,
  ],
};

/** The value of EXTRA_TENANT_MIGRATIONS that appends the probe. */
export const PROBE_MIGRATIONS = JSON.stringify([probeMigration]);
