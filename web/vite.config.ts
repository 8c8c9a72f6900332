import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

// One multi-page build: the lottery page (index.html) and the operator console
// (admin/index.html). Output goes to dist/, embedded by embed.go.
export default defineConfig({
  plugins: [react()],
  base: '/',
  // `npm run dev` serves the pages with hot reload against a local
  // `bigmarket serve` for the API.
  server: { proxy: { '/api': 'http://127.0.0.1:8091' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    assetsInlineLimit: 8192,
    sourcemap: false,
    // The console loads Ant Design, CodeMirror and ECharts in its own chunks;
    // the lottery page's budget is checked by scripts/size.mjs.
    chunkSizeWarningLimit: 1200,
    rollupOptions: {
      input: { index: 'index.html', admin: 'admin/index.html' },
    },
  },
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx'],
  },
});
