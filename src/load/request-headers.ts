/**
 * Request headers the load generator sends on every request, with
 * placeholders expanded per request: `{client}` is the 1-based virtual
 * client number (1 without virtual clients), `{seq}` a request number unique
 * in the run.
 */

/** One `--header NAME=VALUE`, VALUE still holding its placeholders. */
export type HeaderTemplate = { name: string; value: string };

/** The placeholders a header value may hold. */
export const HEADER_PLACEHOLDERS = ['{client}', '{seq}'] as const;

/**
 * Prepares `templates` for sending: returns a function giving the flat
 * `[name, value, name, value, …]` list undici takes (which keeps repeated
 * names), for client number `client` (1-based) and request number `seq`.
 */
export function compileHeaders(templates: readonly HeaderTemplate[]): (client: number, seq: number) => string[] {
  const parts = templates.map((t) => ({ name: t.name, pieces: t.value.split(/(\{client\}|\{seq\})/) }));
  const constant = parts.every((p) => p.pieces.length === 1);
  if (constant) {
    const flat = templates.flatMap((t) => [t.name, t.value]);
    return () => flat;
  }
  return (client, seq) => {
    const out: string[] = [];
    for (const { name, pieces } of parts) {
      let value = '';
      for (const piece of pieces) value += piece === '{client}' ? String(client) : piece === '{seq}' ? String(seq) : piece;
      out.push(name, value);
    }
    return out;
  };
}
