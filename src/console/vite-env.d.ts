/// <reference types="vite/client" />

/** Operation name → persisted document id, defined by scripts/build-console.mjs from persisted-operations.json. */
declare const __HOOKGATE_OPERATION_IDS__: Readonly<Record<string, string>>;
