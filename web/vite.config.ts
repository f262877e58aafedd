import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const webRoot = fileURLToPath(new URL('.', import.meta.url));
const devApi = process.env['BULWARK_API'] ?? 'http://127.0.0.1:8080';

export default defineConfig({
  root: webRoot,
  base: '/',
  // The dashboard needs no React plugin: oxc compiles TSX with the automatic runtime.
  oxc: {
    jsx: { runtime: 'automatic', importSource: 'react' },
  },
  build: {
    outDir: fileURLToPath(new URL('./dist', import.meta.url)),
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
  },
  server: {
    // During `vite` dev, send API calls to a running `bulwark serve` (BULWARK_API overrides).
    proxy: {
      '/v1': devApi,
      '/healthz': devApi,
    },
  },
});
