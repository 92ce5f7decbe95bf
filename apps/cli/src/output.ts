import { isStorageError, redactCredentials, type StorageErrorCode } from "@larder/core";
import type { IndexProgress } from "@larder/indexing";
import { bareMessage } from "./explain.js";

/** Exit codes (documented in the README). */
export const EXIT = {
  OK: 0,
  USAGE: 1,
  NOT_FOUND: 2,
  CORRUPT: 3,
  CONNECTION: 4,
  CONFLICT: 5,
  UNSUPPORTED: 6,
  DIMENSION_MISMATCH: 7,
  INTERNAL: 70,
} as const;

const BY_CODE: Record<StorageErrorCode, number> = {
  INVALID_ARGUMENT: EXIT.USAGE,
  NOT_FOUND: EXIT.NOT_FOUND,
  CORRUPT: EXIT.CORRUPT,
  CONNECTION: EXIT.CONNECTION,
  CONFLICT: EXIT.CONFLICT,
  UNSUPPORTED: EXIT.UNSUPPORTED,
  DIMENSION_MISMATCH: EXIT.DIMENSION_MISMATCH,
};

/** What to do next, per error code (appended to the one-line message). */
const HINTS: Record<StorageErrorCode, string> = {
  INVALID_ARGUMENT: "check the command line (larder <command> --help)",
  NOT_FOUND: "check the path or URL (larder inspect <url> shows what is there)",
  CORRUPT: "run `larder verify <dir>` to see which file is damaged; restore it or re-ingest",
  CONNECTION: "check that the server is running and reachable at the store URL, and the credentials in it",
  CONFLICT: "another writer changed the store since this command read it: run the command again",
  UNSUPPORTED: "see the message for what to install or use instead",
  DIMENSION_MISMATCH: "query with the embedder the index was built with (see `larder inspect`)",
};

/** A store file that a manifest or a LlamaIndex folder needs is gone: a different next step than a wrong path. */
function hintFor(code: StorageErrorCode, details: unknown): string {
  const hint = (details as { hint?: unknown } | undefined)?.hint;
  if (typeof hint === "string") return hint;
  const file = (details as { file?: unknown } | undefined)?.file;
  if (code === "NOT_FOUND" && typeof file === "string") {
    return "a file the store needs is missing; nothing was written or deleted: restore it (`larder verify <dir>` lists every missing or damaged file)";
  }
  return HINTS[code];
}

export function exitCodeOf(err: unknown): number {
  if (isStorageError(err)) return BY_CODE[err.code] ?? EXIT.INTERNAL;
  const code = (err as { code?: unknown })?.code;
  if (typeof code === "string" && code.startsWith("commander.")) return EXIT.USAGE;
  return EXIT.INTERNAL;
}

/** One clear line (plus the caret lines of a filter error); the stack only with --debug. */
export function formatError(err: unknown, debug: boolean): string {
  let text: string;
  if (isStorageError(err)) {
    const [first, ...rest] = err.message.split("\n");
    text = `larder: ${first}${rest.length ? `\n${rest.join("\n")}` : ""}\n  -> ${hintFor(err.code, err.details)}`;
  } else {
    const msg = err instanceof Error ? err.message : String(err);
    text = `larder: internal error: ${msg}\n  -> this is a bug; re-run with --debug and report it`;
  }
  if (debug && err instanceof Error && err.stack) {
    text += `\n${err.stack}`;
    let cause = (err as { cause?: unknown }).cause;
    while (cause instanceof Error) {
      text += `\ncaused by: ${cause.stack ?? cause.message}`;
      cause = (cause as { cause?: unknown }).cause;
    }
  }
  return redactCredentials(text);
}

/** With `--json`, an error is this document on stdout (and nothing on stderr). */
export interface JsonError {
  error: {
    /** A StorageError code, `USAGE` for a command-line error, `INTERNAL` for a bug. */
    code: StorageErrorCode | "USAGE" | "INTERNAL";
    message: string;
    /** What to do next. */
    hint: string;
    /** The process exit code. */
    exitCode: number;
    /** The store that reported it (e.g. `RedisKVStore`), when known. */
    store?: string;
    /** Structured details of the error when it has any (e.g. the damaged `file`). */
    details?: unknown;
  };
}

/** The `--json` form of an error (credentials redacted, like {@link formatError}). */
export function errorJson(err: unknown): JsonError {
  const exitCode = exitCodeOf(err);
  let e: JsonError["error"];
  if (isStorageError(err)) {
    const details = err.details;
    const { hint: _h, ...rest } = (details ?? {}) as Record<string, unknown>;
    e = {
      code: err.code,
      message: bareMessage(err),
      hint: hintFor(err.code, details),
      exitCode,
      ...(err.store ? { store: err.store } : {}),
      ...(Object.keys(rest).length ? { details: rest } : {}),
    };
  } else if (exitCode === EXIT.USAGE) {
    const msg = err instanceof Error ? err.message : String(err);
    e = { code: "USAGE", message: msg.replace(/^error: /, ""), hint: HINTS.INVALID_ARGUMENT, exitCode };
  } else {
    const msg = err instanceof Error ? err.message : String(err);
    e = { code: "INTERNAL", message: `internal error: ${msg}`, hint: "this is a bug; re-run with --debug and report it", exitCode };
  }
  return JSON.parse(redactCredentials(JSON.stringify({ error: e }))) as JsonError;
}

