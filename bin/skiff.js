#!/usr/bin/env node
// Entry point of the `skiff` command; the compiled CLI lives in dist/ (npm run build).
import('../dist/src/cli/main.js').then((m) => m.main(process.argv.slice(2))).catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/src/cli/main.js')) {
    console.error('skiff: not built yet; run `npm run build` first');
  } else {
    console.error(err);
  }
  process.exit(1);
});
