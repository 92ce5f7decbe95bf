// Fault behaviour against a PRIVATE redis-server this test starts on a free port (never the shared
// one): kill it mid-workload, check that operations fail fast with CONNECTION, restart it, check
// that the next operation succeeds and that every acknowledged write survived. The private server
// runs with appendonly + appendfsync always, so an acknowledged write is on disk before the reply.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isStorageError } from "@larder/core/errors";
import { Redis } from "ioredis";
import type { ChatMessage } from "@larder/core/chat";
import { NodeRelationship, TextNode } from "@larder/core/schema";
import { RedisChatStore } from "./redis-chat-store.js";
import { RedisDocumentStore } from "./redis-document-store.js";
import { RedisKVStore } from "./redis-kv-store.js";
import { servicesRequired } from "./testing/env.js";

const FAIL_FAST_MS = 2_000;

function which(cmd: string): boolean {
  return (process.env["PATH"] ?? "").split(":").some((d) => {
    try {
      return statSync(join(d, cmd)).isFile();
    } catch {
      return false;
    }
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

class PrivateRedis {
  proc: ChildProcess | undefined;
  constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  async start(): Promise<void> {
    this.proc = spawn(
      "redis-server",
      ["--bind", "127.0.0.1", "--port", String(this.port), "--dir", this.dir, "--save", "", "--appendonly", "yes", "--appendfsync", "always"],
      { stdio: "ignore" },
    );
    await this.waitFor(true);
  }

  /** SIGKILL: no shutdown save, no goodbye to clients. */
  async kill(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise<void>((r) => p.once("exit", () => r()));
    p.kill("SIGKILL");
    await exited;
  }

  /** Polls PING with a deadline until the server answers (up=true) or refuses (up=false). */
  async waitFor(up: boolean, deadlineMs = 10_000): Promise<void> {
    const until = Date.now() + deadlineMs;
    for (;;) {
      const probe = new Redis({ port: this.port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on("error", () => {});
      const answers = await probe.ping().then(
        () => true,
        () => false,
      );
      probe.disconnect();
      if (answers === up) return;
      if (Date.now() > until) throw new Error(`private redis on ${this.port} did not become ${up ? "ready" : "unreachable"} in time`);
      await new Promise((r) => setTimeout(r, 50)); // poll interval of the health check, not a wait for the server
    }
  }
}

const available = which("redis-server");

describe.skipIf(!available && !servicesRequired())(`fault behaviour against a private redis-server${available ? "" : " (skipped: redis-server is not installed)"}`, () => {
  let server: PrivateRedis;
  let dir: string;

  beforeAll(async () => {
    if (!available) throw new Error("redis-server is not on PATH; install it (tooling/services does)");
    dir = mkdtempSync(join(tmpdir(), "larder-redis-restart-"));
    server = new PrivateRedis(await freePort(), dir);
    await server.start();
  });

  afterAll(async () => {
    await server?.kill();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("fails fast with CONNECTION while Redis is down, recovers on the next call, keeps every acknowledged write", async () => {
    const kv = new RedisKVStore({ url: `redis://127.0.0.1:${server.port}`, prefix: "restart:" });
    const chat = new RedisChatStore({ url: `redis://127.0.0.1:${server.port}`, prefix: "restart-chat:", ttl: 3600 });
    try {
      const acked: string[] = [];
      const ackedMessages: ChatMessage[] = [];
      let unknownMessages: ChatMessage[] = [];
      const failures: unknown[] = [];
      let killed: Promise<void> | undefined;
      // A sequential workload on purpose: each batch's outcome (acknowledged or not) must be known
      // before the next, to check afterwards that exactly the acknowledged ones persisted.
      for (let b = 0; b < 40; b++) {
        const batch = Array.from({ length: 50 }, (_, i) => [`b${b}-${i}`, { b, i, pad: "x".repeat(200) }] as const);
        if (b === 30) killed = server.kill(); // dies while this batch is in flight
        if (b === 32) await killed; // from here on the server is certainly gone
        const t0 = performance.now();
        try {
          await kv.putAll(batch, "work");
          acked.push(...batch.map(([k]) => k));
        } catch (e) {
          failures.push(e);
          expect(performance.now() - t0, "a failing call must fail fast").toBeLessThan(FAIL_FAST_MS);
        }
        const messages: ChatMessage[] = [0, 1, 2].map((i) => ({ role: i === 0 ? "user" : "assistant", content: `turn ${b}.${i}` }));
        const t1 = performance.now();
        try {
          await chat.addMessages("conv", messages);
          ackedMessages.push(...messages);
        } catch (e) {
          failures.push(e);
          // The first failed append may have been applied just before the server died: its outcome is unknown.
          if (unknownMessages.length === 0) unknownMessages = messages;
          expect(performance.now() - t1, "a failing call must fail fast").toBeLessThan(FAIL_FAST_MS);
        }
      }
      await killed;
      expect(acked.length).toBeGreaterThanOrEqual(30 * 50);
      expect(failures.length).toBeGreaterThan(0);
      for (const f of failures) expect(isStorageError(f, "CONNECTION"), String(f)).toBe(true);

      // While down: every kind of call fails fast with CONNECTION (a docstore write on taking its lock).
      const docs = new RedisDocumentStore(kv);
      const chunk = (id: string) => new TextNode({ id, text: id, relationships: { [NodeRelationship.SOURCE]: { nodeId: "doc" } } });
      const down = [
        () => docs.addDocuments([chunk("lost")]),
        () => kv.get("b0-0", "work"),
        () => kv.put("k", { a: 1 }, "work"),
        () => kv.getMany(["b0-0"], "work"),
        () => kv.collections(),
        () => chat.getMessages("conv"),
        () => chat.addMessage("conv", { role: "user", content: "lost" }),
        () => chat.getKeys(),
      ];
      for (const op of down) {
        const t0 = performance.now();
        const err = await op().then(
          () => undefined,
          (e: unknown) => e,
        );
        const elapsed = performance.now() - t0;
        expect(isStorageError(err, "CONNECTION"), String(err)).toBe(true);
        expect(elapsed).toBeLessThan(FAIL_FAST_MS);
      }

      await server.start();
      // The very next call succeeds (the client reconnects in the background, at most 200 ms apart).
      const all = await kv.getAll("work");
      for (const k of acked) expect(all[k], `acknowledged ${k} must survive the restart`).toBeDefined();
      expect(all["b0-0"]).toEqual({ b: 0, i: 0, pad: "x".repeat(200) });
      await kv.put("after", { ok: true }, "work");
      expect(await kv.get("after", "work")).toEqual({ ok: true });
      await docs.addDocuments([chunk("after")]);
      expect((await docs.getRefDocInfo("doc"))?.nodeIds).toEqual(["after"]);

      // Every acknowledged message survived, in order; after them at most the one append whose outcome was unknown.
      const history = await chat.getMessages("conv");
      expect(history.slice(0, ackedMessages.length)).toEqual(ackedMessages);
      const extra = history.slice(ackedMessages.length);
      expect([[], unknownMessages]).toContainEqual(extra);
      await chat.addMessage("conv", { role: "user", content: "after restart" });
      expect((await chat.getMessages("conv", { limit: 1 }))[0]?.content).toBe("after restart");
    } finally {
      await kv.close();
      await chat.close();
    }
  }, 60_000);
});
