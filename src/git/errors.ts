// Errors of the git layer, each with a stable code; messages are safe to show to git clients.

export type GitErrorCode =
  | "protocol" // malformed request from the client
  | "not_our_ref" // a want the repository does not offer
  | "missing_object" // an object the repository should have is absent
  | "corrupt_pack" // a pack that fails to parse or verify
  | "too_large"; // a request or object over a limit

export class GitError extends Error {
  constructor(
    readonly code: GitErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "GitError";
  }
}

export const protocolError = (message: string) => new GitError("protocol", message);
export const corruptPack = (message: string) => new GitError("corrupt_pack", message);
