// A Neo4j restart under load: the store reports CONNECTION quickly while the server is gone, and the
// same store instance works again once it is back, with every acknowledged write still there.
//
// The shared Neo4j of tooling/services cannot be restarted (other packages' tests use it at the
// same time), so this test runs a PRIVATE server: the launcher jar that `services.sh up neo4j`
// builds and caches, started by hand on a free loopback port with its own data directory and
// password in a temp directory (the launcher binds Bolt only: no HTTP connector). It is killed
// with SIGKILL (no checkpoint, no clean shutdown) and restarted on the same port and data.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import neo4j from "neo4j-driver";
import { afterAll, describe, expect, it } from "vitest";
import { entityNode, isStorageError, nodeId, relation, type StorageError } from "@larder/core";
import { servicesRequired } from "../../../tooling/services/env.mjs";
import { Neo4jPropertyGraphStore } from "./index.js";

const SERVICES_DIR = fileURLToPath(new URL("../../../tooling/services/", import.meta.url));
const MAIN_CLASS = "dev.larder.services.neo4j.Main";
const USER = "neo4j";
const PASSWORD = `larder-restart-${randomBytes(12).toString("hex")}`;
/** Neo4j boots in 10-60 s on this loaded 2-core machine; each start gets this long. */
const START_DEADLINE_MS = 150_000;
/** How long a failing call may take while the server is down (default options: connectTimeoutMs 2 s). */
const FAIL_FAST_MS = 3_000;

interface Launcher {
  java: string;
  artifacts: string;
  /** The class-data archive services.sh promoted for this Java runtime, when there is one. */
  cds: string | undefined;
}

/**
 * Java and the cached launcher, found by tooling/services' own functions (lib/neo4j.sh), so the
 * cache key and Java selection cannot drift from what `services.sh up` uses. Never builds anything.
 */
function findLauncher(): { launcher: Launcher } | { reason: string } {
  const script = `
    set -e
    . "$SERVICES_DIR/lib/common.sh"
    . "$SERVICES_DIR/lib/neo4j.sh"
    java="$(find_java)" || { echo "no Java 17 or 21" >&2; exit 3; }
    art="$(neo4j_artifacts)"
    [ -f "$art/.ok" ] || { echo "no launcher build in $art (run: bash tooling/services/bin/services.sh up neo4j)" >&2; exit 4; }
    jsa="$art/cds-$("$java" -XshowSettings:properties -version 2>&1 |
      sed -n 's/^ *java.runtime.version = //p' | tr -c 'A-Za-z0-9.\\n_-' '_').jsa"
    [ -s "$jsa" ] || jsa=""
    printf '%s\\n%s\\n%s\\n' "$java" "$art" "$jsa"`;
  try {
    const out = execFileSync("bash", ["-c", script], {
      env: { ...process.env, SERVICES_DIR },
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 30_000,
    });
    const [java = "", artifacts = "", cds = ""] = out.split("\n");
    return { launcher: { java, artifacts, cds: cds === "" ? undefined : cds } };
  } catch (e) {
    const stderr = String((e as { stderr?: unknown }).stderr ?? "").trim();
    return { reason: `Neo4j launcher artifacts unavailable: ${stderr || (e as Error).message}` };
  }
}

async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One private Neo4j: a JVM in its own process group, restartable on the same port and data dir. */
class PrivateNeo4j {
  private proc: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  readonly home: string;
  readonly logFile: string;

  constructor(
    private readonly launcher: Launcher,
    readonly dir: string,
    readonly port: number,
  ) {
    this.home = join(dir, "neo4j");
    this.logFile = join(dir, "neo4j.log");
  }

