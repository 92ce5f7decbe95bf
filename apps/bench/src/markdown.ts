// Markdown output shared by the suites: every suite ends with a table that can be pasted into
// BENCHMARKS.md as it is, preceded by the machine line it was measured on.
import { cpus, loadavg, totalmem } from "node:os";

/** Escapes what would break a table cell (pipes, line breaks). */
function cell(v: string): string {
  return v.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

/** Prints a Markdown table: a header row, the separator, one line per row. */
export function printTable(header: readonly string[], rows: readonly (readonly string[])[]): void {
  console.log(`| ${header.map(cell).join(" | ")} |`);
  console.log(`|${header.map(() => "---").join("|")}|`);
  for (const r of rows) console.log(`| ${r.map(cell).join(" | ")} |`);
}

/** One line naming the machine, the Node version, the UTC time and the load average, for the table's caption. */
export function machineLine(): string {
  const cpu = cpus()[0]?.model.trim() ?? "unknown CPU";
  const load = loadavg().map((x) => x.toFixed(1)).join(" ");
  return `Machine: ${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC, load average ${load}`;
}
