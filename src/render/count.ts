/**
 * 5000 → "5,000": counts in progress lines and views read at a glance. A whole count
 * is grouped here, as `toLocaleString('en-US')` groups it: that call's first
 * use loads ICU's number formatting (about 50 ms), which every command that
 * reads a cluster paid for its progress line.
 */
export function count(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) return n.toLocaleString('en-US');
  const digits = String(n);
  let out = '';
  for (let i = 0; i < digits.length; i++) {
    if (i > 0 && (digits.length - i) % 3 === 0) out += ',';
    out += digits[i];
  }
  return out;
}