  get url(): string {
    return `bolt://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  start(): void {
    const { java, artifacts, cds } = this.launcher;
    const log = openSync(this.logFile, "a");
    try {
      // The JVM options of lib/neo4j.sh's neo4j_launch, with a smaller heap and page cache and C1
      // only (quicker boot); the CDS archive is only read, never written (it belongs to services.sh).
      this.proc = spawn(
        java,
        [
          "-Xms128m",
          "-Xmx512m",
          "-XX:+UseG1GC",
          "-XX:TieredStopAtLevel=1",
          "-XX:+ExitOnOutOfMemoryError",
          "-Dfile.encoding=UTF-8",
          "-Dlog4j2.disable.jmx=true",
          ...(cds ? [`-XX:SharedArchiveFile=${cds}`] : []),
          "--add-opens=java.base/java.nio=ALL-UNNAMED",
          "--add-opens=java.base/java.io=ALL-UNNAMED",
          "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
          "--add-opens=java.base/java.lang=ALL-UNNAMED",
          "-cp",
          `${artifacts}/server/*`,
          MAIN_CLASS,
          this.home,
          "127.0.0.1",
          String(this.port),
        ],
        {
          // Own process group (setsid): SIGKILL to -pid takes the whole server down at once.
          detached: true,
          stdio: ["ignore", log, log],
          // The password goes through the environment, never the command line.
          env: { ...process.env, LARDER_NEO4J_USER: USER, LARDER_NEO4J_PASSWORD: PASSWORD, LARDER_NEO4J_PAGECACHE_MB: "32" },
        },
      );
    } finally {
      closeSync(log);
    }
    const proc = this.proc;
    this.exited = new Promise((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) resolve();
      else proc.once("exit", () => resolve());
    });
    proc.unref();
  }

  /**
   * Polls until the launcher has written `larder-ready` with this JVM's pid (password set) and a
   * driver's verifyConnectivity() passes with the test credentials; fails on exit or deadline.
   */
  async waitReady(deadlineMs = START_DEADLINE_MS): Promise<number> {
    const t0 = Date.now();
    const pid = this.proc?.pid;
    const readyFile = join(this.home, "larder-ready");
    const driver = neo4j.driver(this.url, neo4j.auth.basic(USER, PASSWORD), {
      connectionTimeout: 2_000,
      connectionAcquisitionTimeout: 3_000,
    });
    let last = "not started";
    try {
      while (Date.now() - t0 < deadlineMs) {
        if (!this.running) throw new Error(`private Neo4j exited during startup\n${this.logTail()}`);
        const readyPid = existsSync(readyFile) ? readFileSync(readyFile, "utf8").trim() : "";
        if (readyPid === String(pid)) {
          try {
            await driver.verifyConnectivity();
            return Date.now() - t0;
          } catch (e) {
            last = (e as Error).message;
          }
        } else {
          last = "larder-ready not written yet";
        }
        await delay(200);
      }
      throw new Error(`private Neo4j not ready within ${deadlineMs} ms (${last})\n${this.logTail()}`);
    } finally {
      await driver.close();
    }
  }

  /** SIGKILL to the process group; resolves once the JVM is gone. */
  async kill(): Promise<void> {
    this.killNow();
    await this.exited;
  }

  killNow(): void {
    const pid = this.proc?.pid;
    if (pid === undefined || !this.running) return;
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // already gone
    }
  }

  logTail(): string {
    try {
      return readFileSync(this.logFile, "utf8").split("\n").slice(-25).join("\n");
    } catch {
      return "(no log)";
    }
  }
}

/** Runs `fn`, expecting a StorageError CONNECTION; returns it with the time it took. */
async function connectionError(fn: () => Promise<unknown>): Promise<{ error: StorageError; ms: number }> {
  const t0 = Date.now();
  let caught: unknown;
  try {
    await fn();
  } catch (e) {
    caught = e;
  }
  const ms = Date.now() - t0;
  expect(caught, "the call should have failed while the server is down").toBeDefined();
  expect(isStorageError(caught), `not a StorageError: ${String(caught)}`).toBe(true);
  const error = caught as StorageError;
  expect(error.code, error.message).toBe("CONNECTION");
  expect(error.message).not.toContain(PASSWORD);
  return { error, ms };
}

const found = findLauncher();
const skipReason = "reason" in found && !servicesRequired() ? found.reason : undefined;

let server: PrivateNeo4j | undefined;
let tempDir: string | undefined;
const stores: Neo4jPropertyGraphStore[] = [];

// Last resort if the worker exits without afterAll (the JVM is in its own group and would survive).
const killOnExit = () => server?.killNow();
process.once("exit", killOnExit);

afterAll(async () => {
  process.off("exit", killOnExit);
  try {
    await server?.kill();
    for (const s of stores) await s.close();
  } finally {
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  }
});

