import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { errors, MAX_TOP_K } from "@larder/core";
import { ingest, inspect, migrate, query, verify } from "./commands.js";
import { demo } from "./demo.js";
import { explainError } from "./explain.js";
import { clearProgressLine, errorJson, EXIT, exitCodeOf, formatError } from "./output.js";

/**
 * A parser for a whole-number option: decimal digits only (no "", "1e3", "0x10", "1.0", "-1"),
 * within [min, max]. Anything else is a usage error naming the option and the accepted range.
 */
function int(name: string, min = 0, max = Number.MAX_SAFE_INTEGER) {
  return (v: string) => {
    const range = max === Number.MAX_SAFE_INTEGER ? (min === 0 ? "a non-negative integer" : `an integer >= ${min}`) : `an integer from ${min} to ${max}`;
    if (!/^[0-9]+$/.test(v.trim())) throw new InvalidArgumentError(`${name} must be ${range}, got ${JSON.stringify(v)}`);
    const n = Number(v.trim());
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be ${range}, got ${v.trim()}`);
    return n;
  };
}

/** Whether `--json` was given (also when commander stopped before reading the options). */
function wantsJson(program: Command, argv: readonly string[]): boolean {
  return program.opts<{ json?: boolean }>().json === true || argv.includes("--json");
}

/** Builds the program; `out` receives result lines (stdout), errors go to `err` (stderr). */
export function buildProgram(io: { out: (s: string) => void; err: (s: string) => void }, argv: readonly string[] = []): Command {
  const program = new Command("larder")
    .description("Larder: ingest documents into RAG stores, query, inspect, verify and migrate them")
    .version("0.1.0")
    .option("--json", "machine-readable JSON on stdout (no progress, no prose)")
    .option("--debug", "print stack traces on errors")
    .option("-q, --quiet", "no progress bars")
    .showHelpAfterError(argv.includes("--json") ? false : "(run larder --help for usage)")
    .configureOutput({
      writeOut: (s) => io.out(s.replace(/\n$/, "")),
      writeErr: (s) => io.err(s.replace(/\n$/, "")),
      // With --json, a usage error is reported as a JSON document by run(), not as prose.
      outputError: (s, write) => {
        if (!wantsJson(program, argv)) write(s);
      },
    })
    .exitOverride();

  const globals = () => program.opts<{ json?: boolean; debug?: boolean; quiet?: boolean }>();
  const emit = (value: unknown) => {
    if (globals().json) io.out(JSON.stringify(value, null, 2));
  };
  const embedOptions = (c: Command) =>
    c
      .option("--embed-url <url>", "OpenAI-compatible embeddings API (…/v1), e.g. http://localhost:11434/v1 for Ollama")
      .option("--embed-model <name>", "embedding model (default: the offline larder-hash-v1-384)")
      .option("--embed-key-env <var>", "environment variable holding the API key", "OPENAI_API_KEY")
      .option("--dimensions <n>", "embedding dimensions (checked against every answer)", int("--dimensions", 1))
      .option("--index-id <id>", "which index, when the store holds several");

  program
    .command("demo")
    .description("ingest Larder's own Markdown (shipped with the CLI) with the offline embedder, persist, reload, query")
    .option("--dir <dir>", "where to persist (default: ./.larder-demo; in the Larder repository, .larder-demo at its root)")
    .action(async (opts: { dir?: string }) => emit(await demo({ ...globals(), ...opts }, io.out)));

  embedOptions(
    program
      .command("ingest")
      .description("split, embed and store text, Markdown and JSON-lines files (directories recursively)")
      .argument("<paths...>", "files or directories")
      .requiredOption("--to <url>", "store URL: a directory, memory://, s3://bucket/prefix, redis://, postgres://, or kind=url,... pairs")
      .option("--chunk-size <n>", "chunk size (default 256 tokens, 1024 chars)", int("--chunk-size", 1))
      .option("--chunk-overlap <n>", "overlap between chunks (default 20 tokens, 80 chars)", int("--chunk-overlap"))
      .addOption(new Option("--chunk-unit <unit>", "unit of chunk sizes").choices(["tokens", "chars"]))
      .addOption(new Option("--format <format>", "persist format of local/S3 stores").choices(["larder", "llamaindex"])),
  ).action(async (paths: string[], opts) => emit(await ingest(paths, { ...globals(), ...opts }, io.out)));

  embedOptions(
    program
      .command("query")
      .description("retrieve the chunks most similar to a question")
      .argument("<text>", "the question")
      .requiredOption("--from <url>", "store URL (as for ingest)")
      .option("-k, --top-k <n>", `number of results, 1 to ${MAX_TOP_K}`, int("--top-k", 1, MAX_TOP_K), 5)
      .option("--filter <expr>", `metadata filter, e.g. 'year >= 2010 and author in ["a", "b"]'`),
  ).action(async (text: string, opts) => emit(await query(text, { ...globals(), ...opts }, io.out)));

  program
    .command("inspect")
    .description("what a store holds: counts, dimensions, files, sizes, format and version")
    .argument("<url>", "store URL")
    .action(async (url: string) => emit(await inspect(url, globals(), io.out)));

  program
    .command("verify")
    .description("check every file of a Larder-format directory against the manifest's sizes and SHA-256; of a LlamaIndex folder, parse and check every value")
    .argument("<dir>", "a directory or s3://bucket/prefix")
    .action(async (dir: string) => {
      const r = await verify(dir, globals(), io.out);
      emit(r);
      if (!r.ok) process.exitCode = EXIT.CORRUPT;
    });

  program
    .command("migrate")
    .description("copy every store kind (documents, indexes, vectors, graph, chats) from one store URL to another, in batches")
    .argument("<from>", "source store URL")
    .argument("<to>", "target store URL")
    .option("--batch-size <n>", "items per write", int("--batch-size", 1), 500)
    .addOption(new Option("--format <format>", "persist format of a local/S3 target").choices(["larder", "llamaindex"]))
    .action(async (from: string, to: string, opts) => emit(await migrate(from, to, { ...globals(), ...opts }, io.out)));

  return program;
}

/** Runs the CLI; resolves the exit code. */
export async function run(argv: string[], io?: { out: (s: string) => void; err: (s: string) => void }): Promise<number> {
  // The AWS SDK prints an 8-line Node-version notice on every run: not the user's concern here.
  process.env["AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED"] ??= "true";
  if (!io) {
    // The real process streams (the installed bin and `node main.js` both come here).
    endQuietlyOnClosedPipe();
    io = { out: (s: string) => console.log(s), err: (s: string) => console.error(s) };
  }
  const program = buildProgram(io, argv);
  try {
    await program.parseAsync(argv, { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : EXIT.OK;
  } catch (thrown) {
    clearProgressLine();
    const err = explainError(thrown);
    if (err instanceof CommanderError) {
      // Help and version exit 0; commander already printed usage errors (except with --json).
      if (err.exitCode === 0) return EXIT.OK;
      if (wantsJson(program, argv)) io.out(JSON.stringify(errorJson(err), null, 2));
      return EXIT.USAGE;
    }
    if (wantsJson(program, argv)) {
      io.out(JSON.stringify(errorJson(err), null, 2));
      if (program.opts<{ debug?: boolean }>().debug ?? argv.includes("--debug")) io.err(formatError(err, true));
      return exitCodeOf(err);
    }
    const debug = program.opts<{ debug?: boolean }>().debug ?? argv.includes("--debug");
    io.err(formatError(err, debug));
    return exitCodeOf(err);
  }
}

/**
 * `larder inspect … | head -3`: when the reader closes stdout, writing to it fails with EPIPE. That
 * is not an error of the command: it ends at once, quietly, with exit code 0 (as `cat` and `ls` do).
 * A closed stderr is ignored (nothing more can be reported there).
 */
let pipeHandlers = false;
export function endQuietlyOnClosedPipe(stdout: NodeJS.WriteStream = process.stdout, stderr: NodeJS.WriteStream = process.stderr): void {
  if (pipeHandlers) return;
  pipeHandlers = true;
  stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE" || err.code === "ERR_STREAM_DESTROYED") process.exit(EXIT.OK);
    throw err;
  });
  stderr.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code !== "EPIPE" && err.code !== "ERR_STREAM_DESTROYED") throw err;
  });
}

const isMain = process.argv[1] !== undefined && /[\\/]main\.(ts|js)$/.test(process.argv[1]);
if (isMain) {
  run(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(formatError(errors.invalid(String(err)), true));
      process.exitCode = EXIT.INTERNAL;
    },
  );
}
