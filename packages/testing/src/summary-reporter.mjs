// Prints one plain closing line, "jest: N passed, N failed[, N skipped]", after jest's own summary,
// so that CI logs can be read by tools that know that line but not jest's format.
export default class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const line = `jest: ${results.numPassedTests} passed, ${results.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}`;
    process.stdout.write(`${line}\n`);
  }
}