describe.skipIf(skipReason !== undefined)(
  `Neo4j restart (private server)${skipReason ? ` (skipped: ${skipReason})` : ""}`,
  () => {
    it("fails fast with CONNECTION while killed, recovers on the same store after a restart, keeps acknowledged writes", async () => {
      // With CI set, missing artifacts fail here (never a skip).
      if ("reason" in found) throw new Error(`${found.reason} (CI is set: this fails the run)`);
      tempDir = mkdtempSync(join(tmpdir(), "larder-neo4j-restart-"));
      server = new PrivateNeo4j(found.launcher, tempDir, await freeLoopbackPort());
      const srv = server;

      srv.start();
      const firstStartMs = await srv.waitReady();

      // The default fail-fast settings (connectTimeoutMs 2 s, the store's own retry policy).
      const storeOptions = { url: srv.url, username: USER, password: PASSWORD };
      const store = new Neo4jPropertyGraphStore(storeOptions);
      stores.push(store);

      // Workload: batches of entities plus a relation chain, one batch after the other (sequential
      // on purpose: "acknowledged" must mean that this batch's awaits resolved). The server is
      // SIGKILLed from outside once KILL_AFTER batches are acknowledged, while the next is under way.
      const KILL_AFTER = 4;
      const acked: string[] = [];
      let killAt = 0;
      let killed: Promise<void> | undefined;
      const batchIds = (b: number) => Array.from({ length: 25 }, (_, i) => `item_${b}_${i}`);
      const workload = async (): Promise<unknown> => {
        for (let b = 0; b < 100_000; b++) {
          const ids = batchIds(b);
          try {
            await store.upsertNodes(ids.map((name) => entityNode({ name, label: "ITEM", properties: { batch: b } })));
            await store.upsertRelations(
              ids.slice(1).map((id, i) => relation({ label: "NEXT", sourceId: ids[i] ?? "", targetId: id })),
            );
          } catch (e) {
            return e;
          }
          acked.push(...ids);
          if (b + 1 === KILL_AFTER) {
            // Not awaited: the loop goes straight on to the next batch, which the kill interrupts.
            setImmediate(() => {
              killAt = Date.now();
              killed = srv.kill();
            });
          }
        }
        return undefined;
      };
      const workloadError = await workload();
      const workloadFailMs = Date.now() - killAt;
      await killed;
      expect(killAt, "the kill should have happened").toBeGreaterThan(0);
      expect(acked.length).toBeGreaterThanOrEqual(KILL_AFTER * 25);
      expect(isStorageError(workloadError), `workload error: ${String(workloadError)}`).toBe(true);
      expect((workloadError as StorageError).code, (workloadError as StorageError).message).toBe("CONNECTION");
      expect((workloadError as StorageError).message).not.toContain(PASSWORD);
      expect(workloadFailMs).toBeLessThan(FAIL_FAST_MS);

      // While the server is down: reads and writes fail fast, on the same store and on a new one
      // (whose lazy id-constraint creation fails too and must be retried later, not cached).
      const downRead = await connectionError(() => store.get({ ids: acked.slice(0, 3) }));
      const downWrite = await connectionError(() => store.upsertNodes([entityNode({ name: "during_outage" })]));
      const fresh = new Neo4jPropertyGraphStore(storeOptions);
      stores.push(fresh);
      const freshDown = await connectionError(() => fresh.upsertNodes([entityNode({ name: "fresh_1" })]));
      for (const t of [downRead, downWrite, freshDown]) expect(t.ms).toBeLessThan(FAIL_FAST_MS);

      // Restart on the same port and data directory.
      srv.start();
      const restartMs = await srv.waitReady();

      // The very next operation on the same store instance succeeds and sees every acknowledged write.
      const t0 = Date.now();
      const back = await store.get({ ids: acked });
      const firstOpMs = Date.now() - t0;
      expect(back.map(nodeId).sort()).toEqual([...acked].sort());
      const chain = await store.getTriplets({ ids: [batchIds(0)[0] ?? ""] });
      expect(chain.length).toBeGreaterThan(0);

      // Writes work again on both stores.
      await store.upsertNodes([entityNode({ name: "after_restart", label: "ITEM" })]);
      await fresh.upsertNodes([entityNode({ name: "fresh_2", label: "ITEM" })]);
      expect((await fresh.get({ ids: ["after_restart", "fresh_2"] })).map(nodeId).sort()).toEqual(["after_restart", "fresh_2"]);

      console.info(
        `[restart.int] first start ${firstStartMs} ms; ${acked.length} nodes acknowledged before SIGKILL; ` +
          `in-flight workload failed ${workloadFailMs} ms after the kill; down: get ${downRead.ms} ms, ` +
          `upsert ${downWrite.ms} ms, new store ${freshDown.ms} ms; restart ready after ${restartMs} ms; ` +
          `first op after restart ${firstOpMs} ms`,
      );
    }, 420_000);
  },
);
