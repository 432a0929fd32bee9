// Which ref names a push may create: git check-ref-format's rules, for full names under refs/.

/** Returns why `name` is not a valid ref name, or null when it is. */
export function refNameProblem(name: string): string | null {
  if (!name.startsWith("refs/")) return "ref names must start with refs/";
  if (name.length > 1024) return "ref name too long";
  if (name.endsWith("/") || name.endsWith(".") || name.endsWith(".lock")) return "ref name has a bad ending";
  if (name.includes("..") || name.includes("@{") || name.includes("//")) return "ref name has a forbidden sequence";
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(name)) return "ref name has a forbidden character";
  for (const part of name.split("/")) {
    if (part.startsWith(".")) return "ref name component starts with a dot";
    if (part.endsWith(".lock")) return "ref name component ends with .lock";
  }
  if (name === "refs/heads/HEAD") return "refs/heads/HEAD is reserved";
  return null;
}

/**
 * Refs the forge keeps for itself (the commits of uploaded patch series): never advertised to
 * fetches or pushes, written only by the forge's own pushes (the push worker refuses others).
 */
export const HIDDEN_REF_PREFIX = "refs/reviews/";
export const isHiddenRef = (name: string) => name.startsWith(HIDDEN_REF_PREFIX);
