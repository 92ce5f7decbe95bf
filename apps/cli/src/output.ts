import { isStorageError, redactCredentials, type StorageErrorCode } from "@larder/core";
import type { IndexProgress } from "@larder/indexing";
import cliProgress from "cli-progress";
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

export interface Progress {
  start(total: number, label: string): void;
  update(value: number, total?: number): void;
  stop(): void;
}

/**
 * A progress bar on stderr with rate and ETA (cli-progress). Silent when stderr is not a TTY
 * unless `LARDER_PROGRESS=1` (then it prints plain lines), and always silent with --json/--quiet.
 */
export function createProgress(enabled: boolean, unit: string): Progress {
  const tty = Boolean(process.stderr.isTTY);
  const forced = process.env["LARDER_PROGRESS"] === "1";
  if (!enabled || (!tty && !forced)) return { start() {}, update() {}, stop() {} };
  let started = 0;
  let label = "";
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `{label} {bar} {percentage}% | {value}/{total} ${unit} | {rate} ${unit}/s | ETA {eta_formatted}`,
      hideCursor: tty,
      noTTYOutput: !tty,
      notTTYSchedule: 1000,
      etaBuffer: 50,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  const rate = (v: number) => {
    const s = (Date.now() - started) / 1000;
    return s > 0 ? Math.round(v / s).toString() : "-";
  };
  return {
    start(total, l) {
      started = Date.now();
      label = l;
      bar.start(total, 0, { label, rate: "-" });
    },
    update(value, total) {
      if (total !== undefined) bar.setTotal(total);
      bar.update(value, { label, rate: rate(value) });
    },
    stop() {
      bar.stop();
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
      bar.start(p.total, "indexing");
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
