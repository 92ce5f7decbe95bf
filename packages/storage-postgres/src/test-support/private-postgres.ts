import { execFile } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * A throw-away PostgreSQL cluster for fault tests (kill / restart), so the shared server from
 * tooling/services is never restarted under other running tests. Runs the installed server
 * binaries (LARDER_PG_BINDIR, else the Debian/Ubuntu path, else PATH); as root it runs them as the
 * `postgres` OS user (initdb refuses root).
 */
export class PrivatePostgres {
  readonly password = "s3cret-restart-pw";
  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly bindir: string,
  ) {}

  get url(): string {
    return `postgres://postgres:${this.password}@127.0.0.1:${this.port}/postgres`;
  }

  static binDir(): string | undefined {
    const candidates = [process.env["LARDER_PG_BINDIR"], "/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin"];
    for (const c of candidates) if (c && existsSync(join(c, "initdb")) && existsSync(join(c, "pg_ctl"))) return c;
    return undefined;
  }

  static async create(): Promise<PrivatePostgres> {
    const bindir = PrivatePostgres.binDir();
    if (!bindir) throw new Error("PostgreSQL server binaries (initdb, pg_ctl) not found; set LARDER_PG_BINDIR");
    const dir = mkdtempSync(join(tmpdir(), "larder-pg-"));
    const pg = new PrivatePostgres(dir, await freePort(), bindir);
    if (process.getuid?.() === 0) {
      chownSync(dir, ...(await ids("postgres")));
    }
    chmodSync(dir, 0o700);
    const pw = join(dir, "pw");
    writeFileSync(pw, pg.password);
    if (process.getuid?.() === 0) chownSync(pw, ...(await ids("postgres")));
    await pg.exec("initdb", ["-D", join(dir, "data"), "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256", `--pwfile=${pw}`, "-E", "UTF8", "--no-sync"]);
    await pg.start();
    return pg;
  }

  private async exec(tool: string, args: string[]): Promise<void> {
    const bin = join(this.bindir, tool);
    if (process.getuid?.() === 0) await run("runuser", ["-u", "postgres", "--", bin, ...args], { cwd: "/" });
    else await run(bin, args);
  }

  /** Starts and waits until it accepts connections (pg_ctl -w polls; no sleep). */
  async start(): Promise<void> {
    await this.exec("pg_ctl", [
      "-D", join(this.dir, "data"), "-w", "-t", "60", "-l", join(this.dir, "log"),
      "-o", `-p ${this.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${this.dir} -c fsync=off`,
      "start",
    ]);
  }

  /** Kills the server the hard way (like a crash): connections drop mid-statement. */
  async kill(): Promise<void> {
    await this.exec("pg_ctl", ["-D", join(this.dir, "data"), "-m", "immediate", "-w", "stop"]);
  }

  async destroy(): Promise<void> {
    await this.kill().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

async function ids(user: string): Promise<[number, number]> {
  const uid = Number((await run("id", ["-u", user])).stdout.trim());
  const gid = Number((await run("id", ["-g", user])).stdout.trim());
  return [uid, gid];
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}