/** The terminal whose status line is still open (no newline yet), if any. */
let openLine: NodeJS.WriteStream | undefined;
/** Silences a progress display whose step is in progress: its timer stops, its step ends without a line. */
const inProgress = new Set<() => void>();

/**
 * Before an error is printed: stops the steps in progress (no progress line comes after the error)
 * and erases a status line that an interrupted step left open on a terminal.
 */
export function clearProgressLine(): void {
  for (const silence of inProgress) silence();
  inProgress.clear();
  openLine?.write("\r\x1b[2K");
  openLine = undefined;
}

export interface Progress {
  /** A counted step: `done` of `total` items. */
  start(total: number, label: string): void;
  update(value: number, total?: number): void;
  /**
   * A step without a count (opening a store, comparing hashes, persisting, building an index):
   * shown at once, so no stretch of work is silent; it ends with the next step or `stop()`.
   */
  phase(label: string): void;
  stop(): void;
}

/**
 * Progress on stderr. On a terminal: one status line rewritten in place (at most 10 times a
 * second) with count, percentage, rate and ETA. Not on a terminal: nothing, unless
 * `LARDER_PROGRESS=1`, then plain lines: one when a step starts, one at least every second while
 * it lasts (`LARDER_PROGRESS_INTERVAL_MS` changes that), one when it ends. `LARDER_PROGRESS=0`
 * turns it off on a terminal too; --json and --quiet always do. Counts are rendered in the update
 * calls themselves: CPU-bound work (the offline embedder) blocks timers, which is why a
 * timer-driven bar showed only 0% and 100%. A timer adds the lines for the time a step waits
 * (on the server building an index, on an embedding API): the elapsed time for a step without a
 * count, the same count and a new ETA for a counted one.
 */
export function createProgress(enabled: boolean, unit: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  const tty = Boolean(stream.isTTY);
  const env = process.env["LARDER_PROGRESS"];
  const off: Progress = { start() {}, update() {}, phase() {}, stop() {} };
  if (!enabled || env === "0" || (!tty && env !== "1")) return off;
  const intervalRaw = process.env["LARDER_PROGRESS_INTERVAL_MS"];
  const intervalEnv = intervalRaw ? Number(intervalRaw) : Number.NaN; // unset or empty: the default
  const interval = tty ? 100 : Number.isFinite(intervalEnv) && intervalEnv >= 0 ? intervalEnv : 1000;
  let label = "";
  let total = 0;
  let value = 0;
  let counted = false;
  let active = false;
  let started = 0;
  let lastDraw = 0;
  let ticker: NodeJS.Timeout | undefined;
  // The timer's period: the line interval, but not below 100 ms (LARDER_PROGRESS_INTERVAL_MS=0
  // asks for every update to show, not for a line per event-loop turn).
  const tick = Math.max(interval, 100);

  const write = (line: string) => {
    if (tty) {
      stream.write(`\r\x1b[2K${line}`);
      openLine = stream;
    } else stream.write(`${line}\n`);
  };
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
  const line = (final: boolean) => {
    const elapsed = Date.now() - started;
    if (!counted) return final ? `${label}: done in ${seconds(elapsed)}` : elapsed >= 1000 ? `${label}… ${seconds(elapsed)}` : `${label}…`;
    const pct = total > 0 ? Math.floor((value / total) * 100) : 100;
    const rate = elapsed > 0 ? value / (elapsed / 1000) : 0;
    const eta = !final && rate > 0 && total > value ? ` | ETA ${seconds(((total - value) / rate) * 1000)}` : "";
    const tail = final ? ` in ${seconds(elapsed)}` : eta;
    return `${label} ${value}/${total} ${unit} (${pct}%) | ${Math.round(rate)} ${unit}/s${tail}`;
  };
  const draw = (force: boolean) => {
    const now = Date.now();
    if (!force && now - lastDraw < interval) return;
    lastDraw = now;
    write(line(false));
  };
  const silence = () => {
    active = false;
    clearInterval(ticker);
    ticker = undefined;
    inProgress.delete(silence);
  };
  const end = () => {
    if (!active) return;
    silence();
    write(line(true));
    if (tty) {
      stream.write("\n");
      openLine = undefined;
    }
  };
  const begin = (l: string, isCounted: boolean, t: number) => {
    end();
    label = l.trim();
    counted = isCounted;
    total = t;
    value = 0;
    started = Date.now();
    active = true;
    draw(true);
    ticker = setInterval(() => draw(false), tick);
    ticker.unref();
    inProgress.add(silence);
  };
  return {
    start: (t, l) => begin(l, true, t),
    phase: (l) => begin(l, false, 0),
    update(v, t) {
      if (!active || !counted) return;
      if (t !== undefined) total = t;
      value = v;
      draw(false);
    },
    stop() {
      end();
    },
  };
}

/**
 * Drives `bar` from an index's progress (embedding and storing; splitting is too quick to show) and
 * returns a reader of the chunk count the index last reported.
 */
export function showIndexProgress(index: { onProgress: ((p: IndexProgress) => void) | undefined }, bar: Progress): () => number {
  let started = false;
  let chunks = 0;
  index.onProgress = (p) => {
    if (p.phase === "split") return;
    if (!started) {
      bar.start(p.total, "embedding and storing");
      started = true;
    }
    chunks = p.total;
    bar.update(Math.min(p.done, p.total), p.total);
  };
  return () => chunks;
}

/** Collapses whitespace and cuts to `n` characters. */
export function snippet(text: string, n = 160): string {
  const s = text.replace(/\s+/g, " ").trim();
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}
