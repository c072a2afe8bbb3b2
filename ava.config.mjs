// Tests are compiled by tsc first (npm test), then ava runs the JavaScript in dist/.
export default {
  files: ['dist/test/**/*.test.js'],
  timeout: '120s',
  workerThreads: false,
  concurrency: 2,
};
