/**
 * The normal form of a request target's path, as routes match it and the
 * backend receives it: what nginx does before matching `location`
 * (percent-encoded unreserved characters decoded, dot segments resolved as
 * RFC 3986 §5.2.4 says, `merge_slashes on`). The query is kept as it came.
 * Percent-encodings of other characters stay encoded (upper-cased hex, so
 * `%2f` and `%2F` are one), except those a backend could read as a path
 * separator or a string end — `%2F`, `%5C`, `%00` — which are refused, as
 * is a `..` that would climb above `/` (nginx answers both with 400).
 * Returns `{ target }`, the same string when nothing changes, or
 * `{ refused }` with the reason for the 400.
 */
export function normalizeTarget(target: string): { target: string } | { refused: string } {
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  // The common case pays three scans and no allocation.
  if (!path.includes('%') && !path.includes('//') && !path.includes('/.')) return { target };
  let decoded = '';
  for (let i = 0; i < path.length; i++) {
    const c = path[i]!;
    if (c !== '%') {
      decoded += c;
      continue;
    }
    const hex = path.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return { refused: `a bad percent-encoding at "${path.slice(i, i + 3)}"` };
    const code = parseInt(hex, 16);
    const ch = String.fromCharCode(code);
    if (code === 0x2f || code === 0x5c || code === 0) return { refused: `an encoded ${code === 0 ? 'NUL' : code === 0x2f ? 'slash' : 'backslash'} (%${hex.toUpperCase()}) in the path` };
    decoded += /[A-Za-z0-9\-._~]/.test(ch) ? ch : `%${hex.toUpperCase()}`;
    i += 2;
  }
  const out: string[] = [];
  const segments = decoded.split('/');
  for (let i = 1; i < segments.length; i++) {
    const s = segments[i]!;
    const last = i === segments.length - 1;
    if (s === '.' || (s === '' && !last)) {
      if (last) out.push('');
      continue;
    }
    if (s === '..') {
      if (out.length === 0) return { refused: 'a ".." above the root of the path' };
      out.pop();
      if (last) out.push('');
      continue;
    }
    out.push(s);
  }
  const normal = `/${out.join('/')}`;
  return { target: q < 0 ? normal : normal + target.slice(q) };
}
