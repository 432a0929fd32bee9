// The one place that knows the format of every KV key, R2 key and Durable Object name (docs/storage.md).

export const kvKeys = {
  /** host:<hostname> -> tenant id */
  host: (hostname: string) => `host:${hostname}`,
  /** tenant:<id> -> TenantRecord (JSON) */
  tenant: (tenantId: string) => `tenant:${tenantId}`,
};

export const r2Keys = {
  /** Everything a tenant owns in R2 starts with this prefix (deleting a tenant deletes the prefix). */
  tenantPrefix: (tenantId: string) => `t/${tenantId}/`,
  /** Everything a repository owns. */
  repoPrefix: (tenantId: string, repoId: string) => `t/${tenantId}/r/${repoId}/`,
  /** A pack and its index: pack-<sha1 of the pack>.pack / .idx, immutable once written. */
  pack: (tenantId: string, repoId: string, packName: string) => `t/${tenantId}/r/${repoId}/objects/pack/${packName}.pack`,
  packIndex: (tenantId: string, repoId: string, packName: string) => `t/${tenantId}/r/${repoId}/objects/pack/${packName}.idx`,
  /**
   * A large pack's id table file (git/pack-id-table-file.ts): pack-<sha1>.ids beside its .idx,
   * written with it, deleted with it; packs without one have their tables read from the .idx.
   */
  packIdTable: (tenantId: string, repoId: string, packName: string) => `t/${tenantId}/r/${repoId}/objects/pack/${packName}.ids`,
  /** The id table file beside the .idx stored under `idxKey`. */
  packIdTableBeside: (idxKey: string) => idxKey.replace(/\.idx$/, ".ids"),
  /** Derived data of the source browser: the last commit of every path of a commit's tree (JSON). */
  lastCommits: (tenantId: string, repoId: string, commit: string) =>
    `t/${tenantId}/r/${repoId}/derived/last-commit/v2/${commit}.json`,
  /** The commits of the default branch whose last-commit file is written as a checkpoint (JSON list). */
  lastCommitCheckpoints: (tenantId: string, repoId: string) =>
    `t/${tenantId}/r/${repoId}/derived/last-commit/checkpoints-v1.json`,
  /** The newest checkpoint's tree listing, kept for the build's next run (JSON `{commit, paths}`). */
  lastCommitCheckpointListing: (tenantId: string, repoId: string) =>
    `t/${tenantId}/r/${repoId}/derived/last-commit/checkpoint-listing-v1.json`,
  /** Which run drives the checkpoint build now (JSON `{tip, id}`; services/checkpoint-drive.ts). */
  lastCommitCheckpointDrive: (tenantId: string, repoId: string) =>
    `t/${tenantId}/r/${repoId}/derived/last-commit/checkpoints-drive-v1.json`,
  /** Every last-commit file of a repository (a purge deletes those of purged commits). */
  lastCommitsPrefix: (tenantId: string, repoId: string) => `t/${tenantId}/r/${repoId}/derived/last-commit/`,
  /** Derived data of history walks: the commit-graph chain (JSON list of its layers, the one R2 key rewritten in place). */
  commitGraphChain: (tenantId: string, repoId: string) => `t/${tenantId}/r/${repoId}/derived/commit-graph/v1/chain.json`,
  /** One commit-graph layer, named by the SHA-1 of its bytes (immutable). */
  commitGraphLayer: (tenantId: string, repoId: string, sha1: string) =>
    `t/${tenantId}/r/${repoId}/derived/commit-graph/v1/layer-${sha1}.graph`,
  /** Every commit-graph file of a repository (a purge deletes them: they list purged commits). */
  commitGraphPrefix: (tenantId: string, repoId: string) => `t/${tenantId}/r/${repoId}/derived/commit-graph/`,
  /**
   * One sorted run a push or an import writes out while it checks a large pack (git/spill.ts),
   * deleted when the check ends either way; compaction sweeps any a dead isolate left (a day old).
   */
  spillPart: (tenantId: string, repoId: string, spillId: string, part: number) =>
    `t/${tenantId}/r/${repoId}/spill/${spillId}/${part}`,
  /** Every spill part of a repository. */
  spillPrefix: (tenantId: string, repoId: string) => `t/${tenantId}/r/${repoId}/spill/`,
  /** A pack being received or imported, before it is indexed and named. */
  incoming: (tenantId: string, repoId: string, uploadId: string) => `t/${tenantId}/r/${repoId}/incoming/${uploadId}.pack`,
  /** An uploaded avatar, named by the SHA-256 of its bytes (a new picture gets a new key). */
  avatar: (tenantId: string, userId: number, sha256: string, ext: string) => `t/${tenantId}/avatars/${userId}/${sha256}.${ext}`,
  /** Everything of one user's avatars. */
  avatarPrefix: (tenantId: string, userId: number) => `t/${tenantId}/avatars/${userId}/`,
  /** A file attached to an issue, named by a random id; its name, type and size are in D1 (issue_attachments). */
  issueAttachment: (tenantId: string, projectId: number, attachmentId: string) =>
    `t/${tenantId}/issues/${projectId}/${attachmentId}`,
  /** Every issue attachment of a project. */
  issueAttachmentPrefix: (tenantId: string, projectId: number) => `t/${tenantId}/issues/${projectId}/`,
  /** One uploaded revision of a file embedded in a wiki page, by a random id; its name, page and type are in D1 (wiki_resources). */
  wikiResource: (tenantId: string, projectId: number, resourceId: string) => `t/${tenantId}/wiki/${projectId}/${resourceId}`,
  /** Every wiki resource of a project. */
  wikiResourcePrefix: (tenantId: string, projectId: number) => `t/${tenantId}/wiki/${projectId}/`,
  /** A file of a project's downloads area, named by a random id; its name, size and SHA-256 are in D1 (downloads). */
  download: (tenantId: string, projectId: number, downloadId: string) => `t/${tenantId}/downloads/${projectId}/${downloadId}`,
  /** Every download file of a project. */
  downloadPrefix: (tenantId: string, projectId: number) => `t/${tenantId}/downloads/${projectId}/`,
};

/**
 * Request logs (platform-wide, not a tenant's): one object per batch, component and minute, so a
 * range query of one component lists one prefix per hour (`logs/<component>/<day>/<hh>-`).
 */
export const logKeys = {
  root: "logs/",
  component: (component: string) => `logs/${component}/`,
  day: (component: string, day: string) => `logs/${component}/${day}/`,
  /** `<yyyy-mm-dd>/<hh>-`: every minute of one hour. */
  hour: (component: string, at: Date) => `logs/${component}/${at.toISOString().slice(0, 10)}/${at.toISOString().slice(11, 13)}-`,
  /** logs/<component>/<yyyy-mm-dd>/<hh-mm>/<batch id>.jsonl */
  batch: (component: string, minute: Date, batchId: string) => {
    const iso = minute.toISOString();
    return `logs/${component}/${iso.slice(0, 10)}/${iso.slice(11, 13)}-${iso.slice(14, 16)}/${batchId}.jsonl`;
  },
};

/**
 * Tenant backups being imported (platform-wide, not a tenant's): the uploaded archive is staged
 * here, read back twice (verify, then restore) and deleted when the import ends either way.
 */
export const backupKeys = {
  staging: (importId: string) => `backups/incoming/${importId}.tar`,
};

/** Durable Object names: one Repo object per repository, carrying the tenant id. */
export const doNames = {
  repo: (tenantId: string, repoId: string) => `${tenantId}/${repoId}`,
  /** The health check's object: never holds a repository (its name has no tenant id). */
  healthPing: "_health/ping",
};
