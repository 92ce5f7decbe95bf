/**
 * Python `str()`/`repr()` of JSON-like values. LlamaIndex hashes `text + str(metadata)`, so
 * reproducing Python's dict repr bit for bit is what makes our hashes equal to Python's.
 * A JS number is printed as the value Larder writes for it (an integral number as an int, `-0` as
 * the float `-0.0`). JS values cannot tell `1.0` from `1` nor keep big integers or the order of
 * integer-like keys: nodes read from JSON keep their metadata's exact form for that (exact-json.ts).
 */
export function pyRepr(value: unknown): string {
  if (value === null || value === undefined) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "number") return pyNumber(value);
  if (typeof value === "string") return pyStrRepr(value);
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(", ")}]`;
  if (typeof value === "object") {
    // Own enumerable string keys in order (what Object.entries gives), without the pair arrays.
    const obj = value as Record<string, unknown>;
    let out = "{";
    for (const k of Object.keys(obj)) {
      if (out.length > 1) out += ", ";
      out += `${pyStrRepr(k)}: ${pyRepr(obj[k])}`;
    }
    return `${out}}`;
  }
  return String(value);
}

/** Python `str(value)`: strings are themselves, everything else is its repr. */
export function pyStr(value: unknown): string {
  return typeof value === "string" ? value : pyRepr(value);
}

function pyNumber(n: number): string {
  if (Number.isNaN(n)) return "nan";
  if (n === Infinity) return "inf";
  if (n === -Infinity) return "-inf";
  if (Object.is(n, -0)) return "-0.0";
  if (Number.isInteger(n) && Math.abs(n) < 1e16) return String(n);
  // Python prints floats with repr: shortest round-trip, exponent form "1e-05" / "1e+16".
  let s = String(n);
  const m = /^(-?[\d.]+)e([+-])(\d+)$/.exec(s);
  if (m) s = `${m[1]}e${m[2]}${m[3]!.padStart(2, "0")}`;
  return s;
}

/**
 * Characters Python's `repr` escapes whatever the quote: the backslash and every character that is
 * not printable in Python's sense (`str.isprintable`: categories Cc, Cf, Cs, Co, Cn, Zl, Zp and Zs
 * except the ASCII space). Lone surrogates are Cs. Unicode versions of Python and V8 may disagree
 * on characters assigned after the older of the two (Cn), nothing else.
 */
const NEEDS_ESCAPE = /[\\\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;
const NON_PRINTABLE = /^[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]$/u;

/** Python `repr(str)`, bit for bit (quote choice, `\\n`/`\\r`/`\\t`, `\\xhh`/`\\uhhhh`/`\\Uhhhhhhhh`). */
export function pyStrRepr(s: string): string {
  const hasSingle = s.includes("'");
  const quote = hasSingle && !s.includes('"') ? '"' : "'";
  // Common case: nothing to escape but perhaps the quote.
  if (!NEEDS_ESCAPE.test(s) && !(hasSingle && quote === "'")) return quote + s + quote;
  let out = quote;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === "\\") out += "\\\\";
    else if (ch === quote) out += `\\${quote}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (ch !== " " && NON_PRINTABLE.test(ch)) {
      out += cp < 0x100 ? `\\x${hex(cp, 2)}` : cp < 0x10000 ? `\\u${hex(cp, 4)}` : `\\U${hex(cp, 8)}`;
    } else out += ch;
  }
  return out + quote;
}

function hex(cp: number, width: number): string {
  return cp.toString(16).padStart(width, "0");
}
