// Entry point: `pnpm bench [suite...]` runs the named suites (all when none) and prints a report.
// Each suite lives in its own module and registers here.
const suites: Record<string, () => Promise<void>> = {};

const wanted = process.argv.slice(2);
for (const [name, run] of Object.entries(suites)) {
  if (wanted.length && !wanted.includes(name)) continue;
  console.log(`\n## ${name}`);
  await run();
}
