// The system helpers live in @leadrouter/testing/system; this file keeps the worker tests' imports short.
export * from '@leadrouter/testing/system';
