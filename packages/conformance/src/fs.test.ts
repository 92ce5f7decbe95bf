import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalFileSystem, MemoryFileSystem } from "@larder/core/fs";
import { describeFileSystem } from "./fs.js";

describeFileSystem({ name: "MemoryFileSystem", create: () => new MemoryFileSystem() });
describeFileSystem({
  name: "LocalFileSystem",
  create: () => new LocalFileSystem(join(mkdtempSync(join(tmpdir(), "larder-kit-")), "root")),
  dispose: (fs) => rmSync(join((fs as LocalFileSystem).root, ".."), { recursive: true, force: true }),
});
