// Prints the ids of the suite's required proxy tests (kind absent or
// "required"), one per line: used to (re)generate baseline-required.txt.
// Usage: node required-kinds.mjs SUITE_DIR
const suite = process.argv[2]
const { default: index } = await import(`${suite}/tests/index.mjs`)
for (const file of index) {
  for (const t of file.tests) {
    if ((t.kind || 'required') === 'required' && !t.browser_only) console.log(t.id)
  }
}
