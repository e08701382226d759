/** A byte count in binary units, short: `812B`, `26.7KiB`, `3.4MiB`, `1.2GiB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes}B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v < 100 ? v.toFixed(1) : Math.round(v)}${units[u]}`;
}
